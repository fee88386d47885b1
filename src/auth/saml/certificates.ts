import { X509Certificate } from "node:crypto";

/** CertInfo describes one IdP signing certificate for pages and the audit log. */
export interface CertInfo {
  pem: string;
  subject: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex (as IdP admin consoles show it). */
  fingerprint: string;
  validTo: number;
}

/** MAX_CERTIFICATES bounds how many signing certificates one IdP may have (rollover needs two). */
export const MAX_CERTIFICATES = 4;

/** toPem wraps a bare base64 DER certificate (as found in metadata) in PEM armour. */
export function toPem(base64: string): string {
  const body = base64.replace(/\s+/g, "");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END CERTIFICATE-----\n`;
}

/** splitCertificates finds PEM blocks in text; text without PEM armour is taken as one base64 certificate. */
export function splitCertificates(text: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (blocks) return blocks.map((b) => toPem(b.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")));
  const bare = text.replace(/\s+/g, "");
  return bare ? [toPem(bare)] : [];
}

/** inspectCertificate parses a PEM certificate; returns why it is unusable as a SAML signing certificate, or its details. */
export function inspectCertificate(pem: string): { ok: true; info: CertInfo } | { ok: false; problem: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return { ok: false, problem: "is not a valid X.509 certificate (paste the PEM text, including the BEGIN/END lines, or the base64 body)" };
  }
  if (cert.publicKey.asymmetricKeyType !== "rsa") return { ok: false, problem: `has a ${cert.publicKey.asymmetricKeyType ?? "non-RSA"} key; SAML signatures are verified with RSA keys only` };
  const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) return { ok: false, problem: `has a ${bits}-bit RSA key; at least 2048 bits are required` };
  return { ok: true, info: { pem, subject: cert.subject.replace(/\n/g, ", "), fingerprint: cert.fingerprint256, validTo: cert.validToDate.getTime() } };
}

/** fingerprints lists the SHA-256 fingerprints of certificates that parse (for audit entries). */
export function fingerprints(pems: readonly string[]): string[] {
  return pems.map((p) => {
    const r = inspectCertificate(p);
    return r.ok ? r.info.fingerprint : "(unparsable)";
  });
}
