import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  CHUNK_OVERHEAD_BYTES,
  CHUNKED_HEADER_BYTES,
  createChunkOpener,
  createChunkSealer,
  DEFAULT_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  openStream,
  sealStream,
} from "./chunked-format.ts";
import { CryptoError, type CryptoErrorCode } from "./errors.ts";
import type { AadBinding, DekLookup, DekMaterial } from "./types.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const rand = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
const concat = (parts: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

const newDek = (version = 1): DekMaterial => ({ id: rand(16), version, key: rand(32) });
const strictLookup =
  (...deks: DekMaterial[]): DekLookup =>
  (id, version) =>
    deks.find((d) => hex(d.id) === hex(id) && d.version === version)?.key ?? null;
const lenientLookup =
  (dek: DekMaterial): DekLookup =>
  () =>
    dek.key;

const rec: AadBinding = { accountId: "acc_1", table: "recordings", column: "content", rowId: "rec_1" };

/** Seals in one push; returns the whole stream. */
function seal(dek: DekMaterial, plaintext: Uint8Array, chunkSize: number, binding: AadBinding = rec): Uint8Array {
  const sealer = createChunkSealer(dek, binding, { chunkSize });
  return concat([...sealer.push(plaintext), ...sealer.finish()]);
}

/** Opens in one push; returns the plaintext. */
function open(lookup: DekLookup, stream: Uint8Array, binding: AadBinding = rec): Uint8Array {
  const opener = createChunkOpener(lookup, binding);
  return concat([...opener.push(stream), ...opener.finish()]);
}

function codeOf(fn: () => unknown): CryptoErrorCode | "no error" | "other error" {
  try {
    fn();
    return "no error";
  } catch (err) {
    return err instanceof CryptoError ? err.code : "other error";
  }
}

/** Splits a sealed stream into its header and its sealed chunks (nonce‖ciphertext‖tag), by the declared chunk size. */
function split(stream: Uint8Array, chunkSize: number): { header: Uint8Array; chunks: Uint8Array[] } {
  const header = stream.subarray(0, CHUNKED_HEADER_BYTES);
  const chunks: Uint8Array[] = [];
  const full = CHUNK_OVERHEAD_BYTES + chunkSize;
  let at = CHUNKED_HEADER_BYTES;
  while (stream.length - at > full) {
    chunks.push(stream.subarray(at, at + full));
    at += full;
  }
  chunks.push(stream.subarray(at));
  return { header, chunks };
}

const join = (header: Uint8Array, chunks: readonly Uint8Array[]): Uint8Array => concat([header, ...chunks]);

/** Cuts bytes into pieces at the given (sorted, deduplicated) positions. */
function pieces(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

const dataArb = fc.uint8Array({ minLength: 0, maxLength: 300 });
const chunkSizeArb = fc.integer({ min: 1, max: 40 });
/** Streams with at least two chunks, for reordering and dropping. */
const multiArb = fc
  .tuple(chunkSizeArb, fc.integer({ min: 2, max: 8 }), fc.nat())
  .map(([chunkSize, chunks, extra]) => ({ chunkSize, data: rand((chunks - 1) * chunkSize + 1 + (extra % chunkSize)) }));

describe("chunked format v1: layout", () => {
  test("the header is magic CS, version 1, DEK id, DEK version, 8-byte stream id, chunk size (BE)", () => {
    const dek = newDek(0x0a0b0c0d);
    const stream = seal(dek, rand(100), 0x30);
    expect(Array.from(stream.subarray(0, 3))).toEqual([0x43, 0x53, 0x01]);
    expect(hex(stream.subarray(3, 19))).toBe(hex(dek.id));
    expect(Array.from(stream.subarray(19, 23))).toEqual([0x0a, 0x0b, 0x0c, 0x0d]);
    expect(Array.from(stream.subarray(31, 35))).toEqual([0, 0, 0, 0x30]);
    expect(CHUNKED_HEADER_BYTES).toBe(35);
    const other = seal(dek, rand(100), 0x30);
    expect(hex(stream.subarray(23, 31))).not.toBe(hex(other.subarray(23, 31)));
  });

  test("every chunk but the last holds exactly chunkSize bytes; the last holds the rest (1..chunkSize)", () => {
    fc.assert(
      fc.property(dataArb, chunkSizeArb, (data, chunkSize) => {
        const stream = seal(newDek(), data, chunkSize);
        const { chunks } = split(stream, chunkSize);
        const expected = Math.max(1, Math.ceil(data.length / chunkSize));
        expect(chunks.length).toBe(expected);
        expect(stream.length).toBe(CHUNKED_HEADER_BYTES + expected * CHUNK_OVERHEAD_BYTES + data.length);
        const last = chunks.at(-1)?.length ?? 0;
        expect(last - CHUNK_OVERHEAD_BYTES).toBe(data.length === 0 ? 0 : data.length - (expected - 1) * chunkSize);
      }),
    );
  });

  test("empty input is a header and one empty final chunk", () => {
    const dek = newDek();
    const stream = seal(dek, new Uint8Array(0), 16);
    expect(stream.length).toBe(CHUNKED_HEADER_BYTES + CHUNK_OVERHEAD_BYTES);
    expect(open(strictLookup(dek), stream).length).toBe(0);
  });

  test("the default chunk size is 64 KiB and the sealer counts one GCM invocation per chunk", () => {
    const sealer = createChunkSealer(newDek(), rec);
    const out = [...sealer.push(rand(DEFAULT_CHUNK_SIZE * 2 + 5)), ...sealer.finish()];
    expect(new DataView(out[0]?.buffer ?? new ArrayBuffer(0)).getUint32(31)).toBe(64 * 1024);
    expect(sealer.chunkCount).toBe(3);
  });
});

describe("chunked format v1: streaming in bounded memory", () => {
  test("the sealer emits full chunks as soon as it knows more data follows", () => {
    const sealer = createChunkSealer(newDek(), rec, { chunkSize: 10 });
    const first = sealer.push(rand(35));
    expect(first.map((p) => p.length)).toEqual([CHUNKED_HEADER_BYTES, 38, 38, 38]);
    expect(sealer.push(rand(4))).toEqual([]); // 9 bytes held back: may be the final chunk
    expect(sealer.finish().map((p) => p.length)).toEqual([28 + 9]);
    expect(() => sealer.push(rand(1))).toThrow();
    expect(() => sealer.finish()).toThrow();
  });

  test("the opener returns each chunk's plaintext once a later byte proves it is not the final one", () => {
    const dek = newDek();
    const data = rand(50);
    const stream = seal(dek, data, 10);
    const opener = createChunkOpener(strictLookup(dek), rec);
    expect(opener.push(stream.subarray(0, CHUNKED_HEADER_BYTES + 3 * 38))).toHaveLength(2);
    const next = opener.push(stream.subarray(CHUNKED_HEADER_BYTES + 3 * 38, CHUNKED_HEADER_BYTES + 3 * 38 + 1));
    expect(next).toHaveLength(1);
    const rest = [...opener.push(stream.subarray(CHUNKED_HEADER_BYTES + 3 * 38 + 1)), ...opener.finish()];
    expect(rest.map((p) => p.length)).toEqual([10, 10]);
    expect(() => opener.finish()).toThrow();
  });

  test("property: any split of the input and of the stream round-trips", () => {
    fc.assert(
      fc.property(dataArb, chunkSizeArb, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (data, chunkSize, sealCuts, openCuts) => {
        const dek = newDek();
        const sealer = createChunkSealer(dek, rec, { chunkSize });
        const stream = concat([...pieces(data, sealCuts).flatMap((p) => sealer.push(p)), ...sealer.finish()]);
        const opener = createChunkOpener(strictLookup(dek), rec);
        const out = concat([...pieces(stream, openCuts).flatMap((p) => opener.push(p)), ...opener.finish()]);
        expect(hex(out)).toBe(hex(data));
      }),
    );
  });

  test("sealStream and openStream pipe async sources", async () => {
    const dek = newDek();
    const data = rand(1000);
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < data.length; at += 77) yield data.subarray(at, at + 77);
    }
    const sealed: Uint8Array[] = [];
    for await (const part of sealStream(dek, rec, source(), { chunkSize: 64 })) sealed.push(part);
    const opened: Uint8Array[] = [];
    for await (const part of openStream(strictLookup(dek), rec, sealed)) opened.push(part);
    expect(hex(concat(opened))).toBe(hex(data));
    expect(opened.every((p) => p.length <= 64)).toBe(true);

    const truncated = sealed.slice(0, -1);
    const drain = async (): Promise<void> => {
      for await (const _ of openStream(strictLookup(dek), rec, truncated)) void _;
    };
    await expect(drain()).rejects.toMatchObject({ code: "truncated" });
  });
});

describe("chunked format v1: refusals", () => {
  const dek = newDek();
  const stream = seal(dek, rand(45), 10);

  test("bad magic, unknown version and an impossible chunk size are 'format'", () => {
    for (const [at, value] of [[0, 0x00], [1, 0x56], [2, 0x02]] as const) {
      const bad = stream.slice();
      bad[at] = value;
      expect(codeOf(() => open(lenientLookup(dek), bad))).toBe("format");
    }
    const zero = stream.slice();
    zero.set([0, 0, 0, 0], 31);
    expect(codeOf(() => open(lenientLookup(dek), zero))).toBe("format");
    const huge = stream.slice();
    new DataView(huge.buffer).setUint32(31, MAX_CHUNK_SIZE + 1);
    expect(codeOf(() => open(lenientLookup(dek), huge))).toBe("format");
  });

  test("a DEK the caller does not hold is 'unknown_key'", () => {
    expect(codeOf(() => open(strictLookup(newDek()), stream))).toBe("unknown_key");
  });

  test("another account, table, column or row is 'auth'", () => {
    for (const binding of [
      { ...rec, accountId: "acc_2" },
      { ...rec, table: "uploads" },
      { ...rec, column: "thumbnail" },
      { ...rec, rowId: "rec_2" },
    ]) {
      expect(codeOf(() => open(strictLookup(dek), stream, binding))).toBe("auth");
    }
  });

  test("a stream that ends inside the header, after the header, or before the final chunk is 'truncated'", () => {
    for (const end of [0, 1, CHUNKED_HEADER_BYTES - 1, CHUNKED_HEADER_BYTES, CHUNKED_HEADER_BYTES + 27]) {
      expect(codeOf(() => open(strictLookup(dek), stream.subarray(0, end)))).toBe("truncated");
    }
    const { header, chunks } = split(stream, 10);
    for (let k = 1; k < chunks.length; k++) {
      expect(codeOf(() => open(strictLookup(dek), join(header, chunks.slice(0, k))))).toBe("truncated");
    }
  });

  test("misuse is a programmer error", () => {
    expect(() => createChunkSealer(dek, rec, { chunkSize: 0 })).toThrow(RangeError);
    expect(() => createChunkSealer(dek, rec, { chunkSize: MAX_CHUNK_SIZE + 1 })).toThrow(RangeError);
    expect(() => createChunkSealer(dek, rec, { chunkSize: 1.5 })).toThrow(RangeError);
    expect(() => createChunkSealer({ ...dek, key: rand(31) }, rec)).toThrow(RangeError);
    expect(() => createChunkOpener(strictLookup(dek), { ...rec, rowId: "" })).toThrow(TypeError);
  });
});

describe("chunked format v1: tampering properties", () => {
  test("round trip: any data, any chunk size", () => {
    fc.assert(
      fc.property(dataArb, chunkSizeArb, (data, chunkSize) => {
        const dek = newDek();
        expect(hex(open(strictLookup(dek), seal(dek, data, chunkSize)))).toBe(hex(data));
      }),
    );
  });

  test("reordering two chunks is 'auth'", () => {
    fc.assert(
      fc.property(multiArb, fc.nat(), fc.nat(), ({ chunkSize, data }, a, b) => {
        const dek = newDek();
        const { header, chunks } = split(seal(dek, data, chunkSize), chunkSize);
        const i = a % chunks.length;
        const j = b % chunks.length;
        fc.pre(i !== j);
        const swapped = chunks.slice();
        [swapped[i], swapped[j]] = [chunks[j] ?? new Uint8Array(0), chunks[i] ?? new Uint8Array(0)];
        expect(codeOf(() => open(strictLookup(dek), join(header, swapped)))).toBe("auth");
      }),
    );
  });

  test("dropping a chunk is 'auth', or 'truncated' when it is the final one", () => {
    fc.assert(
      fc.property(multiArb, fc.nat(), ({ chunkSize, data }, a) => {
        const dek = newDek();
        const { header, chunks } = split(seal(dek, data, chunkSize), chunkSize);
        const i = a % chunks.length;
        const dropped = chunks.filter((_, k) => k !== i);
        expect(codeOf(() => open(strictLookup(dek), join(header, dropped)))).toBe(i === chunks.length - 1 ? "truncated" : "auth");
      }),
    );
  });

  test("duplicating a chunk anywhere is 'auth'", () => {
    fc.assert(
      fc.property(dataArb, chunkSizeArb, fc.nat(), fc.nat(), (data, chunkSize, a, b) => {
        const dek = newDek();
        const { header, chunks } = split(seal(dek, data, chunkSize), chunkSize);
        const copy = chunks[a % chunks.length] ?? new Uint8Array(0);
        const at = b % (chunks.length + 1);
        const duplicated = [...chunks.slice(0, at), copy, ...chunks.slice(at)];
        expect(codeOf(() => open(strictLookup(dek), join(header, duplicated)))).toBe("auth");
      }),
    );
  });

  test("appending a chunk after the final one is 'auth' (a copy, another stream's chunk, or raw bytes)", () => {
    fc.assert(
      fc.property(dataArb, chunkSizeArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 60 }), (data, chunkSize, a, raw) => {
        const dek = newDek();
        const stream = seal(dek, data, chunkSize);
        const { header, chunks } = split(stream, chunkSize);
        const other = split(seal(dek, rand(3 * chunkSize), chunkSize), chunkSize).chunks;
        const extras = [chunks[a % chunks.length], other[a % other.length], raw];
        for (const extra of extras) {
          expect(codeOf(() => open(strictLookup(dek), join(header, [...chunks, extra ?? raw])))).toBe("auth");
        }
      }),
    );
  });

  test("cutting the stream anywhere short of its end is refused: 'truncated' before a chunk could verify, else 'auth'", () => {
    fc.assert(
      fc.property(dataArb, chunkSizeArb, fc.nat(), (data, chunkSize, a) => {
        const dek = newDek();
        const stream = seal(dek, data, chunkSize);
        const end = a % stream.length;
        const code = codeOf(() => open(strictLookup(dek), stream.subarray(0, end)));
        expect(["truncated", "auth"]).toContain(code);
        const { chunks } = split(stream, chunkSize);
        const finalStart = stream.length - (chunks.at(-1)?.length ?? 0);
        // Inside the final chunk: 'truncated' only when too short to verify at all.
        if (end > finalStart) expect(code).toBe(end - finalStart < CHUNK_OVERHEAD_BYTES ? "truncated" : "auth");
        if (end === finalStart) expect(code).toBe("truncated");
      }),
    );
  });

  test("splicing a chunk from another stream with the same DEK, binding and chunk size is 'auth' (stream id)", () => {
    fc.assert(
      fc.property(multiArb, fc.nat(), ({ chunkSize, data }, a) => {
        const dek = newDek();
        const mine = split(seal(dek, data, chunkSize), chunkSize);
        const theirs = split(seal(dek, rand(data.length), chunkSize), chunkSize);
        const i = a % mine.chunks.length;
        const spliced = mine.chunks.slice();
        spliced[i] = theirs.chunks[i] ?? new Uint8Array(0);
        expect(codeOf(() => open(strictLookup(dek), join(mine.header, spliced)))).toBe("auth");
        // Their header with my chunks fails too.
        expect(codeOf(() => open(strictLookup(dek), join(theirs.header, mine.chunks)))).toBe("auth");
      }),
    );
  });

  test("flipping any bit of any byte is refused; past magic and version it is 'auth' even when the lookup ignores the header", () => {
    fc.assert(
      fc.property(dataArb, chunkSizeArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (data, chunkSize, a, mask) => {
        const dek = newDek();
        const stream = seal(dek, data, chunkSize);
        const at = a % stream.length;
        const bad = stream.slice();
        bad[at] = (bad[at] ?? 0) ^ mask;
        const lenient = codeOf(() => open(lenientLookup(dek), bad));
        if (at < 3) expect(lenient).toBe("format");
        else if (at >= 31 && at < 35) expect(["format", "auth"]).toContain(lenient); // chunk size
        else expect(lenient).toBe("auth");
        const strict = codeOf(() => open(strictLookup(dek), bad));
        if (at >= 3 && at < 23) expect(strict).toBe("unknown_key");
        else expect(strict).not.toBe("no error");
        expect(strict).not.toBe("other error");
      }),
    );
  });
});
