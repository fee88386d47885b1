// SAML test fixtures: an identity provider key and certificate generated in the test, IdP
// metadata, and Responses built from scratch and signed with xml-crypto (RSA-SHA256,
// exclusive c14n, enveloped signature), so every hostile variant is made inside the test.

import { randomBytes } from "node:crypto";
import { SignedXml } from "xml-crypto";
import { generateRsaSigningCert } from "../../src/crypto/saml-sp-cert.ts";

export const ALG = {
  rsaSha256: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  rsaSha1: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
  hmacSha1: "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
  sha256: "http://www.w3.org/2001/04/xmlenc#sha256",
  sha1: "http://www.w3.org/2000/09/xmldsig#sha1",
  excC14n: "http://www.w3.org/2001/10/xml-exc-c14n#",
  enveloped: "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
} as const;

const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/** TestIdp is a generated identity provider: its entity id and RSA signing pair. */
export interface TestIdp {
  entityId: string;
  certPem: string;
  keyPem: string;
}

/** createTestIdp generates a fresh RSA 2048 key and self-signed certificate for an IdP. */
export function createTestIdp(entityId = `https://idp.test/${randomBytes(4).toString("hex")}`): TestIdp {
  const { certPem, keyPem } = generateRsaSigningCert({ commonName: "Test IdP", days: 30 });
  return { entityId, certPem, keyPem };
}

/** certBase64 strips a PEM certificate to the base64 body used in metadata and KeyInfo. */
export function certBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
}

/** toPemFromBase64 wraps a base64 DER certificate (as in metadata) in PEM armour. */
export function toPemFromBase64(b: string): string {
  const body = b.replace(/\s+/g, "");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** idpMetadataXml renders an IdP EntityDescriptor with a Redirect-binding SSO endpoint. */
export function idpMetadataXml(idp: TestIdp, ssoUrl: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${esc(idp.entityId)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBase64(idp.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${esc(ssoUrl)}/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(ssoUrl)}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

/** esc escapes text for XML content and attributes. */
export function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** ResponseOptions describe one Response; anything left out gets a valid value. */
export interface ResponseOptions {
  issuer: string;
  /** SP entity id, used as the Audience unless `audience` is given. */
  spEntityId: string;
  acsUrl: string;
  nameId: string;
  nameIdFormat?: string;
  attributes?: Record<string, string | string[]>;
  inResponseTo?: string;
  /** Sent in SubjectConfirmationData (defaults to inResponseTo). */
  subjectInResponseTo?: string;
  audience?: string;
  recipient?: string;
  /** Response Destination; null leaves the attribute out. */
  destination?: string | null;
  /** Assertion Issuer when it should differ from the Response Issuer. */
  assertionIssuer?: string;
  /** Wall-clock reference (ms); validity is built around it. */
  now?: number;
  notBefore?: number;
  notOnOrAfter?: number;
  responseId?: string;
  assertionId?: string;
  statusCode?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** newId returns a SAML-style identifier (must not start with a digit). */
export function newSamlId(): string {
  return `_${randomBytes(16).toString("hex")}`;
}

/** assertionXml renders a saml:Assertion (unsigned). */
export function assertionXml(o: ResponseOptions & { assertionId: string }): string {
  const now = o.now ?? Date.now();
  const notBefore = o.notBefore ?? now - 60_000;
  const notOnOrAfter = o.notOnOrAfter ?? now + 5 * 60_000;
  const irt = o.subjectInResponseTo ?? o.inResponseTo;
  const attrs = Object.entries(o.attributes ?? {})
    .map(([name, v]) => `<saml:Attribute Name="${esc(name)}">${(Array.isArray(v) ? v : [v]).map((x) => `<saml:AttributeValue>${esc(x)}</saml:AttributeValue>`).join("")}</saml:Attribute>`)
    .join("");
  return (
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${o.assertionId}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${esc(o.assertionIssuer ?? o.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${o.nameIdFormat ?? EMAIL_FORMAT}">${esc(o.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(notOnOrAfter)}" Recipient="${esc(o.recipient ?? o.acsUrl)}"${irt ? ` InResponseTo="${irt}"` : ""}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? o.spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${o.assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : "") +
    `</saml:Assertion>`
  );
}

/** responseXml wraps the given inner XML (assertions) in a samlp:Response. */
export function responseXml(o: ResponseOptions, inner: string): string {
  const now = o.now ?? Date.now();
  const dest = o.destination === null ? "" : ` Destination="${esc(o.destination ?? o.acsUrl)}"`;
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${o.responseId ?? newSamlId()}" Version="2.0" IssueInstant="${iso(now)}"${dest}${o.inResponseTo ? ` InResponseTo="${o.inResponseTo}"` : ""}>` +
    `<saml:Issuer>${esc(o.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${o.statusCode ?? "urn:oasis:names:tc:SAML:2.0:status:Success"}"/></samlp:Status>` +
    inner +
    `</samlp:Response>`
  );
}

/** SignOptions pick the key, certificate in KeyInfo and algorithms. */
export interface SignOptions {
  keyPem: string;
  /** Certificate put in KeyInfo (omit for none). */
  certPem?: string;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  /** HMAC key instead of an RSA key (the signature method must be an HMAC one). */
  hmacKey?: string;
}

/** signElement adds an enveloped signature to the element with the given local name (first match), placed after its Issuer. */
export function signElement(xml: string, localName: "Assertion" | "Response", o: SignOptions): string {
  const sig = new SignedXml({
    privateKey: o.hmacKey ?? o.keyPem,
    publicCert: o.certPem,
    signatureAlgorithm: o.signatureAlgorithm ?? ALG.rsaSha256,
    canonicalizationAlgorithm: ALG.excC14n,
  });
  if (o.hmacKey) sig.enableHMAC();
  const xpath = `//*[local-name(.)='${localName}']`;
  sig.addReference({ xpath, transforms: [ALG.enveloped, ALG.excC14n], digestAlgorithm: o.digestAlgorithm ?? ALG.sha256 });
  sig.computeSignature(xml, { location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: "after" } });
  return sig.getSignedXml();
}

/** signedResponse builds a Response whose single Assertion is signed by the IdP key (the common IdP shape). */
export function signedResponse(idp: TestIdp, o: Omit<ResponseOptions, "issuer"> & { issuer?: string }, sign: Partial<SignOptions> = {}): { xml: string; assertionId: string } {
  const assertionId = o.assertionId ?? newSamlId();
  const opts = { ...o, issuer: o.issuer ?? idp.entityId, assertionId };
  const signedAssertion = signElement(assertionXml(opts), "Assertion", { keyPem: idp.keyPem, certPem: idp.certPem, ...sign });
  return { xml: responseXml(opts, signedAssertion), assertionId };
}

/** b64 encodes XML as the SAMLResponse form field carries it. */
export function b64(xml: string): string {
  return Buffer.from(xml, "utf8").toString("base64");
}
