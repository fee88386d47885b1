// In-process SAML scenarios: configure an account's IdP through the admin pages, start an
// SP-initiated login, and POST responses to the ACS the way an IdP's auto-submitting form does.

import { inflateRawSync } from "node:zlib";
import { SESSION_COOKIE } from "../../src/http/cookies.ts";
import { BASE_URL, type Signed, type TestApp } from "../helpers/test-app.ts";
import { b64, idpMetadataXml, type TestIdp } from "./saml-fixtures.ts";

/** SpOf returns an account's SP entity id and ACS URL under the test app's base URL. */
export function spOf(accountId: string): { spEntityId: string; acsUrl: string } {
  return { spEntityId: `${BASE_URL}/saml/${accountId}/metadata`, acsUrl: `${BASE_URL}/saml/${accountId}/acs` };
}

/** SsoSetup chooses mapping fields and switches for configureSso. */
export interface SsoSetup {
  enable?: boolean;
  allowedDomains?: string;
  fields?: Record<string, string>;
}

/** configureSso pastes the IdP's metadata on /admin/sso as the signed-in Owner, enables SSO and sets allowed domains. */
export async function configureSso(owner: Signed, idp: TestIdp, o: SsoSetup = {}): Promise<void> {
  const res = await owner.browser.postForm("/admin/sso", { metadata: idpMetadataXml(idp, "https://idp.example/sso"), ...o.fields });
  if (res.status !== 303) throw new Error(`configure SSO: ${res.status} ${(await res.text()).slice(0, 2000)}`);
  if (o.enable !== false) {
    const en = await owner.browser.postForm("/admin/sso/enable", {});
    if (en.status !== 303) throw new Error(`enable SSO: ${en.status}`);
  }
  if (o.allowedDomains !== undefined) {
    const s = await owner.browser.postForm("/admin/settings", { key: "sso.allowed_domains", mode: "set", value: o.allowedDomains });
    if (s.status !== 303) throw new Error(`allowed domains: ${s.status} ${(await s.text()).slice(0, 500)}`);
  }
}

/** AcsOutcome is what the ACS answered. */
export interface AcsOutcome {
  status: number;
  location: string | null;
  html: string;
  /** The reason code shown on the error page, if any. */
  reason: string | null;
  /** The session cookie the ACS set, if any. */
  sessionCookie: string | null;
}

/** postAcs POSTs a SAMLResponse cross-site (Origin of the IdP, no CSRF token), as an IdP's form does. */
export async function postAcs(t: TestApp, accountId: string, samlResponseOrXml: { xml: string } | { raw: string }, relayState = "", cookie?: string): Promise<AcsOutcome> {
  t.clock.advance(61_000); // stay under the per-address sign-in rate limit
  const body = new URLSearchParams({ SAMLResponse: "xml" in samlResponseOrXml ? b64(samlResponseOrXml.xml) : samlResponseOrXml.raw });
  if (relayState) body.set("RelayState", relayState);
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", origin: "https://idp.example" };
  if (cookie) headers.cookie = cookie;
  const res = await t.app.request(`${BASE_URL}/saml/${accountId}/acs`, { method: "POST", headers, body: body.toString() });
  const html = await res.text();
  const set = res.headers.getSetCookie().find((l) => l.startsWith(`${SESSION_COOKIE}=`) && !/max-age=0/i.test(l));
  return {
    status: res.status,
    location: res.headers.get("location"),
    html,
    reason: /data-testid="saml-reason">([a-z_]+)</.exec(html)?.[1] ?? null,
    sessionCookie: set ? set.split(";")[0]!.slice(SESSION_COOKIE.length + 1) : null,
  };
}

/** LoginRedirect is the decoded SP-initiated redirect to the IdP. */
export interface LoginRedirect {
  url: URL;
  requestXml: string;
  requestId: string;
}

/** startSpLogin GETs /saml/<id>/login and decodes the AuthnRequest from the redirect. */
export async function startSpLogin(t: TestApp, accountId: string, next = "/admin"): Promise<LoginRedirect> {
  const res = await t.app.request(`${BASE_URL}/saml/${accountId}/login?next=${encodeURIComponent(next)}`);
  if (res.status !== 302) throw new Error(`login: ${res.status} ${(await res.text()).slice(0, 500)}`);
  const url = new URL(res.headers.get("location")!);
  const requestXml = inflateRawSync(Buffer.from(url.searchParams.get("SAMLRequest")!, "base64")).toString("utf8");
  const requestId = /\sID="([^"]+)"/.exec(requestXml)![1]!;
  return { url, requestXml, requestId };
}

/** sessionsOf counts an account's sessions. */
export function sessionsOf(t: TestApp, accountId: string): number {
  return t.count("sessions", accountId);
}
