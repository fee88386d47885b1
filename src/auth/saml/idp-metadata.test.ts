import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { certBase64, createTestIdp, idpMetadataXml } from "../../../tests/support/saml-fixtures.ts";
import { parseIdpMetadata } from "./idp-metadata.ts";

const idp = createTestIdp("https://idp.example/realms/x");

describe("parseIdpMetadata", () => {
  test("reads the entity id, the HTTP-Redirect SSO URL and the signing certificate", () => {
    const r = parseIdpMetadata(idpMetadataXml(idp, "https://idp.example/sso"));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.idp.entityId).toBe(idp.entityId);
    expect(r.idp.ssoUrl).toBe("https://idp.example/sso"); // not the POST endpoint listed first
    expect(r.idp.certificates.length).toBe(1);
    expect(new X509Certificate(r.idp.certificates[0]!).fingerprint256).toBe(new X509Certificate(idp.certPem).fingerprint256);
  });

  test("finds the IdP inside an EntitiesDescriptor and ignores encryption keys", () => {
    const enc = createTestIdp();
    const inner = idpMetadataXml(idp, "https://idp.example/sso")
      .replace(/^<\?xml[^>]*>\s*/, "")
      .replace("<md:NameIDFormat>", `<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBase64(enc.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>`);
    const xml = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor entityID="https://sp.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>${inner}</md:EntitiesDescriptor>`;
    const r = parseIdpMetadata(xml);
    expect(r.ok && r.idp.entityId).toBe(idp.entityId);
    expect(r.ok && r.idp.certificates.length).toBe(1);
  });

  test("explains what is wrong with unusable documents", () => {
    const problem = (xml: string) => {
      const r = parseIdpMetadata(xml);
      return r.ok ? "" : r.problem;
    };
    expect(problem(`<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><m>&x;</m>`)).toContain("DOCTYPE");
    expect(problem("<<not xml")).toContain("not well-formed");
    expect(problem(idpMetadataXml(idp, "https://idp.example/sso").replace(/<md:SingleSignOnService[^>]*HTTP-Redirect[^>]*\/>/, ""))).toContain("HTTP-Redirect");
    expect(problem(idpMetadataXml(idp, "https://idp.example/sso").replace(/<md:KeyDescriptor[\s\S]*?<\/md:KeyDescriptor>/, ""))).toContain("no signing certificate");
    expect(problem("x".repeat(1024 * 1024 + 1))).toContain("larger than 1 MB");
  });
});
