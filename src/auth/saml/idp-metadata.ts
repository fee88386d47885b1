import { toPem } from "./certificates.ts";
import { NS, child, children, descendants, hasDoctype, parseXml, textOf } from "./xml.ts";

/** REDIRECT_BINDING is the binding Conclave sends AuthnRequests with. */
export const REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/** MAX_METADATA_BYTES bounds an uploaded or pasted metadata document. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/** ImportedIdp is what an IdP metadata document says about the IdP. */
export interface ImportedIdp {
  entityId: string;
  ssoUrl: string;
  certificates: string[];
}

/**
 * parseIdpMetadata reads an IdP EntityDescriptor (or the first IdP entity of an
 * EntitiesDescriptor): entity id, the HTTP-Redirect SingleSignOnService and the signing
 * certificates. Returns a readable problem instead when the document is not usable.
 */
export function parseIdpMetadata(xml: string): { ok: true; idp: ImportedIdp } | { ok: false; problem: string } {
  if (xml.length > MAX_METADATA_BYTES) return { ok: false, problem: "The metadata document is larger than 1 MB." };
  if (hasDoctype(xml)) return { ok: false, problem: "The metadata contains a DOCTYPE declaration, which is refused for security reasons (XML external entities)." };
  const doc = parseXml(xml.trim());
  if (!doc) return { ok: false, problem: "This is not well-formed XML. Paste the whole metadata document your identity provider offers for download." };
  const root = doc.documentElement;
  const entities = root.namespaceURI === NS.metadata && root.localName === "EntityDescriptor" ? [root] : descendants(doc, NS.metadata, "EntityDescriptor");
  const entity = entities.find((e) => children(e, NS.metadata, "IDPSSODescriptor").length > 0);
  if (!entity) return { ok: false, problem: "No identity provider (an EntityDescriptor with an IDPSSODescriptor) was found in this metadata. Did you paste the service-provider metadata by mistake?" };
  const entityId = (entity.getAttribute("entityID") ?? "").trim();
  if (!entityId) return { ok: false, problem: "The EntityDescriptor has no entityID." };
  const sso = child(entity, NS.metadata, "IDPSSODescriptor")!;
  const redirect = children(sso, NS.metadata, "SingleSignOnService").find((s) => s.getAttribute("Binding") === REDIRECT_BINDING);
  const ssoUrl = (redirect?.getAttribute("Location") ?? "").trim();
  if (!ssoUrl) return { ok: false, problem: "The identity provider offers no SingleSignOnService with the HTTP-Redirect binding, which Conclave uses." };
  const certificates: string[] = [];
  for (const kd of children(sso, NS.metadata, "KeyDescriptor")) {
    const use = kd.getAttribute("use");
    if (use && use !== "signing") continue;
    for (const c of descendants(kd, NS.dsig, "X509Certificate")) {
      const pem = toPem(textOf(c));
      if (!certificates.includes(pem)) certificates.push(pem);
    }
  }
  if (!certificates.length) return { ok: false, problem: "The metadata contains no signing certificate (KeyDescriptor use=\"signing\" with an X509Certificate)." };
  return { ok: true, idp: { entityId, ssoUrl, certificates } };
}
