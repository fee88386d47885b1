import { afterEach, describe, expect, test } from "bun:test";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../shared/errors.ts";
import { ensureSamlSpKeys, generateRsaSigningCert } from "./saml-sp-cert.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "conclave-saml-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("generateRsaSigningCert", () => {
  test("issues a self-signed sha256WithRSAEncryption certificate for an RSA 2048 key", () => {
    const now = new Date(Date.UTC(2026, 0, 1));
    const { certPem, keyPem } = generateRsaSigningCert({ commonName: "Conclave SAML SP", days: 3650, now });
    const cert = new X509Certificate(certPem);
    expect(cert.subject).toBe("CN=Conclave SAML SP");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyType).toBe("rsa");
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(cert.validToDate.getTime()).toBe(now.getTime() + 3650 * 86_400_000);
    expect(cert.ca).toBe(false);
  });

  test("refuses a bad common name or lifetime", () => {
    expect(() => generateRsaSigningCert({ commonName: "", days: 1 })).toThrow(AppError);
    expect(() => generateRsaSigningCert({ commonName: "x", days: 0 })).toThrow(AppError);
  });
});

describe("ensureSamlSpKeys", () => {
  test("creates <dataDir>/saml/sp-key.pem (0600) and sp-cert.pem once, then reuses them", () => {
    const dir = tempDir();
    const first = ensureSamlSpKeys(dir);
    expect(first.created).toBe(true);
    expect(first.keyPath).toBe(join(dir, "saml", "sp-key.pem"));
    expect(statSync(first.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "saml")).mode & 0o777).toBe(0o700);
    const again = ensureSamlSpKeys(dir);
    expect(again.created).toBe(false);
    expect(again.certPem).toBe(first.certPem);
    expect(again.keyPem).toBe(first.keyPem);
  });

  test("refuses a key readable by others, and a key that does not match the certificate", () => {
    const dir = tempDir();
    const k = ensureSamlSpKeys(dir);
    chmodSync(k.keyPath, 0o644);
    expect(() => ensureSamlSpKeys(dir)).toThrow(/readable or writable by group or others/);
    chmodSync(k.keyPath, 0o600);
    writeFileSync(k.certPath, generateRsaSigningCert({ commonName: "other", days: 1 }).certPem);
    expect(() => ensureSamlSpKeys(dir)).toThrow(/not an RSA key belonging to the certificate/);
  });

  test("reports a certificate without its key instead of replacing it", () => {
    const dir = tempDir();
    const k = ensureSamlSpKeys(dir);
    rmSync(k.keyPath);
    expect(() => ensureSamlSpKeys(dir)).toThrow(/signing key .* is missing/);
  });
});
