import { describe, expect, test } from "bun:test";
import { Secret } from "otpauth";
import { newTotpSecret, otpauthUri, totpCode, verifyTotp, type TotpAlgorithm } from "./totp.ts";

// RFC 6238 Appendix B: seeds are the ASCII strings below, 8-digit codes.
const SEEDS: Record<TotpAlgorithm, string> = {
  SHA1: "12345678901234567890",
  SHA256: "12345678901234567890123456789012",
  SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
};
const VECTORS: [number, string, TotpAlgorithm][] = [
  [59, "94287082", "SHA1"], [59, "46119246", "SHA256"], [59, "90693936", "SHA512"],
  [1111111109, "07081804", "SHA1"], [1111111109, "68084774", "SHA256"], [1111111109, "25091201", "SHA512"],
  [1111111111, "14050471", "SHA1"], [1111111111, "67062674", "SHA256"], [1111111111, "99943326", "SHA512"],
  [1234567890, "89005924", "SHA1"], [1234567890, "91819424", "SHA256"], [1234567890, "93441116", "SHA512"],
  [2000000000, "69279037", "SHA1"], [2000000000, "90698825", "SHA256"], [2000000000, "38618901", "SHA512"],
  [20000000000, "65353130", "SHA1"], [20000000000, "77737706", "SHA256"], [20000000000, "47863826", "SHA512"],
];

describe("TOTP (RFC 6238)", () => {
  for (const [t, code, alg] of VECTORS) {
    test(`T=${t} ${alg} → ${code}`, () => {
      expect(totpCode(Secret.fromLatin1(SEEDS[alg]), t * 1000, { digits: 8, algorithm: alg })).toBe(code);
    });
  }

  const secret = newTotpSecret();
  const t0 = 1_800_000_000_000;

  test("accepts the current code and one step of drift either side", () => {
    expect(verifyTotp(secret, totpCode(secret, t0), t0, null).ok).toBe(true);
    expect(verifyTotp(secret, totpCode(secret, t0 - 30_000), t0, null).ok).toBe(true);
    expect(verifyTotp(secret, totpCode(secret, t0 + 30_000), t0, null).ok).toBe(true);
    expect(verifyTotp(secret, totpCode(secret, t0 - 90_000), t0, null)).toEqual({ ok: false, reason: "invalid" });
  });

  test("a code cannot be replayed: same step twice is refused", () => {
    const first = verifyTotp(secret, totpCode(secret, t0), t0, null);
    expect(first.ok).toBe(true);
    const step = first.ok ? first.step : -1;
    expect(verifyTotp(secret, totpCode(secret, t0), t0 + 5_000, step)).toEqual({ ok: false, reason: "replayed" });
    // An older code (previous step) is refused too once a newer step was used.
    expect(verifyTotp(secret, totpCode(secret, t0 - 30_000), t0, step)).toEqual({ ok: false, reason: "replayed" });
    expect(verifyTotp(secret, totpCode(secret, t0 + 30_000), t0 + 30_000, step).ok).toBe(true);
  });

  test("refuses malformed codes", () => {
    for (const bad of ["", "12345", "1234567", "abcdef", "12 34 5x"]) expect(verifyTotp(secret, bad, t0, null).ok).toBe(false);
  });

  test("otpauth URI names issuer and account", () => {
    const uri = otpauthUri(secret, "Conclave (Acme)", "alice@example.org");
    expect(uri.startsWith("otpauth://totp/")).toBe(true);
    expect(uri).toContain(`secret=${secret}`);
    expect(uri).toContain("issuer=Conclave");
  });
});
