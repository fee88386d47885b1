// The public SAML endpoints: SP metadata, SP-initiated login (signed Redirect-binding
// AuthnRequest), the CSRF exemption of the ACS only, and /signin/sso account discovery.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createVerify, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BASE_URL, createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import { configureSso, startSpLogin } from "../../tests/support/saml-app.ts";
import { certBase64, createTestIdp, type TestIdp } from "../../tests/support/saml-fixtures.ts";

let t: TestApp;
let owner: Signed;
let idp: TestIdp;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup({ organisation: "Org S", email: "owner@s.example" });
  idp = createTestIdp();
  await configureSso(owner, idp, { allowedDomains: "s.example, s-corp.example" });
});
afterAll(() => t.cleanup());

describe("GET /saml/:account/metadata", () => {
  test("publishes the SP entity id, the POST ACS URL and the RSA signing certificate", async () => {
    const res = await t.request(`/saml/${owner.accountId}/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/samlmetadata+xml");
    const xml = await res.text();
    expect(xml).toContain(`entityID="${BASE_URL}/saml/${owner.accountId}/metadata"`);
    expect(xml).toContain(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${BASE_URL}/saml/${owner.accountId}/acs"`);
    expect(xml).toContain('AuthnRequestsSigned="true"');
    expect(xml).toContain('WantAssertionsSigned="true"');
    const certPem = readFileSync(join(t.dir, "saml", "sp-cert.pem"), "utf8");
    expect(xml.replace(/\s+/g, "")).toContain(certBase64(certPem));
    expect(new X509Certificate(certPem).publicKey.asymmetricKeyType).toBe("rsa");
    expect(statSync(join(t.dir, "saml", "sp-key.pem")).mode & 0o777).toBe(0o600);
  });

  test("unknown account ids are 404", async () => {
    expect((await t.request("/saml/no-such-account/metadata")).status).toBe(404);
    expect((await t.request("/saml/no-such-account/login")).status).toBe(404);
  });
});

describe("GET /saml/:account/login", () => {
  test("redirects to the IdP with an AuthnRequest signed RSA-SHA256 by the SP key", async () => {
    const login = await startSpLogin(t, owner.accountId, "/admin/users");
    const raw = login.url.search.slice(1).split("&");
    const part = (k: string) => raw.find((p) => p.startsWith(`${k}=`))!;
    const signed = [part("SAMLRequest"), part("RelayState"), part("SigAlg")].join("&");
    const certPem = readFileSync(join(t.dir, "saml", "sp-cert.pem"), "utf8");
    const ok = createVerify("RSA-SHA256").update(signed).verify(certPem, login.url.searchParams.get("Signature")!, "base64");
    expect(ok).toBe(true);
    expect(login.requestXml).toContain(`Destination="https://idp.example/sso"`);
    expect(login.requestXml).toContain(`${BASE_URL}/saml/${owner.accountId}/metadata</saml:Issuer>`);
    expect(login.url.searchParams.get("RelayState")).toBe("/admin/users");
    expect(t.saml.requests.size()).toBeGreaterThan(0);
  });

  test("RelayState carries only a local path", async () => {
    const login = await startSpLogin(t, owner.accountId, "https://evil.example/");
    expect(login.url.searchParams.get("RelayState")).toBe("/admin");
  });
});

describe("CSRF exemption", () => {
  test("only the ACS accepts a cross-site POST; other SAML and sign-in paths refuse it", async () => {
    const cross = { method: "POST", headers: { origin: "https://idp.example", "content-type": "application/x-www-form-urlencoded" }, body: "SAMLResponse=" };
    const acs = await t.request(`/saml/${owner.accountId}/acs`, cross);
    expect(await acs.text()).toContain("Single sign-on failed");
    expect((await t.request(`/saml/${owner.accountId}/acs/x`, cross)).status).toBe(403);
    expect((await t.request(`/saml/${owner.accountId}/login`, cross)).status).toBe(403);
    expect((await t.request("/signin/sso", { ...cross, body: "email=owner%40s.example" })).status).toBe(403);
  });
});

describe("/signin/sso", () => {
  test("an existing user's e-mail goes to their account's SP-initiated login", async () => {
    const b = t.browser();
    expect((await b.get("/signin/sso")).status).toBe(200);
    const res = await b.postForm("/signin/sso", { email: "owner@s.example", next: "/admin/users" });
    // A Refresh navigation rather than a redirect: CSP form-action 'self' would block a redirect to the IdP.
    expect(res.status).toBe(200);
    expect(res.headers.get("refresh")).toBe(`0; url=/saml/${owner.accountId}/login?next=%2Fadmin%2Fusers`);
    expect(await res.text()).toContain(`href="/saml/${owner.accountId}/login?next=%2Fadmin%2Fusers"`);
  });

  test("an unknown e-mail at an allowed domain goes to that account (for just-in-time creation)", async () => {
    const res = await t.browser().postForm("/signin/sso", { email: "new@s-corp.example" });
    expect(res.headers.get("refresh")).toBe(`0; url=/saml/${owner.accountId}/login?next=%2Fadmin`);
  });

  test("an address without SSO gets a clear message", async () => {
    const res = await t.browser().postForm("/signin/sso", { email: "someone@elsewhere.example" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Single sign-on is not set up for this address");
  });

  test("when SSO is switched off, existing users are not sent to the IdP", async () => {
    expect((await owner.browser.postForm("/admin/sso/disable", {})).status).toBe(303);
    const res = await t.browser().postForm("/signin/sso", { email: "owner@s.example" });
    expect(res.status).toBe(400);
    expect((await owner.browser.postForm("/admin/sso/enable", {})).status).toBe(303);
  });
});
