import { systemClock } from "../../shared/clock.ts";
import { purgeAssertions, rememberAssertion } from "../../storage/saml-repo.ts";
import { spUrls, type SamlDeps } from "./deps.ts";
import { failureFromNodeSaml, type SamlFailure } from "./failures.ts";
import type { IdpConfig } from "./idp-config.ts";
import { CLOCK_SKEW_MS, samlFor } from "./service-provider.ts";
import { NS, algorithmProblem, child, children, hasDoctype, parseXml, textOf } from "./xml.ts";

/** MAX_RESPONSE_BASE64 bounds the SAMLResponse field (base64 characters). */
export const MAX_RESPONSE_BASE64 = 256 * 1024;

const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/**
 * node-saml reads the wall clock for validity windows and cannot be given another clock, so
 * every window check here (and the replay cache's expiry) uses the same wall clock.
 */
const wallClock = systemClock;

/** VerifiedAssertion is what a valid, signed, fresh, unreplayed assertion says. */
export interface VerifiedAssertion {
  assertionId: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string;
  /** Attribute name → values (strings only). */
  attributes: Record<string, string[]>;
  inResponseTo: string | null;
}

/** VerifyResult carries the decoded XML (for the response log) with the verdict. */
export type VerifyResult = { ok: true; xml: string; assertion: VerifiedAssertion } | { ok: false; xml: string; failure: SamlFailure };

function timeOf(s: string | null): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

/** decodeSamlResponse turns the base64 field into XML text, refusing oversized, non-base64 and non-UTF-8 input. */
export function decodeSamlResponse(encoded: string): { xml: string } | { failure: SamlFailure; xml: string } {
  if (encoded.length > MAX_RESPONSE_BASE64) return { xml: `(not stored: ${encoded.length} characters of base64)`, failure: { code: "too_large", detail: `${encoded.length} characters` } };
  const compact = encoded.replace(/\s+/g, "");
  if (!compact || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return { xml: "(not valid base64)", failure: { code: "malformed", detail: "not base64" } };
  try {
    return { xml: new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(compact, "base64")) };
  } catch {
    return { xml: "(not UTF-8 text)", failure: { code: "malformed", detail: "not UTF-8" } };
  }
}

/** checkEnvelope runs the checks on the whole (unverified) document before any signature work. */
function checkEnvelope(xml: string, config: IdpConfig, acsUrl: string): { failure: SamlFailure } | { responseSigned: boolean; inResponseTo: string | null } {
  const problem = envelopeProblem(xml, config, acsUrl);
  if (problem) return { failure: problem };
  const root = parseXml(xml)!.documentElement;
  return { responseSigned: children(root, NS.dsig, "Signature").length > 0, inResponseTo: root.getAttribute("InResponseTo") || null };
}

function envelopeProblem(xml: string, config: IdpConfig, acsUrl: string): SamlFailure | null {
  if (hasDoctype(xml)) return { code: "doctype" };
  const doc = parseXml(xml);
  if (!doc) return { code: "malformed", detail: "not well-formed XML" };
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== "Response") return { code: "not_response", detail: `root element ${root.localName}` };
  const alg = algorithmProblem(doc);
  if (alg) return { code: "weak_algorithm", detail: alg };
  const signed = children(root, NS.dsig, "Signature").length > 0;
  if (root.hasAttribute("Destination") ? root.getAttribute("Destination") !== acsUrl : signed) return { code: "destination", detail: `Destination ${root.getAttribute("Destination") ?? "(missing on a signed response)"}` };
  const issuer = child(root, NS.assertion, "Issuer");
  if (issuer && textOf(issuer) !== config.entityId) return { code: "issuer", detail: `Response issuer ${textOf(issuer).slice(0, 200)}` };
  if (children(root, NS.assertion, "EncryptedAssertion").length) return { code: "invalid", detail: "encrypted assertions are not supported; turn off assertion encryption at the IdP" };
  return null;
}

function attributesOf(profile: Record<string, unknown>): Record<string, string[]> {
  const raw = (profile.attributes ?? {}) as Record<string, unknown>;
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    const values = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string").map((x) => x.trim());
    if (values.length) out[k] = values;
  }
  return out;
}

/** checkAssertion checks the signed assertion node-saml returned: issuer, bearer confirmation (recipient, window, InResponseTo), NameID. */
function checkAssertion(signedXml: string, config: IdpConfig, acsUrl: string, responseInResponseTo: string | null, profileNameId: string): { failure: SamlFailure } | { id: string; nameId: string; format: string; expiresAt: number } {
  const doc = parseXml(signedXml);
  const a = doc?.documentElement;
  if (!a || a.namespaceURI !== NS.assertion || a.localName !== "Assertion") return { failure: { code: "invalid", detail: "signed content is not an assertion" } };
  const issuer = textOf(child(a, NS.assertion, "Issuer"));
  if (issuer !== config.entityId) return { failure: { code: "issuer", detail: `Assertion issuer ${issuer.slice(0, 200) || "(missing)"}` } };
  const id = a.getAttribute("ID") ?? "";
  if (!id) return { failure: { code: "invalid", detail: "assertion without ID" } };
  const subject = child(a, NS.assertion, "Subject");
  const nameIdEl = subject ? child(subject, NS.assertion, "NameID") : null;
  const nameId = textOf(nameIdEl);
  if (!nameId) return { failure: { code: "invalid", detail: "assertion without NameID" } };
  if (nameId !== profileNameId.trim()) return { failure: { code: "wrapping", detail: "NameID read differently by two parsers" } };
  const now = wallClock.now();
  let recipientSeen = false;
  let expiresAt = 0;
  let confirmed = false;
  for (const sc of subject ? children(subject, NS.assertion, "SubjectConfirmation") : []) {
    if (sc.getAttribute("Method") !== BEARER) continue;
    const data = child(sc, NS.assertion, "SubjectConfirmationData");
    if (!data || data.getAttribute("Recipient") !== acsUrl) continue;
    recipientSeen = true;
    const notOnOrAfter = timeOf(data.getAttribute("NotOnOrAfter"));
    const notBefore = timeOf(data.getAttribute("NotBefore"));
    if (notOnOrAfter === null || now - CLOCK_SKEW_MS >= notOnOrAfter) continue;
    if (notBefore !== null && now + CLOCK_SKEW_MS < notBefore) continue;
    const irt = data.getAttribute("InResponseTo");
    if (irt && irt !== responseInResponseTo) return { failure: { code: "in_response_to", detail: "SubjectConfirmationData InResponseTo differs from the Response" } };
    confirmed = true;
    expiresAt = Math.max(expiresAt, notOnOrAfter);
  }
  if (!confirmed) return { failure: recipientSeen ? { code: "expired", detail: "bearer confirmation expired" } : { code: "recipient", detail: "no bearer SubjectConfirmationData with this ACS URL as Recipient" } };
  const conditions = child(a, NS.assertion, "Conditions");
  const condEnd = timeOf(conditions?.getAttribute("NotOnOrAfter") ?? null);
  if (condEnd !== null) expiresAt = Math.max(expiresAt, condEnd);
  return { id, nameId, format: nameIdEl?.getAttribute("Format") ?? "", expiresAt: expiresAt + CLOCK_SKEW_MS };
}

/**
 * verifySamlResponse decodes and checks a POSTed SAMLResponse for an account: size, DOCTYPE,
 * structure, algorithms, destination, issuer, then node-saml (pinned certificates, signed
 * assertion, audience, validity window, InResponseTo), then the signed assertion itself
 * (issuer, recipient, bearer window, NameID) and the Assertion-ID replay cache.
 */
export async function verifySamlResponse(deps: SamlDeps, config: IdpConfig, encoded: string): Promise<VerifyResult> {
  const decoded = decodeSamlResponse(encoded);
  if ("failure" in decoded) return { ok: false, xml: decoded.xml, failure: decoded.failure };
  const xml = decoded.xml;
  const acsUrl = spUrls(deps.baseUrl, config.accountId).acsUrl;
  const envelope = checkEnvelope(xml, config, acsUrl);
  if ("failure" in envelope) return { ok: false, xml, failure: envelope.failure };

  let profile: Record<string, unknown> & { nameID?: string; getAssertionXml?: () => string };
  try {
    const r = await samlFor(deps, config, { responseSigned: envelope.responseSigned }).validatePostResponseAsync({ SAMLResponse: encoded.replace(/\s+/g, "") });
    if (!r.profile) return { ok: false, xml, failure: { code: "invalid", detail: "no profile (logout or passive response)" } };
    profile = r.profile;
  } catch (e) {
    return { ok: false, xml, failure: failureFromNodeSaml(e) };
  }
  const signedXml = profile.getAssertionXml?.() ?? "";
  const responseIrt = envelope.inResponseTo;
  const checked = checkAssertion(signedXml, config, acsUrl, responseIrt, String(profile.nameID ?? ""));
  if ("failure" in checked) return { ok: false, xml, failure: checked.failure };

  const now = wallClock.now();
  purgeAssertions(deps.db, now);
  if (!rememberAssertion(deps.db, `${config.accountId}:${checked.id}`, checked.expiresAt)) return { ok: false, xml, failure: { code: "replay", detail: `assertion ${checked.id.slice(0, 100)}` } };
  return {
    ok: true,
    xml,
    assertion: { assertionId: checked.id, issuer: config.entityId, nameId: checked.nameId, nameIdFormat: checked.format, attributes: attributesOf(profile), inResponseTo: responseIrt },
  };
}
