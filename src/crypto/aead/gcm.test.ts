import { describe, expect, test } from "bun:test";
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, gcmOpen, gcmSeal } from "./gcm.ts";
import spec from "./fixtures/gcm-spec-aes256.json";
import wycheproof from "./fixtures/wycheproof-aes256-gcm.json";

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("AES-256-GCM: Project Wycheproof aes_gcm_test.json (keySize 256, ivSize 96, tagSize 128)", () => {
  test("the fixture holds only groups of the parameters the formats use", () => {
    expect(wycheproof.testGroups.length).toBeGreaterThan(0);
    for (const group of wycheproof.testGroups) {
      expect([group.keySize, group.ivSize, group.tagSize]).toEqual([256, GCM_NONCE_BYTES * 8, GCM_TAG_BYTES * 8]);
    }
    const count = wycheproof.testGroups.reduce((n, g) => n + g.tests.length, 0);
    expect(count).toBe(wycheproof.numberOfTests);
  });

  for (const group of wycheproof.testGroups) {
    for (const t of group.tests) {
      const label = `tcId ${t.tcId} (${t.result}${t.comment ? `, ${t.comment}` : ""}; ${t.flags.join(", ")})`;
      const key = unhex(t.key);
      const iv = unhex(t.iv);
      const aad = unhex(t.aad);
      const sealed = unhex(t.ct + t.tag);
      if (t.result === "valid") {
        test(`${label}: seals to ct‖tag and opens back`, () => {
          expect(hex(gcmSeal(key, iv, aad, unhex(t.msg)))).toBe(t.ct + t.tag);
          const opened = gcmOpen(key, iv, aad, sealed);
          expect(opened === null ? null : hex(opened)).toBe(t.msg);
        });
      } else {
        test(`${label}: is refused`, () => {
          expect(gcmOpen(key, iv, aad, sealed)).toBeNull();
        });
      }
    }
  }
});

describe("AES-256-GCM: GCM specification test cases 13-16 (NIST SP 800-38D)", () => {
  for (const t of spec.tests) {
    test(`${t.name}: seals to ct‖tag, opens back, and a changed tag is refused`, () => {
      const key = unhex(t.key);
      const iv = unhex(t.iv);
      const aad = unhex(t.aad);
      expect(hex(gcmSeal(key, iv, aad, unhex(t.pt)))).toBe(t.ct + t.tag);
      const sealed = unhex(t.ct + t.tag);
      const opened = gcmOpen(key, iv, aad, sealed);
      expect(opened === null ? null : hex(opened)).toBe(t.pt);
      const last = sealed.length - 1;
      sealed[last] = (sealed[last] ?? 0) ^ 0x01;
      expect(gcmOpen(key, iv, aad, sealed)).toBeNull();
    });
  }
});

describe("AES-256-GCM helpers: misuse", () => {
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  test("refuse keys that are not 32 bytes and nonces that are not 12 bytes", () => {
    expect(() => gcmSeal(new Uint8Array(16), nonce, new Uint8Array(0), new Uint8Array(1))).toThrow(RangeError);
    expect(() => gcmSeal(key, new Uint8Array(16), new Uint8Array(0), new Uint8Array(1))).toThrow(RangeError);
    expect(() => gcmOpen(new Uint8Array(24), nonce, new Uint8Array(0), new Uint8Array(16))).toThrow(RangeError);
  });
  test("open returns null for input shorter than a tag", () => {
    expect(gcmOpen(key, nonce, new Uint8Array(0), new Uint8Array(15))).toBeNull();
  });
});
