import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createHmac, hkdfSync } from "node:crypto";
import { BLIND_INDEX_INFO_PREFIX, blindIndex, deriveIndexKey } from "./blind-index.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** HKDF-SHA256 written out from RFC 5869 §2 with HMAC only: an independent check of the node:crypto call. */
function referenceHkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const prk = createHmac("sha256", salt.length > 0 ? salt : new Uint8Array(32)).update(ikm).digest();
  const out: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; out.length * 32 < length; i++) {
    previous = createHmac("sha256", prk).update(previous).update(info).update(Uint8Array.of(i)).digest();
    out.push(previous);
  }
  return new Uint8Array(Buffer.concat(out).subarray(0, length));
}

const wellFormed = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => s.isWellFormed());
const purposeArb = fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).filter((s) => s.isWellFormed());

describe("blind index: key derivation", () => {
  test("the reference HKDF matches RFC 5869 test cases 1 and 3 (SHA-256)", () => {
    const ikm = unhex("0b".repeat(22));
    expect(hex(referenceHkdf(ikm, unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"), 42))).toBe(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );
    expect(hex(referenceHkdf(ikm, new Uint8Array(0), new Uint8Array(0), 42))).toBe(
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    );
    // node:crypto agrees on the same vectors.
    expect(hex(new Uint8Array(hkdfSync("sha256", ikm, new Uint8Array(0), new Uint8Array(0), 42)))).toBe(
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    );
  });

  test("deriveIndexKey is HKDF-SHA256(master, empty salt, 'conclave blind index v1 ' + purpose, 32)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 64 }), purposeArb, (master, purpose) => {
        const info = new TextEncoder().encode(BLIND_INDEX_INFO_PREFIX + purpose);
        expect(hex(deriveIndexKey(master, purpose))).toBe(hex(referenceHkdf(master, new Uint8Array(0), info, 32)));
      }),
    );
  });

  test("differs per purpose and per master key", () => {
    fc.assert(
      fc.property(purposeArb, purposeArb, (p, q) => {
        fc.pre(p !== q);
        const master = rand(32);
        expect(hex(deriveIndexKey(master, p))).not.toBe(hex(deriveIndexKey(master, q)));
        expect(hex(deriveIndexKey(master, p))).not.toBe(hex(deriveIndexKey(rand(32), p)));
      }),
    );
  });

  test("refuses a short master key and an empty or malformed purpose", () => {
    expect(() => deriveIndexKey(rand(31), "users.email")).toThrow(RangeError);
    expect(() => deriveIndexKey(rand(32), "")).toThrow(TypeError);
    expect(() => deriveIndexKey(rand(32), "users.\udc00")).toThrow(TypeError);
  });
});

describe("blind index: the index", () => {
  const key = deriveIndexKey(rand(32), "users.email");

  test("is 'b1:' + unpadded base64url of the full 32-byte HMAC-SHA256", () => {
    const index = blindIndex(key, "alice@example.com");
    expect(index).toMatch(/^b1:[A-Za-z0-9_-]{43}$/);
    const mac = createHmac("sha256", key).update("alice@example.com").digest("base64url");
    expect(index).toBe(`b1:${mac}`);
  });

  test("property: deterministic for one key and input, and different for different inputs", () => {
    fc.assert(
      fc.property(wellFormed, wellFormed, (a, b) => {
        expect(blindIndex(key, a)).toBe(blindIndex(key, a));
        expect(blindIndex(key, a) === blindIndex(key, b)).toBe(a === b);
      }),
    );
  });

  test("property: the same input gives different indexes under different purposes or master keys", () => {
    fc.assert(
      fc.property(wellFormed, (input) => {
        const master = rand(32);
        const email = blindIndex(deriveIndexKey(master, "users.email"), input);
        expect(blindIndex(deriveIndexKey(master, "contacts.email"), input)).not.toBe(email);
        expect(blindIndex(deriveIndexKey(rand(32), "users.email"), input)).not.toBe(email);
      }),
    );
  });

  test("is exact over its input: normalising (e.g. case) is the caller's job", () => {
    expect(blindIndex(key, "Alice@Example.com")).not.toBe(blindIndex(key, "alice@example.com"));
    expect(blindIndex(key, "e\u0301")).not.toBe(blindIndex(key, "\u00e9"));
  });

  test("refuses a key that is not 32 bytes and a malformed input", () => {
    expect(() => blindIndex(rand(16), "x")).toThrow(RangeError);
    expect(() => blindIndex(key, "\ud800")).toThrow(TypeError);
  });
});
