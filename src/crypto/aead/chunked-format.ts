/**
 * Chunked (streaming) at-rest format, version 1 (frozen): large content — recordings, uploads,
 * backups — sealed and opened in bounded memory, one AES-256-GCM invocation per chunk.
 *
 * Stream layout (all integers big-endian):
 *
 *     header, 35 bytes:
 *          0     2  magic "CS" (0x43 0x53)
 *          2     1  format version, 0x01
 *          3    16  DEK id
 *         19     4  DEK version (uint32)
 *         23     8  stream id (random, fresh for every stream)
 *         31     4  chunk size S (uint32, 1 ≤ S ≤ 16 MiB): plaintext bytes per non-final chunk
 *     then chunks 0, 1, …, k, each:
 *          12 bytes nonce (random) | ciphertext | 16 bytes GCM tag
 *
 * Every chunk but the last holds exactly S plaintext bytes; the last holds 0..S bytes and is
 * marked final. It is empty only when the whole input is empty (the sealer holds back a full
 * chunk until it knows whether more data follows).
 *
 * AAD of chunk i = header (35 bytes) | encodeBinding(binding) | i (uint64) | final (0x00 / 0x01).
 * The sequence number stops reordering, dropping and duplicating chunks; the final flag stops
 * truncation at a chunk boundary and appending; the stream id stops splicing chunks between two
 * streams sealed under the same DEK and binding; the header in every AAD stops re-labelling.
 *
 * Opening yields each chunk's plaintext only after its tag verifies, but the stream as a whole is
 * authentic only once the opener finishes without throwing: a consumer must treat everything it
 * received as invalid when the opener throws (a truncated stream yields a valid prefix first).
 */
import { concatBytes } from "../asn1.ts";
import { randomBytes } from "node:crypto";
import { encodeBinding } from "./binding.ts";
import { CryptoError } from "./errors.ts";
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, gcmOpen, gcmSeal } from "./gcm.ts";
import { assertDekMaterial, assertKey, DEK_ID_BYTES, type AadBinding, type DekLookup, type DekMaterial } from "./types.ts";

/** CHUNKED_FORMAT_VERSION is the version byte this module writes and the only one it reads. */
export const CHUNKED_FORMAT_VERSION = 0x01;

/** CHUNKED_HEADER_BYTES is the length of a chunked stream's header: 35. */
export const CHUNKED_HEADER_BYTES = 2 + 1 + DEK_ID_BYTES + 4 + 8 + 4;

/** CHUNK_OVERHEAD_BYTES is what each chunk adds to its plaintext (nonce and tag): 28. */
export const CHUNK_OVERHEAD_BYTES = GCM_NONCE_BYTES + GCM_TAG_BYTES;

/** DEFAULT_CHUNK_SIZE is the plaintext bytes per chunk when the caller does not choose: 64 KiB. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** MAX_CHUNK_SIZE bounds the chunk size a header may declare, and so the opener's memory: 16 MiB. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

/** MAX_CHUNKS bounds one stream's chunk count (each chunk is one GCM invocation under the DEK): 2^32. */
export const MAX_CHUNKS = 2 ** 32;

const MAGIC_0 = 0x43; // "C"
const MAGIC_1 = 0x53; // "S"
const STREAM_ID_BYTES = 8;
const MIDDLE = 0x00;
const FINAL = 0x01;
/** The final-flag byte of a chunk's AAD. */
type ChunkFlag = typeof MIDDLE | typeof FINAL;
const CHUNK_SIZE_AT = 3 + DEK_ID_BYTES + 4 + STREAM_ID_BYTES;

/** ChunkSealerOptions tunes a sealer; chunkSize is the plaintext bytes per chunk (1 to MAX_CHUNK_SIZE). */
export interface ChunkSealerOptions {
  chunkSize?: number;
}

/** ChunkSealer turns plaintext pieces into the sealed stream; write every returned array, in order. */
export interface ChunkSealer {
  /** Accepts more plaintext (any size); returns the stream bytes now ready (the header first, on the first call). */
  push(plaintext: Uint8Array): Uint8Array[];
  /** Ends the stream; returns the rest, ending with the final chunk. The sealer cannot be used afterwards. */
  finish(): Uint8Array[];
  /** Chunks sealed so far: GCM invocations to add to the DEK's counter (counter.ts). */
  readonly chunkCount: number;
}

/** ChunkOpener turns sealed stream bytes back into plaintext, verifying each chunk before returning it. */
export interface ChunkOpener {
  /** Accepts more stream bytes (any split); returns the plaintext chunks now verified; throws CryptoError. */
  push(sealed: Uint8Array): Uint8Array[];
  /** Declares the end of input; returns the last plaintext chunk(s); throws CryptoError "truncated" without a final chunk. */
  finish(): Uint8Array[];
}

/** createChunkSealer starts a chunked v1 stream under a DEK, bound to one account/table/column/row. */
export function createChunkSealer(key: DekMaterial, binding: AadBinding, options: ChunkSealerOptions = {}): ChunkSealer {
  assertDekMaterial(key);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be an integer from 1 to ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  const header = new Uint8Array(CHUNKED_HEADER_BYTES);
  header[0] = MAGIC_0;
  header[1] = MAGIC_1;
  header[2] = CHUNKED_FORMAT_VERSION;
  header.set(key.id, 3);
  const view = new DataView(header.buffer);
  view.setUint32(3 + DEK_ID_BYTES, key.version);
  header.set(randomBytes(STREAM_ID_BYTES), 3 + DEK_ID_BYTES + 4);
  view.setUint32(CHUNK_SIZE_AT, chunkSize);
  const aadPrefix = concatBytes([header, encodeBinding(binding)]);
  const dekKey = key.key;

  const pending = new ByteQueue();
  let headerSent = false;
  let finished = false;
  let seq = 0;

  const sealChunk = (plaintext: Uint8Array, flag: ChunkFlag): Uint8Array => {
    if (seq >= MAX_CHUNKS) throw new RangeError(`a chunked stream holds at most ${MAX_CHUNKS} chunks`);
    const nonce = randomBytes(GCM_NONCE_BYTES);
    const body = gcmSeal(dekKey, nonce, chunkAad(aadPrefix, seq, flag), plaintext);
    seq += 1;
    return concatBytes([nonce, body]);
  };
  const start = (): Uint8Array[] => {
    if (finished) throw new Error("this chunk sealer has already finished");
    if (headerSent) return [];
    headerSent = true;
    return [header.slice()];
  };

  return {
    push(plaintext: Uint8Array): Uint8Array[] {
      const out = start();
      pending.push(plaintext);
      // Hold back up to one full chunk: it may turn out to be the final one.
      while (pending.length > chunkSize) out.push(sealChunk(pending.take(chunkSize), MIDDLE));
      return out;
    },
    finish(): Uint8Array[] {
      const out = start();
      out.push(sealChunk(pending.take(pending.length), FINAL));
      finished = true;
      return out;
    },
    get chunkCount(): number {
      return seq;
    },
  };
}

/** createChunkOpener starts opening a chunked v1 stream, finding its DEK through `lookup`. */
export function createChunkOpener(lookup: DekLookup, binding: AadBinding): ChunkOpener {
  const bindingBytes = encodeBinding(binding);
  const pending = new ByteQueue();
  let state: { dekKey: Uint8Array; aadPrefix: Uint8Array; chunkBytes: number } | null = null;
  let seq = 0;
  let finished = false;

  const readHeader = (): void => {
    const header = pending.take(CHUNKED_HEADER_BYTES);
    if (header[0] !== MAGIC_0 || header[1] !== MAGIC_1) throw new CryptoError("format", "Not a Conclave sealed stream (bad magic).");
    if (header[2] !== CHUNKED_FORMAT_VERSION) throw new CryptoError("format", `Unknown sealed-stream format version ${header[2]}.`);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const chunkSize = view.getUint32(CHUNK_SIZE_AT);
    if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
      throw new CryptoError("format", `The sealed stream declares chunk size ${chunkSize}, outside 1..${MAX_CHUNK_SIZE}.`);
    }
    const dekId = header.slice(3, 3 + DEK_ID_BYTES);
    const dekVersion = view.getUint32(3 + DEK_ID_BYTES);
    const dekKey = lookup(dekId, dekVersion);
    if (dekKey === null) {
      throw new CryptoError("unknown_key", `The stream is sealed under DEK ${Buffer.from(dekId).toString("hex")} version ${dekVersion}, which is not available.`);
    }
    assertKey(dekKey);
    state = { dekKey, aadPrefix: concatBytes([header, bindingBytes]), chunkBytes: CHUNK_OVERHEAD_BYTES + chunkSize };
  };
  const openChunk = (chunk: Uint8Array, flag: ChunkFlag): Uint8Array | null => {
    if (state === null) throw new Error("unreachable: chunk before header");
    return gcmOpen(state.dekKey, chunk.subarray(0, GCM_NONCE_BYTES), chunkAad(state.aadPrefix, seq, flag), chunk.subarray(GCM_NONCE_BYTES));
  };
  const authError = (): CryptoError =>
    new CryptoError("auth", `Chunk ${seq} of the sealed stream does not authenticate: the stream was modified, reordered, spliced or extended, or it belongs elsewhere.`);
  const truncated = (): CryptoError => new CryptoError("truncated", "The sealed stream ends before its final chunk.");
  const check = (): void => {
    if (finished) throw new Error("this chunk opener has already finished");
  };

  return {
    push(sealed: Uint8Array): Uint8Array[] {
      check();
      pending.push(sealed);
      if (state === null && pending.length >= CHUNKED_HEADER_BYTES) readHeader();
      const out: Uint8Array[] = [];
      if (state === null) return out;
      // A full-size chunk followed by more bytes cannot be the final chunk.
      while (pending.length > state.chunkBytes) {
        const plaintext = openChunk(pending.take(state.chunkBytes), MIDDLE);
        if (plaintext === null) throw authError();
        out.push(plaintext);
        seq += 1;
      }
      return out;
    },
    finish(): Uint8Array[] {
      check();
      finished = true;
      if (state === null) {
        if (pending.length < CHUNKED_HEADER_BYTES) throw truncated();
        readHeader();
      }
      if (state === null) throw new Error("unreachable: header not read");
      const rest = pending.take(pending.length);
      if (rest.length < CHUNK_OVERHEAD_BYTES) throw truncated();
      const plaintext = openChunk(rest, FINAL);
      if (plaintext !== null) return [plaintext];
      // A whole chunk that verifies as non-final means the stream was cut at a chunk boundary.
      if (rest.length === state.chunkBytes) {
        const asMiddle = openChunk(rest, MIDDLE);
        if (asMiddle !== null) {
          asMiddle.fill(0);
          throw truncated();
        }
      }
      throw authError();
    },
  };
}

/** sealStream seals an (async) iterable of plaintext pieces into the chunked v1 stream, chunk by chunk. */
export async function* sealStream(
  key: DekMaterial,
  binding: AadBinding,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ChunkSealerOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const sealer = createChunkSealer(key, binding, options);
  for await (const piece of source) yield* sealer.push(piece);
  yield* sealer.finish();
}

/** openStream opens an (async) iterable of sealed stream bytes, yielding verified plaintext chunks; throws CryptoError. */
export async function* openStream(
  lookup: DekLookup,
  binding: AadBinding,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const opener = createChunkOpener(lookup, binding);
  for await (const piece of source) yield* opener.push(piece);
  yield* opener.finish();
}

function chunkAad(prefix: Uint8Array, seq: number, flag: ChunkFlag): Uint8Array {
  const aad = new Uint8Array(prefix.length + 9);
  aad.set(prefix, 0);
  const view = new DataView(aad.buffer);
  view.setBigUint64(prefix.length, BigInt(seq));
  aad[prefix.length + 8] = flag;
  return aad;
}


/** A FIFO of bytes that copies each input once in and once out, so many small pushes stay linear. */
class ByteQueue {
  private parts: Uint8Array[] = [];
  private head = 0; // bytes already consumed from parts[0]
  length = 0;

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.parts.push(bytes.slice());
    this.length += bytes.length;
  }

  take(n: number): Uint8Array {
    if (n > this.length) throw new RangeError("ByteQueue.take past the end");
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const first = this.parts[0];
      if (first === undefined) throw new Error("unreachable: ByteQueue underflow");
      const count = Math.min(n - at, first.length - this.head);
      out.set(first.subarray(this.head, this.head + count), at);
      at += count;
      this.head += count;
      if (this.head === first.length) {
        this.parts.shift();
        this.head = 0;
      }
    }
    this.length -= n;
    return out;
  }
}
