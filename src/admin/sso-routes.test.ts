// /admin/sso: configuration by metadata (paste or upload) or by hand, validation that stores
// nothing on error, audited changes (certificate fingerprints, never whole certificates),
// permissions, and the 7-day SAML response log.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { purgeSamlData } from "../auth/saml/response-log.ts";
import { BASE_URL, createTestApp, lastAudit, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import { postAcs, spOf } from "../../tests/support/saml-app.ts";
import { createTestIdp, idpMetadataXml, signedResponse, type TestIdp } from "../../tests/support/saml-fixtures.ts";
import { X509Certificate } from "node:crypto";
import { generateSelfSignedCert } from "../crypto/tls-cert.ts";

let t: TestApp;
let owner: Signed;
let other: Signed;
let idp: TestIdp;

const idpRow = (accountId: string) => t.db.$client.query("SELECT * FROM saml_idps WHERE account_id = ?").get(accountId);
const audits = (action: string) => (t.db.$client.query("SELECT count(*) AS n FROM audit_log WHERE action = ?").get(action) as { n: number }).n;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup({ organisation: "Org P", email: "owner@p.example" });
  other = await t.createAccount({ organisation: "Org Q", email: "owner@q.example" });
  idp = createTestIdp("https://idp.p.example/metadata");
});
afterAll(() => t.cleanup());

describe("GET /admin/sso", () => {
  test("shows the SP details to copy into the IdP", async () => {
    const res = await owner.browser.get("/admin/sso");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`${BASE_URL}/saml/${owner.accountId}/metadata`);
    expect(html).toContain(`${BASE_URL}/saml/${owner.accountId}/acs`);
    expect(html).toContain("Not configured");
    expect(html).toContain('href="/admin/sso/log"');
  });

  test("members may not see it; signed-out visitors are sent to sign in", async () => {
    const member = await t.inviteAndActivate(owner, { email: "member@p.example", name: "Mo Member" });
    expect((await member.browser.get("/admin/sso")).status).toBe(403);
    expect((await member.browser.postForm("/admin/sso/enable", {})).status).toBe(403);
    expect((await member.browser.get("/admin/sso/log")).status).toBe(403);
    expect((await t.request("/admin/sso")).status).toBe(303);
  });
});

describe("POST /admin/sso", () => {
  test("refuses bad input with field messages and stores nothing", async () => {
    const before = audits("sso.configure");
    const cases: [Record<string, string>, string][] = [
      [{ entityId: "", ssoUrl: "", certificates: "" }, "Required"],
      [{ entityId: idp.entityId, ssoUrl: "http://idp.example/sso", certificates: idp.certPem }, "must use https://"],
      [{ entityId: idp.entityId, ssoUrl: "https://idp.example/sso", certificates: "-----BEGIN CERTIFICATE-----\nnotbase64\n-----END CERTIFICATE-----" }, "not a valid X.509 certificate"],
      [{ metadata: `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>` }, "DOCTYPE"],
      [{ metadata: "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"sp\"><md:SPSSODescriptor/></md:EntityDescriptor>" }, "No identity provider"],
      [{ metadata: "not xml at all <" }, "not well-formed XML"],
      [{ entityId: idp.entityId, ssoUrl: "https://idp.example/sso", certificates: idp.certPem, groupsAttribute: "groups", groupMap: "eng = No Such Group" }, "No group is named"],
      [{ entityId: idp.entityId, ssoUrl: "https://idp.example/sso", certificates: idp.certPem, groupMap: "just text" }, "attribute value = name"],
    ];
    for (const [fields, message] of cases) {
      const res = await owner.browser.postForm("/admin/sso", fields);
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain(message);
      expect(html).toContain("Nothing was saved");
    }
    const ec = generateSelfSignedCert({ commonName: "ec", dnsNames: ["idp.example"], ipAddresses: [], days: 1 });
    const ecRes = await owner.browser.postForm("/admin/sso", { entityId: idp.entityId, ssoUrl: "https://idp.example/sso", certificates: ec.certPem });
    expect(ecRes.status).toBe(400);
    expect(await ecRes.text()).toContain("SAML signatures are verified with RSA keys only");
    expect(idpRow(owner.accountId)).toBeNull();
    expect(audits("sso.configure")).toBe(before);
  });

  test("imports pasted IdP metadata; the audit entry holds fingerprints, not certificates", async () => {
    const res = await owner.browser.postForm("/admin/sso", { metadata: idpMetadataXml(idp, "https://idp.p.example/sso") });
    expect(res.status).toBe(303);
    const row = idpRow(owner.accountId) as { entity_id: string; sso_url: string; enabled: number };
    expect(row).toMatchObject({ entity_id: idp.entityId, sso_url: "https://idp.p.example/sso", enabled: 0 });
    const a = lastAudit(t, "sso.configure");
    expect(a.accountId).toBe(owner.accountId);
    expect(a.details.before).toBeNull();
    expect(a.details.after).toMatchObject({ entityId: idp.entityId, certificates: [new X509Certificate(idp.certPem).fingerprint256] });
    expect(JSON.stringify(a.details)).not.toContain("BEGIN CERTIFICATE");
    const page = await (await owner.browser.get("/admin/sso")).text();
    expect(page).toContain("Disabled");
    expect(page).toContain(new X509Certificate(idp.certPem).fingerprint256);
  });

  test("accepts an uploaded metadata file (multipart)", async () => {
    const rotated = createTestIdp(idp.entityId);
    const form = new FormData();
    form.set("_csrf", await owner.browser.csrf());
    form.set("metadataFile", new File([idpMetadataXml(rotated, "https://idp.p.example/sso2")], "idp.xml", { type: "application/xml" }));
    const res = await owner.browser.request("/admin/sso", { method: "POST", body: form, headers: { origin: BASE_URL } });
    expect(res.status).toBe(303);
    expect((idpRow(owner.accountId) as { sso_url: string }).sso_url).toBe("https://idp.p.example/sso2");
    const a = lastAudit(t, "sso.configure");
    expect(a.details.before).toMatchObject({ certificates: [new X509Certificate(idp.certPem).fingerprint256] });
    expect(a.details.after).toMatchObject({ certificates: [new X509Certificate(rotated.certPem).fingerprint256] });
  });

  test("accepts manual entry with two certificates (rollover) and a loopback http URL", async () => {
    const second = createTestIdp(idp.entityId);
    const res = await owner.browser.postForm("/admin/sso", { entityId: idp.entityId, ssoUrl: "http://127.0.0.1:9999/sso", certificates: idp.certPem + second.certPem, nameAttribute: "cn" });
    expect(res.status).toBe(303);
    expect(lastAudit(t, "sso.configure").details).toMatchObject({ via: "manual", after: { mapping: { name: "cn" } } });
    expect(((lastAudit(t, "sso.configure").details.after as { certificates: string[] }).certificates).length).toBe(2);
  });

  test("an IdP entity id already bound to another account is refused", async () => {
    const res = await other.browser.postForm("/admin/sso", { entityId: idp.entityId, ssoUrl: "https://idp.q.example/sso", certificates: idp.certPem });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Another organisation on this server already uses this identity provider entity id");
    expect(idpRow(other.accountId)).toBeNull();
  });

  test("enabling before configuring is refused; enable and disable are audited", async () => {
    expect((await other.browser.postForm("/admin/sso/enable", {})).status).toBe(409);
    expect((await owner.browser.postForm("/admin/sso/enable", {})).status).toBe(303);
    expect(lastAudit(t, "sso.enable").details).toMatchObject({ before: { enabled: false }, after: { enabled: true } });
    expect((await owner.browser.postForm("/admin/sso/disable", {})).status).toBe(303);
    expect(lastAudit(t, "sso.disable").accountId).toBe(owner.accountId);
    expect((await owner.browser.postForm("/admin/sso/enable", {})).status).toBe(303);
  });

  test("a cross-site form post is refused (CSRF)", async () => {
    const res = await owner.browser.postForm("/admin/sso/disable", {}, { origin: "https://evil.example", csrf: null });
    expect(res.status).toBe(403);
    expect((idpRow(owner.accountId) as { enabled: number }).enabled).toBe(1);
  });
});

describe("/admin/sso/log", () => {
  test("lists the account's responses with verdict and reason, and shows the XML", async () => {
    await owner.browser.postForm("/admin/sso", { entityId: idp.entityId, ssoUrl: "https://idp.p.example/sso", certificates: idp.certPem });
    const sp = spOf(owner.accountId);
    expect((await postAcs(t, owner.accountId, signedResponse(idp, { ...sp, nameId: "logged@p.example" }))).status).toBe(303);
    expect((await postAcs(t, owner.accountId, signedResponse(idp, { ...sp, nameId: "x@p.example", audience: "https://wrong.example" }))).reason).toBe("audience");
    const html = await (await owner.browser.get("/admin/sso/log")).text();
    expect(html).toContain("accepted");
    expect(html).toContain("audience: SAML assertion audience mismatch");
    const id = /href="\/admin\/sso\/log\/(\d+)"/.exec(html)![1]!;
    const one = await (await owner.browser.get(`/admin/sso/log/${id}`)).text();
    expect(one).toContain("&lt;samlp:Response");
    // Another account cannot open it.
    expect((await other.browser.get(`/admin/sso/log/${id}`)).status).toBe(404);
    expect(await (await other.browser.get("/admin/sso/log")).text()).toContain("No responses received");
  });

  test("responses older than 7 days are hidden and purged", async () => {
    const count = () => t.count("saml_responses", owner.accountId);
    expect(count()).toBeGreaterThan(0);
    t.clock.advance(7 * 86_400_000 + 1);
    const again = await t.signIn("owner@p.example"); // the old session expired meanwhile
    expect(await (await again.get("/admin/sso/log")).text()).toContain("No responses received");
    expect(purgeSamlData(t.saml).responses).toBeGreaterThan(0);
    expect(count()).toBe(0);
  });
});
