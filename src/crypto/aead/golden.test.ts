// Golden ciphertexts: fixtures/golden-v1.json was written once by fixtures/make-golden.ts and is
// frozen. Every release must open these bytes; if this test fails, data at rest is broken.
// Never regenerate the file to make this test pass.
import { describe, expect, test } from "bun:test";
import { blindIndex, deriveIndexKey } from "./blind-index.ts";
import { createChunkOpener } from "./chunked-format.ts";
import { CryptoError } from "./errors.ts";
import golden from "./fixtures/golden-v1.json";
import type { DekLookup } from "./types.ts";
import { decodeText, openValue, parseHeader } from "./value-format.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

const lookup: DekLookup = (id, version) => {
  const dek = golden.deks.find((d) => d.idHex === hex(id) && d.version === version);
  return dek ? unhex(dek.keyHex) : null;
};

describe("golden v1: single values", () => {
  test("the file holds values, streams and blind indexes", () => {
    expect(golden.values.length).toBeGreaterThanOrEqual(5);
    expect(golden.streams.length).toBeGreaterThanOrEqual(5);
    expect(golden.blindIndex.cases.length).toBeGreaterThanOrEqual(5);
  });

  for (const v of golden.values) {
    test(`${v.name}: opens from the binary and the text form, and the header names its DEK`, () => {
      const sealed = unhex(v.sealedHex);
      expect(hex(decodeText(v.text))).toBe(v.sealedHex);
      expect(hex(openValue(lookup, v.binding, sealed))).toBe(v.plaintextHex);
      expect(hex(openValue(lookup, v.binding, decodeText(v.text)))).toBe(v.plaintextHex);
      const dek = golden.deks[v.dek];
      const header = parseHeader(sealed);
      expect(header.version).toBe(1);
      expect(hex(header.dekId)).toBe(dek?.idHex ?? "");
      expect(header.dekVersion).toBe(dek?.version ?? -1);
      expect(() => openValue(lookup, { ...v.binding, rowId: `${v.binding.rowId}x` }, sealed)).toThrow(CryptoError);
    });
  }
});

describe("golden v1: chunked streams", () => {
  for (const s of golden.streams) {
    test(`${s.name}: opens whole and in 7-byte pieces, with the recorded chunk size and count`, () => {
      const sealed = unhex(s.sealedHex);
      expect(new DataView(sealed.buffer).getUint32(31)).toBe(s.chunkSize);
      const whole = createChunkOpener(lookup, s.binding);
      const chunks = [...whole.push(sealed), ...whole.finish()];
      expect(chunks.length).toBe(s.chunkCount);
      expect(hex(Buffer.concat(chunks))).toBe(s.plaintextHex);
      const piecewise = createChunkOpener(lookup, s.binding);
      const out: Uint8Array[] = [];
      for (let at = 0; at < sealed.length; at += 7) out.push(...piecewise.push(sealed.subarray(at, at + 7)));
      out.push(...piecewise.finish());
      expect(hex(Buffer.concat(out))).toBe(s.plaintextHex);
    });
  }
});

describe("golden v1: blind indexes", () => {
  const master = unhex(golden.blindIndex.masterHex);
  for (const c of golden.blindIndex.cases) {
    test(`${c.purpose} of ${JSON.stringify(c.input)}: same key and index as when generated`, () => {
      const key = deriveIndexKey(master, c.purpose);
      expect(hex(key)).toBe(c.indexKeyHex);
      expect(blindIndex(key, c.input)).toBe(c.index);
    });
  }
});
