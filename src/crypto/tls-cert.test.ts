import { afterEach, describe, expect, test } from "bun:test";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../shared/errors.ts";
import { ensureTlsFiles, generateSelfSignedCert, type SelfSignedCertOptions } from "./tls-cert.ts";

const opts: SelfSignedCertOptions = { commonName: "conclave.test", dnsNames: ["localhost", "conclave.test"], ipAddresses: ["127.0.0.1", "::1"], days: 30 };
const hasOpenssl = Bun.which("openssl") !== null;

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "conclave-tls-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("generateSelfSignedCert", () => {
  const now = new Date(Date.UTC(2026, 0, 1, 12, 0, 0));
  const { certPem, keyPem } = generateSelfSignedCert({ ...opts, now });
  const cert = new X509Certificate(certPem);

  test("issues a self-signed v3 certificate for the common name", () => {
    expect(cert.subject).toBe("CN=conclave.test");
    expect(cert.issuer).toBe("CN=conclave.test");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.serialNumber).toMatch(/^[0-9A-F]{30,34}$/);
  });

  test("lists every DNS name and IPv4/IPv6 address in subjectAltName", () => {
    const san = cert.subjectAltName ?? "";
    expect(san).toContain("DNS:localhost");
    expect(san).toContain("DNS:conclave.test");
    expect(san).toContain("IP Address:127.0.0.1");
    expect(san).toMatch(/IP Address:(::1|0:0:0:0:0:0:0:1)\b/);
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkIP("::1")).toBe("::1");
  });

  test("uses a P-256 key that matches the returned private key", () => {
    const key = createPrivateKey(keyPem);
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(key.asymmetricKeyType).toBe("ec");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(keyPem).toStartWith("-----BEGIN PRIVATE KEY-----");
  });

  test("is valid from an hour before now for the given number of days", () => {
    expect(cert.validFromDate.getTime()).toBe(now.getTime() - 3_600_000);
    expect(cert.validToDate.getTime()).toBe(now.getTime() + 30 * 86_400_000);
  });

  test("gives each certificate a fresh key and serial", () => {
    const other = new X509Certificate(generateSelfSignedCert(opts).certPem);
    expect(other.serialNumber).not.toBe(cert.serialNumber);
    expect(other.publicKey.equals(cert.publicKey)).toBe(false);
  });

  test("refuses bad names and lifetimes with a readable error", () => {
    const bad: Partial<SelfSignedCertOptions>[] = [
      { commonName: "" },
      { days: 0 },
      { days: Number.NaN },
      { dnsNames: ["bad name"] },
      { dnsNames: ["bücher.example"] },
      { ipAddresses: ["300.1.1.1"] },
      { dnsNames: [], ipAddresses: [] },
    ];
    for (const b of bad) {
      expect(() => generateSelfSignedCert({ ...opts, ...b })).toThrow(AppError);
    }
  });

  test("serves HTTPS from Bun.serve", async () => {
    using server = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { cert: certPem, key: keyPem }, fetch: () => new Response("ok") });
    const fresh = generateSelfSignedCert(opts);
    using strict = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { cert: fresh.certPem, key: fresh.keyPem }, fetch: () => new Response("verified") });
    const res = await fetch(`https://127.0.0.1:${server.port}/`, { tls: { rejectUnauthorized: false } });
    expect(await res.text()).toBe("ok");
    // Trusting the certificate as its own CA also checks the IP SAN against the URL.
    const verified = await fetch(`https://127.0.0.1:${strict.port}/`, { tls: { ca: fresh.certPem } });
    expect(await verified.text()).toBe("verified");
    // …and the check is real: another certificate as CA is rejected.
    await expect(fetch(`https://127.0.0.1:${strict.port}/`, { tls: { ca: certPem } })).rejects.toThrow();
  });

  test.skipIf(!hasOpenssl)("parses with openssl and re-encodes to the same DER", () => {
    const dir = tempDir();
    const file = join(dir, "cert.pem");
    writeFileSync(file, certPem);
    const text = Bun.spawnSync(["openssl", "x509", "-noout", "-text", "-in", file]);
    expect(text.exitCode).toBe(0);
    const out = text.stdout.toString();
    expect(out).toContain("Version: 3 (0x2)");
    expect(out).toContain("Signature Algorithm: ecdsa-with-SHA256");
    expect(out).toContain("ASN1 OID: prime256v1");
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(out).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(out).toContain("X509v3 Subject Key Identifier");
    expect(out).toMatch(/DNS:localhost, DNS:conclave.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
    const der = Bun.spawnSync(["openssl", "x509", "-outform", "DER", "-in", file]);
    expect(der.exitCode).toBe(0);
    expect(Buffer.from(der.stdout).equals(Buffer.from(cert.raw))).toBe(true);
  });
});

describe("ensureTlsFiles", () => {
  test("creates tls/cert.pem and key.pem (key 0600, dir 0700), then reuses them", () => {
    const data = tempDir();
    const first = ensureTlsFiles(data, opts);
    expect(first.created).toBe(true);
    expect(first.certPath).toBe(join(data, "tls", "cert.pem"));
    expect(first.keyPath).toBe(join(data, "tls", "key.pem"));
    expect(statSync(first.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(data, "tls")).mode & 0o777).toBe(0o700);
    const cert = readFileSync(first.certPath);
    const key = readFileSync(first.keyPath);
    expect(new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))).toBe(true);

    const second = ensureTlsFiles(data, opts);
    expect(second.created).toBe(false);
    expect(second.notAfter.getTime()).toBe(first.notAfter.getTime());
    expect(readFileSync(first.certPath).equals(cert)).toBe(true);
    expect(readFileSync(first.keyPath).equals(key)).toBe(true);
  });

  test("refuses a private key readable by others and says how to fix it", () => {
    const data = tempDir();
    const { keyPath } = ensureTlsFiles(data, opts);
    chmodSync(keyPath, 0o644);
    expect(() => ensureTlsFiles(data, opts)).toThrow(`chmod 600 ${keyPath}`);
  });

  test("refuses a damaged certificate without touching either file", () => {
    const data = tempDir();
    const { certPath, keyPath } = ensureTlsFiles(data, opts);
    writeFileSync(certPath, "garbage");
    const key = readFileSync(keyPath);
    expect(() => ensureTlsFiles(data, opts)).toThrow("is not a PEM certificate");
    expect(readFileSync(certPath, "utf8")).toBe("garbage");
    expect(readFileSync(keyPath).equals(key)).toBe(true);
  });

  test("refuses a key that does not match the certificate", () => {
    const data = tempDir();
    const { keyPath } = ensureTlsFiles(data, opts);
    writeFileSync(keyPath, generateSelfSignedCert(opts).keyPem);
    expect(() => ensureTlsFiles(data, opts)).toThrow("does not belong");
  });

  test("refuses a certificate whose key is missing instead of replacing it", () => {
    const data = tempDir();
    mkdirSync(join(data, "tls"));
    writeFileSync(join(data, "tls", "cert.pem"), "kept");
    expect(() => ensureTlsFiles(data, opts)).toThrow("is missing");
    expect(readFileSync(join(data, "tls", "cert.pem"), "utf8")).toBe("kept");
  });
});
