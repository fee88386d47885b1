import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeBinding } from "./binding.ts";
import { CryptoError, type CryptoErrorCode } from "./errors.ts";
import type { AadBinding, DekLookup, DekMaterial } from "./types.ts";
import { decodeText, encodeText, isSealedText, openValue, parseHeader, sealValue, VALUE_OVERHEAD_BYTES } from "./value-format.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

function newDek(version = 1): DekMaterial {
  return { id: rand(16), version, key: rand(32) };
}

/** Finds a DEK only by its exact id and version, as the real key service does. */
function strictLookup(...deks: DekMaterial[]): DekLookup {
  return (id, version) => deks.find((d) => hex(d.id) === hex(id) && d.version === version)?.key ?? null;
}

/** Returns the key whatever the header says: proves the header is authenticated, not just looked up. */
function lenientLookup(dek: DekMaterial): DekLookup {
  return () => dek.key;
}

function codeOf(fn: () => unknown): CryptoErrorCode | "no error" | "other error" {
  try {
    fn();
    return "no error";
  } catch (err) {
    return err instanceof CryptoError ? err.code : "other error";
  }
}

const row: AadBinding = { accountId: "acc_1", table: "users", column: "email", rowId: "usr_1" };

const fieldText = fc.string({ unit: "binary", minLength: 1, maxLength: 24 }).filter((s) => s.isWellFormed());
const bindingArb: fc.Arbitrary<AadBinding> = fc.record({ accountId: fieldText, table: fieldText, column: fieldText, rowId: fieldText });
const plaintextArb = fc.uint8Array({ minLength: 0, maxLength: 300 });
const FIELDS = ["accountId", "table", "column", "rowId"] as const;

describe("value format v1: layout", () => {
  test("is magic CV, version 1, DEK id, DEK version (BE), 12-byte nonce, ciphertext, 16-byte tag", () => {
    const dek = newDek(0x01020304);
    const plaintext = utf8("alice@example.com");
    const sealed = sealValue(dek, row, plaintext);
    expect(sealed.length).toBe(2 + 1 + 16 + 4 + 12 + plaintext.length + 16);
    expect(sealed.length).toBe(VALUE_OVERHEAD_BYTES + plaintext.length);
    expect(Array.from(sealed.subarray(0, 3))).toEqual([0x43, 0x56, 0x01]);
    expect(hex(sealed.subarray(3, 19))).toBe(hex(dek.id));
    expect(Array.from(sealed.subarray(19, 23))).toEqual([1, 2, 3, 4]);
    expect(hex(openValue(strictLookup(dek), row, sealed))).toBe(hex(plaintext));
  });

  test("draws a fresh nonce for every seal, so equal plaintexts give different ciphertexts", () => {
    const dek = newDek();
    const a = sealValue(dek, row, utf8("same"));
    const b = sealValue(dek, row, utf8("same"));
    expect(hex(a.subarray(23, 35))).not.toBe(hex(b.subarray(23, 35)));
    expect(hex(a)).not.toBe(hex(b));
  });

  test("parseHeader reads version, DEK id and version without a key", () => {
    const dek = newDek(0xffff_ffff);
    const header = parseHeader(sealValue(dek, row, utf8("x")));
    expect(header.version).toBe(1);
    expect(hex(header.dekId)).toBe(hex(dek.id));
    expect(header.dekVersion).toBe(0xffff_ffff);
  });

  test("parseHeader works on a subarray of a larger buffer (as read from a DB row)", () => {
    const dek = newDek(7);
    const sealed = sealValue(dek, row, utf8("x"));
    const big = new Uint8Array(sealed.length + 10);
    big.set(sealed, 5);
    const view = big.subarray(5, 5 + sealed.length);
    expect(parseHeader(view).dekVersion).toBe(7);
    expect(new TextDecoder().decode(openValue(strictLookup(dek), row, view))).toBe("x");
  });
});

describe("value format v1: errors", () => {
  const dek = newDek();
  const sealed = sealValue(dek, row, utf8("secret"));

  test("too short, bad magic and unknown version are 'format'", () => {
    expect(codeOf(() => openValue(strictLookup(dek), row, sealed.subarray(0, VALUE_OVERHEAD_BYTES - 1)))).toBe("format");
    expect(codeOf(() => parseHeader(new Uint8Array(0)))).toBe("format");
    for (const [at, value] of [[0, 0x44], [1, 0x53], [2, 0x02], [2, 0x00]] as const) {
      const bad = sealed.slice();
      bad[at] = value;
      expect(codeOf(() => openValue(lenientLookup(dek), row, bad))).toBe("format");
      expect(codeOf(() => parseHeader(bad))).toBe("format");
    }
  });

  test("a DEK the caller does not hold is 'unknown_key'", () => {
    expect(codeOf(() => openValue(strictLookup(newDek()), row, sealed))).toBe("unknown_key");
    expect(codeOf(() => openValue(() => null, row, sealed))).toBe("unknown_key");
  });

  test("another key under the same id is 'auth'", () => {
    expect(codeOf(() => openValue(() => rand(32), row, sealed))).toBe("auth");
  });

  test("a minimal sealed value of an empty plaintext opens to empty bytes", () => {
    const empty = sealValue(dek, row, new Uint8Array(0));
    expect(empty.length).toBe(VALUE_OVERHEAD_BYTES);
    expect(openValue(strictLookup(dek), row, empty).length).toBe(0);
  });

  test("misuse is a programmer error, not a CryptoError", () => {
    expect(() => sealValue({ ...dek, id: rand(15) }, row, utf8("x"))).toThrow(RangeError);
    expect(() => sealValue({ ...dek, key: rand(16) }, row, utf8("x"))).toThrow(RangeError);
    expect(() => sealValue({ ...dek, version: -1 }, row, utf8("x"))).toThrow(RangeError);
    expect(() => sealValue({ ...dek, version: 2 ** 32 }, row, utf8("x"))).toThrow(RangeError);
    expect(() => sealValue({ ...dek, version: 1.5 }, row, utf8("x"))).toThrow(RangeError);
    expect(() => sealValue(dek, { ...row, rowId: "" }, utf8("x"))).toThrow(TypeError);
    expect(() => sealValue(dek, { ...row, column: "bad\ud800" }, utf8("x"))).toThrow(TypeError);
    expect(() => openValue(() => rand(31), row, sealed)).toThrow(RangeError);
  });
});

describe("value format v1: the binding", () => {
  test("is encoded with length prefixes, so moving a boundary changes it", () => {
    const a = encodeBinding({ accountId: "acc", table: "a", column: "bc", rowId: "1" });
    const b = encodeBinding({ accountId: "acc", table: "ab", column: "c", rowId: "1" });
    expect(hex(a)).not.toBe(hex(b));
    expect(hex(encodeBinding({ accountId: "é", table: "t", column: "c", rowId: "r" }))).toBe(
      "00000002c3a9" + "0000000174" + "0000000163" + "0000000172",
    );
  });

  test("a value sealed for table 'a' column 'bc' does not open as table 'ab' column 'c'", () => {
    const dek = newDek();
    const sealed = sealValue(dek, { accountId: "acc", table: "a", column: "bc", rowId: "1" }, utf8("v"));
    expect(codeOf(() => openValue(strictLookup(dek), { accountId: "acc", table: "ab", column: "c", rowId: "1" }, sealed))).toBe("auth");
  });

  test("property: different bindings never share an encoding", () => {
    fc.assert(
      fc.property(bindingArb, bindingArb, (x, y) => {
        const same = FIELDS.every((f) => x[f] === y[f]);
        expect(hex(encodeBinding(x)) === hex(encodeBinding(y))).toBe(same);
      }),
    );
  });
});

describe("value format v1: properties", () => {
  test("round trip: any plaintext under any binding opens back to itself, in binary and text form", () => {
    fc.assert(
      fc.property(plaintextArb, bindingArb, fc.integer({ min: 0, max: 0xffff_ffff }), (plaintext, binding, version) => {
        const dek = newDek(version);
        const sealed = sealValue(dek, binding, plaintext);
        expect(hex(openValue(strictLookup(dek), binding, sealed))).toBe(hex(plaintext));
        const text = encodeText(sealed);
        expect(isSealedText(text)).toBe(true);
        expect(hex(decodeText(text))).toBe(hex(sealed));
      }),
    );
  });

  test("any single modified byte anywhere is refused: 'format' in magic/version, 'auth' elsewhere even when the lookup ignores the header", () => {
    fc.assert(
      fc.property(plaintextArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (plaintext, where, mask) => {
        const dek = newDek();
        const sealed = sealValue(dek, row, plaintext);
        const at = where % sealed.length;
        const bad = sealed.slice();
        bad[at] = (bad[at] ?? 0) ^ mask;
        expect(codeOf(() => openValue(lenientLookup(dek), row, bad))).toBe(at < 3 ? "format" : "auth");
        const strict = codeOf(() => openValue(strictLookup(dek), row, bad));
        expect(strict).toBe(at < 3 ? "format" : at < 23 ? "unknown_key" : "auth");
      }),
    );
  });

  test("removing or appending bytes is refused", () => {
    fc.assert(
      fc.property(plaintextArb, fc.integer({ min: 1, max: 40 }), fc.uint8Array({ minLength: 1, maxLength: 20 }), (plaintext, cut, extra) => {
        const dek = newDek();
        const sealed = sealValue(dek, row, plaintext);
        const shorter = sealed.subarray(0, Math.max(0, sealed.length - cut));
        expect(["format", "auth"]).toContain(codeOf(() => openValue(strictLookup(dek), row, shorter)));
        const longer = new Uint8Array(sealed.length + extra.length);
        longer.set(sealed);
        longer.set(extra, sealed.length);
        expect(codeOf(() => openValue(strictLookup(dek), row, longer))).toBe("auth");
      }),
    );
  });

  test("swapping the account, table, column or row id of the binding is 'auth'", () => {
    fc.assert(
      fc.property(bindingArb, fc.constantFrom(...FIELDS), fieldText, plaintextArb, (binding, field, other, plaintext) => {
        fc.pre(binding[field] !== other);
        const dek = newDek();
        const sealed = sealValue(dek, binding, plaintext);
        const moved = { ...binding, [field]: other };
        expect(codeOf(() => openValue(strictLookup(dek), moved, sealed))).toBe("auth");
      }),
    );
  });

  test("a value copied between two rows, columns or tenants sealed under the same DEK does not open there", () => {
    const dek = newDek();
    const lookup = strictLookup(dek);
    const places: AadBinding[] = [
      row,
      { ...row, rowId: "usr_2" },
      { ...row, column: "display_name" },
      { ...row, table: "contacts" },
      { ...row, accountId: "acc_2" },
    ];
    const sealed = places.map((p) => sealValue(dek, p, utf8(`value for ${p.accountId}/${p.table}/${p.column}/${p.rowId}`)));
    places.forEach((target, i) => {
      sealed.forEach((value, j) => {
        expect(codeOf(() => openValue(lookup, target, value))).toBe(i === j ? "no error" : "auth");
      });
    });
  });

  test("a value sealed under one DEK does not open under another DEK's key given the same header", () => {
    fc.assert(
      fc.property(plaintextArb, (plaintext) => {
        const a = newDek();
        const b = newDek();
        const sealed = sealValue(a, row, plaintext);
        expect(codeOf(() => openValue(lenientLookup(b), row, sealed))).toBe("auth");
      }),
    );
  });
});

describe("value format v1: text form", () => {
  const dek = newDek();
  const sealed = sealValue(dek, row, utf8("x"));
  const text = encodeText(sealed);

  test("is 'c1:' and unpadded base64url", () => {
    expect(text).toMatch(/^c1:[A-Za-z0-9_-]+$/);
    expect(text.length).toBe(3 + Math.ceil((sealed.length * 4) / 3));
    expect(isSealedText("alice@example.com")).toBe(false);
  });

  test("decodeText refuses anything but canonical unpadded base64url after 'c1:'", () => {
    const body = text.slice(3);
    const cases = [
      body, // no prefix
      "c2:" + body,
      "c1:" + body + "=",
      "c1:" + body.replace(/^./, "+"),
      "c1:" + "A".repeat(5), // a length of 1 mod 4 encodes no whole number of bytes
      "c1:QR", // "QQ" is the canonical form of 0x41; "QR" sets unused bits
      "c1: " + body,
    ];
    for (const bad of cases) expect(codeOf(() => decodeText(bad))).toBe("format");
    expect(hex(decodeText("c1:QQ"))).toBe("41");
    expect(decodeText("c1:").length).toBe(0);
  });
});
