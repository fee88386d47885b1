/**
 * Self-signed TLS certificates for a first start without an admin-supplied certificate:
 * an X.509 v3 certificate with an ECDSA P-256 key, built with the small DER encoder in asn1.ts
 * and signed with node:crypto.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../shared/errors.ts";
import * as asn1 from "./asn1.ts";
import { ipAddressBytes } from "./ip-address.ts";
import { ensurePrivateDir, readOwnerOnlyFile, writeFileNoClobber } from "./secret-file.ts";

/** SelfSignedCertOptions names the certificate's subject, alternative names and lifetime. */
export interface SelfSignedCertOptions {
  /** Subject (and issuer) common name, 1–64 characters. */
  commonName: string;
  /** DNS names for subjectAltName (ASCII; punycode for international names; "*.x" allowed). */
  dnsNames: string[];
  /** IPv4 and IPv6 address literals for subjectAltName. */
  ipAddresses: string[];
  /** Validity in days from `now` (notBefore is an hour earlier to absorb clock skew). */
  days: number;
  /** Issue time; defaults to the wall clock. */
  now?: Date;
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const DNS_NAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** generateSelfSignedCert creates a fresh P-256 key and a self-signed server certificate for it, both PEM. */
export function generateSelfSignedCert(opts: SelfSignedCertOptions): { certPem: string; keyPem: string } {
  const { commonName, dnsNames, ipAddresses, days } = opts;
  if (commonName.length < 1 || commonName.length > 64) {
    throw new AppError("invalid_input", "The certificate common name must be 1 to 64 characters.", { commonName: "1 to 64 characters" });
  }
  if (!Number.isFinite(days) || days <= 0 || days > 36_500) {
    throw new AppError("invalid_input", `Certificate validity must be between 1 day and 100 years (got ${days}).`, { days: "1 to 36500" });
  }
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new AppError("invalid_input", "A certificate needs at least one DNS name or IP address; browsers ignore the common name.");
  }
  const generalNames: Uint8Array[] = [];
  for (const name of dnsNames) {
    if (name.length > 253 || !DNS_NAME.test(name)) {
      throw new AppError("invalid_input", `"${name}" is not a valid DNS name for a certificate (use ASCII/punycode, letters, digits, hyphens and dots).`, { dnsNames: name });
    }
    generalNames.push(asn1.implicitPrimitive(2, asn1.asciiBytes(name))); // dNSName [2] IA5String
  }
  for (const ip of ipAddresses) {
    const bytes = ipAddressBytes(ip);
    if (!bytes) throw new AppError("invalid_input", `"${ip}" is not an IPv4 or IPv6 address.`, { ipAddresses: ip });
    generalNames.push(asn1.implicitPrimitive(7, bytes)); // iPAddress [7] OCTET STRING
  }

  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - HOUR_MS);
  const notAfter = new Date(now.getTime() + Math.round(days * DAY_MS));

  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.of(0x04), Buffer.from(jwk.x ?? "", "base64url"), Buffer.from(jwk.y ?? "", "base64url")]);
  // RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
  const keyId = createHash("sha1").update(point).digest();

  const name = asn1.sequence(asn1.setOf(asn1.sequence(asn1.oid(OID.commonName), asn1.utf8String(commonName))));
  const sigAlg = asn1.sequence(asn1.oid(OID.ecdsaWithSha256));
  const extension = (id: string, critical: boolean, value: Uint8Array): Uint8Array =>
    critical ? asn1.sequence(asn1.oid(id), asn1.booleanValue(true), asn1.octetString(value)) : asn1.sequence(asn1.oid(id), asn1.octetString(value));

  const tbs = asn1.sequence(
    asn1.explicit(0, asn1.integer(2)), // v3
    asn1.integer(randomSerial()),
    sigAlg,
    name,
    asn1.sequence(asn1.time(notBefore), asn1.time(notAfter)),
    name,
    new Uint8Array(spki),
    asn1.explicit(
      3,
      asn1.sequence(
        extension(OID.basicConstraints, true, asn1.sequence()), // cA FALSE is the default, so omitted
        extension(OID.keyUsage, true, asn1.bitString(Uint8Array.of(0x80), 7)), // digitalSignature
        extension(OID.extKeyUsage, false, asn1.sequence(asn1.oid(OID.serverAuth))),
        extension(OID.subjectAltName, false, asn1.sequence(...generalNames)),
        extension(OID.subjectKeyIdentifier, false, asn1.octetString(keyId)),
      ),
    ),
  );
  // For EC keys node:crypto returns the DER Ecdsa-Sig-Value X.509 expects.
  const signature = sign("sha256", tbs, privateKey);
  const cert = asn1.sequence(tbs, sigAlg, asn1.bitString(signature));
  return {
    certPem: asn1.toPem("CERTIFICATE", cert),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** A random positive 128-bit serial (RFC 5280 allows up to 20 octets; integer() adds a sign octet when needed). */
function randomSerial(): Uint8Array {
  for (;;) {
    const serial = randomBytes(16);
    if (serial.some((b) => b !== 0)) return serial;
  }
}

/** TlsFiles locates the certificate and key ensureTlsFiles made or found. */
export interface TlsFiles {
  certPath: string;
  keyPath: string;
  /** True when this call generated the pair. */
  created: boolean;
  /** The certificate's notAfter, so callers can warn before it expires. */
  notAfter: Date;
}

/**
 * ensureTlsFiles makes `<dataDir>/tls/cert.pem` and `key.pem` (key 0600, dir 0700) when neither
 * exists, and otherwise checks and reuses them; it never overwrites either file.
 */
export function ensureTlsFiles(dataDir: string, opts: SelfSignedCertOptions): TlsFiles {
  const dir = join(dataDir, "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  let keyBytes = readOwnerOnlyFile(keyPath, "TLS private key");
  let created = false;
  if (keyBytes === null && !existsSync(certPath)) {
    ensurePrivateDir(dir);
    const { certPem, keyPem } = generateSelfSignedCert(opts);
    // Key first: a crash in between leaves a key without a certificate, reported below, never a lost key.
    if (writeFileNoClobber(keyPath, keyPem) && writeFileNoClobber(certPath, certPem)) created = true;
    keyBytes = readOwnerOnlyFile(keyPath, "TLS private key");
  }
  if (keyBytes === null) {
    throw new AppError("unavailable", `${certPath} exists but its private key ${keyPath} is missing. Restore the key, or remove ${certPath} to have a new self-signed pair generated.`);
  }
  if (!existsSync(certPath)) {
    throw new AppError("unavailable", `${keyPath} exists but the certificate ${certPath} is missing. Restore the certificate, or remove ${keyPath} to have a new self-signed pair generated.`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certPath));
  } catch {
    throw new AppError("unavailable", `${certPath} is not a PEM certificate. Replace it, or remove both ${certPath} and ${keyPath} to have a new self-signed pair generated.`);
  }
  let matches = false;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyBytes));
  } catch {
    throw new AppError("unavailable", `${keyPath} is not a PEM private key. Replace it, or remove both ${certPath} and ${keyPath} to have a new self-signed pair generated.`);
  }
  if (!matches) throw new AppError("unavailable", `The private key ${keyPath} does not belong to the certificate ${certPath}.`);
  return { certPath, keyPath, created, notAfter: cert.validToDate };
}
