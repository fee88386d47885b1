/**
 * The SAML service-provider signing key: RSA 2048 with a self-signed certificate, because
 * identity providers (Okta, Entra ID, Keycloak, ADFS) expect RSA-SHA256 signatures on
 * AuthnRequests. Built with the DER encoder in asn1.ts like the TLS certificate.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../shared/errors.ts";
import * as asn1 from "./asn1.ts";
import { ensurePrivateDir, readOwnerOnlyFile, writeFileNoClobber } from "./secret-file.ts";

const OID = {
  sha256WithRsa: "1.2.840.113549.1.1.11",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
} as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** RsaSigningCertOptions name the certificate and its lifetime. */
export interface RsaSigningCertOptions {
  /** Subject (and issuer) common name, 1–64 characters. */
  commonName: string;
  /** Validity in days from `now` (notBefore is an hour earlier). */
  days: number;
  /** Issue time; defaults to the wall clock. */
  now?: Date;
  /** RSA modulus length in bits (default 2048). */
  modulusLength?: 2048 | 3072 | 4096;
}

/** generateRsaSigningCert creates a fresh RSA key and a self-signed signing certificate (sha256WithRSAEncryption), both PEM. */
export function generateRsaSigningCert(opts: RsaSigningCertOptions): { certPem: string; keyPem: string } {
  if (opts.commonName.length < 1 || opts.commonName.length > 64) throw new AppError("invalid_input", "The certificate common name must be 1 to 64 characters.");
  if (!Number.isFinite(opts.days) || opts.days <= 0 || opts.days > 36_500) throw new AppError("invalid_input", `Certificate validity must be between 1 day and 100 years (got ${opts.days}).`);
  const now = opts.now ?? new Date();
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: opts.modulusLength ?? 2048, publicExponent: 0x10001 });
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  const keyId = createHash("sha1").update(spki).digest();
  const name = asn1.sequence(asn1.setOf(asn1.sequence(asn1.oid(OID.commonName), asn1.utf8String(opts.commonName))));
  const sigAlg = asn1.sequence(asn1.oid(OID.sha256WithRsa), asn1.nullValue());
  const ext = (id: string, critical: boolean, value: Uint8Array): Uint8Array =>
    critical ? asn1.sequence(asn1.oid(id), asn1.booleanValue(true), asn1.octetString(value)) : asn1.sequence(asn1.oid(id), asn1.octetString(value));
  let serial = randomBytes(16);
  while (serial.every((b) => b === 0)) serial = randomBytes(16);
  const tbs = asn1.sequence(
    asn1.explicit(0, asn1.integer(2)),
    asn1.integer(serial),
    sigAlg,
    name,
    asn1.sequence(asn1.time(new Date(now.getTime() - HOUR_MS)), asn1.time(new Date(now.getTime() + Math.round(opts.days * DAY_MS)))),
    name,
    spki,
    asn1.explicit(
      3,
      asn1.sequence(
        ext(OID.basicConstraints, true, asn1.sequence()),
        ext(OID.keyUsage, true, asn1.bitString(Uint8Array.of(0x80), 7)), // digitalSignature
        ext(OID.subjectKeyIdentifier, false, asn1.octetString(keyId)),
      ),
    ),
  );
  const signature = sign("sha256", tbs, privateKey); // RSASSA-PKCS1-v1_5
  return {
    certPem: asn1.toPem("CERTIFICATE", asn1.sequence(tbs, sigAlg, asn1.bitString(signature))),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** SamlSpKeys is the SP signing pair as PEM text, with where it lives. */
export interface SamlSpKeys {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  /** True when this call generated the pair. */
  created: boolean;
}

/**
 * ensureSamlSpKeys makes `<dataDir>/saml/sp-key.pem` (0600) and `sp-cert.pem` when neither
 * exists, and otherwise checks and reuses them; it never overwrites either file. The pair is
 * valid for 10 years: IdPs pin the certificate from the SP metadata and rarely check expiry.
 */
export function ensureSamlSpKeys(dataDir: string, now: Date = new Date()): SamlSpKeys {
  const dir = join(dataDir, "saml");
  const certPath = join(dir, "sp-cert.pem");
  const keyPath = join(dir, "sp-key.pem");
  let keyBytes = readOwnerOnlyFile(keyPath, "SAML signing key");
  let created = false;
  if (keyBytes === null && !existsSync(certPath)) {
    ensurePrivateDir(dir);
    const pair = generateRsaSigningCert({ commonName: "Conclave SAML SP", days: 3650, now });
    // Key first: a crash in between leaves a key without a certificate (reported below), never a lost key.
    if (writeFileNoClobber(keyPath, pair.keyPem) && writeFileNoClobber(certPath, pair.certPem)) created = true;
    keyBytes = readOwnerOnlyFile(keyPath, "SAML signing key");
  }
  if (keyBytes === null) throw new AppError("unavailable", `${certPath} exists but the SAML signing key ${keyPath} is missing. Restore it, or remove ${certPath} to generate a new pair (then update the SP certificate at your identity provider).`);
  if (!existsSync(certPath)) throw new AppError("unavailable", `${keyPath} exists but the SAML certificate ${certPath} is missing. Restore it, or remove ${keyPath} to generate a new pair.`);
  const certPem = readFileSync(certPath, "utf8");
  let matches = false;
  try {
    const key = createPrivateKey(keyBytes);
    matches = key.asymmetricKeyType === "rsa" && new X509Certificate(certPem).checkPrivateKey(key);
  } catch {
    throw new AppError("unavailable", `${certPath} or ${keyPath} is not a PEM certificate / RSA private key. Replace them, or remove both to generate a new pair.`);
  }
  if (!matches) throw new AppError("unavailable", `The SAML signing key ${keyPath} is not an RSA key belonging to the certificate ${certPath}.`);
  return { certPem, keyPem: keyBytes.toString("utf8"), certPath, keyPath, created };
}
