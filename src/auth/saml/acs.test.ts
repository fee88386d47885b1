// The SAML Assertion Consumer Service against the attack list of SECURITY-TESTS.md: every
// response is built and signed inside the test (xml-crypto, RSA-SHA256, exc-c14n) by an IdP
// key generated here, posted cross-site to the real app, and each hostile variant must end in a
// clear error page with a specific reason, an audit entry, a response-log row, and no session.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { auditRows, createTestApp, lastAudit, type Signed, type TestApp } from "../../../tests/helpers/test-app.ts";
import { configureSso, postAcs, sessionsOf, spOf, startSpLogin, type AcsOutcome } from "../../../tests/support/saml-app.ts";
import { ALG, assertionXml, b64, createTestIdp, newSamlId, responseXml, signElement, signedResponse, type TestIdp } from "../../../tests/support/saml-fixtures.ts";

let t: TestApp;
let ownerA: Signed;
let ownerB: Signed;
let idpA: TestIdp;
let idpB: TestIdp;
let A: ReturnType<typeof spOf>;

function refusedRows(accountId: string): number {
  return (t.db.$client.query("SELECT count(*) AS n FROM saml_responses WHERE account_id = ? AND verdict = 'rejected'").get(accountId) as { n: number }).n;
}

/** expectRefused checks the whole refusal contract: page + reason, no session, audit entry, log row. */
async function expectRefused(run: () => Promise<AcsOutcome>, code: string, accountId = ownerA.accountId): Promise<AcsOutcome> {
  const sessions = sessionsOf(t, accountId);
  const logged = refusedRows(accountId);
  const out = await run();
  expect(out.reason).toBe(code);
  expect([400, 403]).toContain(out.status);
  expect(out.html).toContain("Single sign-on failed");
  expect(out.html).not.toMatch(/\bat \S+ \(|\.ts:\d+|Error:/); // no stack trace, no raw exception
  expect(out.sessionCookie).toBeNull();
  expect(sessionsOf(t, accountId)).toBe(sessions);
  const audit = auditRows(t, "account_id = ? AND action = 'signin.failure'", accountId).pop();
  expect(audit?.details ?? {}).toMatchObject({ method: "saml", reason: code });
  expect(refusedRows(accountId)).toBe(logged + 1);
  return out;
}

const valid = (o: Partial<Parameters<typeof signedResponse>[1]> = {}) => signedResponse(idpA, { ...A, nameId: "someone@a.example", ...o });

beforeAll(async () => {
  t = await createTestApp();
  ownerA = await t.setup({ organisation: "Org A", email: "owner@a.example" });
  ownerB = await t.createAccount({ organisation: "Org B", email: "owner@b.example" });
  idpA = createTestIdp("https://idp.a.example/saml");
  idpB = createTestIdp("https://idp.b.example/saml");
  A = spOf(ownerA.accountId);
  await configureSso(ownerA, idpA);
  await configureSso(ownerB, idpB);
});
afterAll(() => t.cleanup());

describe("POST /saml/:account/acs — accepted responses", () => {
  test("an IdP-initiated response (no InResponseTo) signs the user in and returns to a local RelayState path", async () => {
    const out = await postAcs(t, ownerA.accountId, valid({ nameId: "ida@a.example" }), "/admin/users");
    expect(out.status).toBe(303);
    expect(out.location).toBe("/admin/users");
    expect(out.sessionCookie).not.toBeNull();
    const u = (await t.auth.users.findByEmail("ida@a.example"))!;
    expect(u.accountId).toBe(ownerA.accountId);
    expect(lastAudit(t, "signin.success").details).toMatchObject({ method: "saml", idp: idpA.entityId });
    const page = await t.app.request("https://conclave.test/admin", { headers: { cookie: `__Host-conclave_session=${out.sessionCookie}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("ida@a.example");
  });

  test("an SP-initiated response answers the signed AuthnRequest (InResponseTo), and only once", async () => {
    const login = await startSpLogin(t, ownerA.accountId, "/admin/settings");
    expect(login.url.origin + login.url.pathname).toBe("https://idp.example/sso");
    expect(login.url.searchParams.get("RelayState")).toBe("/admin/settings");
    expect(login.url.searchParams.get("SigAlg")).toBe(ALG.rsaSha256);
    expect(login.requestXml).toContain(`AssertionConsumerServiceURL="${A.acsUrl}"`);
    const r = valid({ nameId: "sp@a.example", inResponseTo: login.requestId });
    const out = await postAcs(t, ownerA.accountId, r, "/admin/settings");
    expect(out.status).toBe(303);
    expect(out.location).toBe("/admin/settings");
    // The same request id cannot be answered again (even by a fresh assertion).
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ nameId: "sp@a.example", inResponseTo: login.requestId })), "in_response_to");
  });

  test("a response signed as a whole (and its assertion) is accepted", async () => {
    const { xml } = valid({ nameId: "both@a.example" });
    const both = signElement(xml, "Response", { keyPem: idpA.keyPem, certPem: idpA.certPem });
    const out = await postAcs(t, ownerA.accountId, { xml: both });
    expect(out.status).toBe(303);
  });

  test("a RelayState that leaves the site falls back to /admin", async () => {
    const out = await postAcs(t, ownerA.accountId, valid({ nameId: "ida@a.example" }), "https://evil.example/phish");
    expect(out.location).toBe("/admin");
    const out2 = await postAcs(t, ownerA.accountId, valid({ nameId: "ida@a.example" }), "//evil.example/");
    expect(out2.location).toBe("/admin");
  });

  test("every response is logged with the decoded XML sealed by the personal-data codec", () => {
    const rows = t.db.$client.query("SELECT xml_sealed, verdict FROM saml_responses WHERE account_id = ?").all(ownerA.accountId) as { xml_sealed: string; verdict: string }[];
    expect(rows.some((r) => r.verdict === "accepted")).toBe(true);
    for (const r of rows) expect(r.xml_sealed.startsWith("c1:")).toBe(true);
  });
});

describe("POST /saml/:account/acs — refused responses", () => {
  test("unsigned assertion", async () => {
    const assertionId = newSamlId();
    const xml = responseXml({ ...A, issuer: idpA.entityId, nameId: "x@a.example" }, assertionXml({ ...A, issuer: idpA.entityId, nameId: "x@a.example", assertionId }));
    await expectRefused(() => postAcs(t, ownerA.accountId, { xml }), "signature");
  });

  test("assertion tampered with after signing (NameID changed)", async () => {
    const { xml } = valid({ nameId: "nobody@a.example" });
    await expectRefused(() => postAcs(t, ownerA.accountId, { xml: xml.replace("nobody@a.example", "owner@a.example") }), "signature");
  });

  test("signature wrapping: a second, unsigned assertion beside the signed one", async () => {
    const { xml } = valid({ nameId: "nobody@a.example" });
    const evil = assertionXml({ ...A, issuer: idpA.entityId, nameId: "owner@a.example", assertionId: newSamlId() });
    await expectRefused(() => postAcs(t, ownerA.accountId, { xml: xml.replace("</samlp:Response>", `${evil}</samlp:Response>`) }), "wrapping");
  });

  test("signature wrapping: the signed assertion moved into Extensions, an unsigned one in its place", async () => {
    const { xml } = valid({ nameId: "nobody@a.example" });
    const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
    const evil = assertionXml({ ...A, issuer: idpA.entityId, nameId: "owner@a.example", assertionId: newSamlId() });
    const moved = xml.replace(signed, `<samlp:Extensions>${signed}</samlp:Extensions>${evil}`);
    await expectRefused(() => postAcs(t, ownerA.accountId, { xml: moved }), "signature");
  });

  test("signature wrapping: an unsigned assertion reusing the signed assertion's ID", async () => {
    const { xml, assertionId } = valid({ nameId: "nobody@a.example" });
    const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
    const sig = /<(ds:)?Signature[\s\S]*<\/(ds:)?Signature>/.exec(signed)![0];
    const evil = assertionXml({ ...A, issuer: idpA.entityId, nameId: "owner@a.example", assertionId }).replace("</saml:Issuer>", `</saml:Issuer>${sig}`);
    const moved = xml.replace(signed, `<samlp:Extensions>${signed}</samlp:Extensions>${evil}`);
    const out = await postAcs(t, ownerA.accountId, { xml: moved });
    expect(out.reason).toBe("wrapping"); // two elements carry the signed ID
    expect(out.sessionCookie).toBeNull();
  });

  test("a response-level signature that does not verify is refused even though the assertion's does", async () => {
    const { xml } = valid({ nameId: "badouter@a.example" });
    const attacker = createTestIdp(idpA.entityId);
    const outer = signElement(xml, "Response", { keyPem: attacker.keyPem, certPem: attacker.certPem });
    await expectRefused(() => postAcs(t, ownerA.accountId, { xml: outer }), "signature");
  });

  test("wrong audience", async () => {
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ audience: "https://other-sp.example/metadata" })), "audience");
  });

  test("wrong recipient in the bearer confirmation", async () => {
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ recipient: "https://other-sp.example/acs" })), "recipient");
  });

  test("wrong Destination on the Response", async () => {
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ destination: "https://other-sp.example/acs" })), "destination");
  });

  test("expired (NotOnOrAfter in the past, beyond the clock skew)", async () => {
    const now = Date.now();
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ now: now - 20 * 60_000, notBefore: now - 21 * 60_000, notOnOrAfter: now - 10 * 60_000 })), "expired");
  });

  test("not yet valid (NotBefore in the future, beyond the clock skew)", async () => {
    const now = Date.now();
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ notBefore: now + 10 * 60_000, notOnOrAfter: now + 20 * 60_000 })), "not_yet_valid");
  });

  test("replay: the same IdP-initiated response twice — the second is refused", async () => {
    const r = valid({ nameId: "replay@a.example" });
    expect((await postAcs(t, ownerA.accountId, r)).status).toBe(303);
    await expectRefused(() => postAcs(t, ownerA.accountId, r), "replay");
  });

  test("SHA-1 signature and digest", async () => {
    const r = signedResponse(idpA, { ...A, nameId: "sha1@a.example" }, { signatureAlgorithm: ALG.rsaSha1, digestAlgorithm: ALG.sha1 });
    await expectRefused(() => postAcs(t, ownerA.accountId, r), "weak_algorithm");
  });

  test("RSA-SHA256 signature over a SHA-1 digest", async () => {
    const r = signedResponse(idpA, { ...A, nameId: "sha1d@a.example" }, { digestAlgorithm: ALG.sha1 });
    await expectRefused(() => postAcs(t, ownerA.accountId, r), "weak_algorithm");
  });

  test("HMAC-SHA1 signature (key confusion)", async () => {
    const r = signedResponse(idpA, { ...A, nameId: "hmac@a.example" }, { signatureAlgorithm: ALG.hmacSha1, hmacKey: idpA.certPem });
    await expectRefused(() => postAcs(t, ownerA.accountId, r), "weak_algorithm");
  });

  test("attacker KeyInfo: signed by another key that embeds its own certificate", async () => {
    const attacker = createTestIdp(idpA.entityId);
    const r = signedResponse(attacker, { ...A, nameId: "owner@a.example" });
    expect(r.xml).toContain("X509Certificate");
    await expectRefused(() => postAcs(t, ownerA.accountId, r), "signature");
  });

  test("XXE: a DOCTYPE with an external entity is refused before parsing", async () => {
    const { xml } = valid({ nameId: "xxe@a.example" });
    const hostile = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${xml.replace("xxe@a.example", "&xxe;")}`;
    await expectRefused(() => postAcs(t, ownerA.accountId, { xml: hostile }), "doctype");
  });

  test("a SAMLResponse field over 256 KB is refused as too large", async () => {
    await expectRefused(() => postAcs(t, ownerA.accountId, { raw: "A".repeat(300 * 1024) }), "too_large");
  });

  test("a request body over the limit is refused without being read", async () => {
    await expectRefused(() => postAcs(t, ownerA.accountId, { raw: "A".repeat(2 * 1024 * 1024) }), "too_large");
  });

  test("not base64 / not XML", async () => {
    await expectRefused(() => postAcs(t, ownerA.accountId, { raw: "%%%not-base64%%%" }), "malformed");
    await expectRefused(() => postAcs(t, ownerA.accountId, { raw: b64("<a><b></a>") }), "malformed");
    await expectRefused(() => postAcs(t, ownerA.accountId, { raw: b64("<html><body>login page</body></html>") }), "not_response");
  });

  test("a response issued by another account's IdP is refused (tenant bound to the IdP entity id)", async () => {
    const r = signedResponse(idpB, { ...A, nameId: "x@a.example" });
    await expectRefused(() => postAcs(t, ownerA.accountId, r), "issuer");
  });

  test("an assertion whose Issuer differs from the configured IdP, signed with the configured key", async () => {
    const r = valid({ assertionIssuer: idpB.entityId, nameId: "x@a.example" });
    await expectRefused(() => postAcs(t, ownerA.accountId, r), "issuer");
  });

  test("an IdP error status is shown as such", async () => {
    const xml = responseXml({ ...A, issuer: idpA.entityId, nameId: "", statusCode: "urn:oasis:names:tc:SAML:2.0:status:Responder" }, "");
    await expectRefused(() => postAcs(t, ownerA.accountId, { xml }), "idp_error");
  });
});

describe("identity checks after a valid assertion", () => {
  test("comments inside NameID do not truncate the identity (user@a.example<!---->.evil.com)", async () => {
    const victim = (await t.auth.users.findByEmail("owner@a.example"))!;
    const { xml } = valid({ nameId: "owner@a.example.evil.com" });
    const hostile = xml.replace("owner@a.example.evil.com", "owner@a.example<!---->.evil.com");
    const before = sessionsOf(t, ownerA.accountId);
    const out = await postAcs(t, ownerA.accountId, { xml: hostile });
    // Either refused or signed in as the full address — never as the Owner.
    const victimSessions = (t.db.$client.query("SELECT count(*) AS n FROM sessions WHERE user_id = ?").get(victim.id) as { n: number }).n;
    expect(victimSessions).toBe(1); // only the Owner's own browser from setup
    if (out.sessionCookie) {
      const created = (await t.auth.users.findByEmail("owner@a.example.evil.com"))!;
      expect(created.id).not.toBe(victim.id);
      expect(sessionsOf(t, ownerA.accountId)).toBe(before + 1);
      expect(lastAudit(t, "signin.success").targetId).toBe(created.id);
    } else {
      expect(sessionsOf(t, ownerA.accountId)).toBe(before);
    }
  });

  test("an IdP of account A asserting the e-mail of account B's user is refused and audited in both accounts", async () => {
    const sessionsB = sessionsOf(t, ownerB.accountId);
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ nameId: "owner@b.example" })), "other_account");
    expect(sessionsOf(t, ownerB.accountId)).toBe(sessionsB);
    const inB = auditRows(t, "account_id = ? AND action = 'signin.failure'", ownerB.accountId).pop()!;
    expect(inB.details).toMatchObject({ method: "saml", reason: "other_account", assertedByAccount: ownerA.accountId });
    expect((await t.auth.users.findByEmail("owner@b.example"))!.accountId).toBe(ownerB.accountId);
  });

  test("an unknown account id is 404, audited without an account", async () => {
    const out = await postAcs(t, "no-such-account", valid());
    expect(out.status).toBe(404);
    expect(out.sessionCookie).toBeNull();
    const a = lastAudit(t, "signin.failure");
    expect(a.accountId).toBeNull();
    expect(a.details).toMatchObject({ method: "saml", reason: "unknown_account" });
  });

  test("domain not allowed by sso.allowed_domains", async () => {
    const s = await ownerA.browser.postForm("/admin/settings", { key: "sso.allowed_domains", mode: "set", value: "a.example" });
    expect(s.status).toBe(303);
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ nameId: "stranger@elsewhere.example" })), "domain");
    expect(await t.auth.users.findByEmail("stranger@elsewhere.example")).toBeUndefined();
    expect((await postAcs(t, ownerA.accountId, valid({ nameId: "insider@a.example" }))).status).toBe(303);
    await ownerA.browser.postForm("/admin/settings", { key: "sso.allowed_domains", mode: "inherit", value: "" });
  });

  test("a deactivated user is refused", async () => {
    expect((await postAcs(t, ownerA.accountId, valid({ nameId: "leaver@a.example" }))).status).toBe(303);
    const u = (await t.auth.users.findByEmail("leaver@a.example"))!;
    expect((await ownerA.browser.postForm(`/admin/users/${u.id}/deactivate`, {})).status).toBe(303);
    const out = await expectRefused(() => postAcs(t, ownerA.accountId, valid({ nameId: "leaver@a.example" })), "deactivated");
    expect(out.status).toBe(403);
    expect(lastAudit(t, "signin.failure").targetId).toBe(u.id);
    expect(lastAudit(t, "signin.failure").accountId).toBe(ownerA.accountId);
  });

  test("SSO switched off: refused with a clear reason", async () => {
    expect((await ownerA.browser.postForm("/admin/sso/disable", {})).status).toBe(303);
    await expectRefused(() => postAcs(t, ownerA.accountId, valid({ nameId: "ida@a.example" })), "disabled");
    const login = await t.app.request(`https://conclave.test/saml/${ownerA.accountId}/login`);
    expect(login.status).toBe(403);
    expect((await ownerA.browser.postForm("/admin/sso/enable", {})).status).toBe(303);
  });
});
