/**
 * Keyed blind index, version 1 (frozen): an equality-searchable tag for an encrypted field,
 * e.g. the e-mail address looked up at sign-in. Stored beside the sealed value and indexed.
 *
 *     indexKey = HKDF-SHA256(ikm = master, salt = empty, info = "conclave blind index v1 " + purpose, L = 32)
 *     index    = "b1:" + unpadded base64url( HMAC-SHA256(indexKey, UTF-8(normalised)) )   (46 characters)
 *
 * The full 32-byte MAC is kept: truncating would add collisions (two users sharing one index
 * row) and save only a few bytes. Each purpose (table.column) gets its own key, so equal values
 * in two columns do not produce equal indexes. What the index reveals is equality, and nothing
 * else without the key: whoever reads the table sees which rows share a value.
 *
 * Normalisation (case folding, Unicode NFC, trimming) is the caller's: the index is exact over
 * the string it is given, so callers must normalise the same way when storing and when looking up.
 */
import { createHmac, hkdfSync } from "node:crypto";

/** BLIND_INDEX_PREFIX starts every v1 blind index. */
export const BLIND_INDEX_PREFIX = "b1:";

/** BLIND_INDEX_INFO_PREFIX is the HKDF info before the purpose; frozen, as stored indexes depend on it. */
export const BLIND_INDEX_INFO_PREFIX = "conclave blind index v1 ";

const INDEX_KEY_BYTES = 32;
const MIN_MASTER_BYTES = 32;
const encoder = new TextEncoder();

/** deriveIndexKey derives the 32-byte blind-index key for one purpose (e.g. "users.email") from a master key of at least 32 bytes. */
export function deriveIndexKey(master: Uint8Array, purpose: string): Uint8Array {
  if (!(master instanceof Uint8Array) || master.length < MIN_MASTER_BYTES) {
    throw new RangeError(`a blind-index master key must be at least ${MIN_MASTER_BYTES} bytes`);
  }
  assertText(purpose, "purpose");
  const info = encoder.encode(BLIND_INDEX_INFO_PREFIX + purpose);
  return new Uint8Array(hkdfSync("sha256", master, new Uint8Array(0), info, INDEX_KEY_BYTES));
}

/** blindIndex returns "b1:" + base64url(HMAC-SHA256(indexKey, normalised)), the full 32-byte MAC. */
export function blindIndex(indexKey: Uint8Array, normalised: string): string {
  if (!(indexKey instanceof Uint8Array) || indexKey.length !== INDEX_KEY_BYTES) {
    throw new RangeError(`a blind-index key must be ${INDEX_KEY_BYTES} bytes (use deriveIndexKey)`);
  }
  if (typeof normalised !== "string" || !normalised.isWellFormed()) {
    throw new TypeError("a blind-index input must be a well-formed string");
  }
  const mac = createHmac("sha256", indexKey).update(encoder.encode(normalised)).digest();
  return BLIND_INDEX_PREFIX + mac.toString("base64url");
}

function assertText(value: string, what: string): void {
  if (typeof value !== "string" || value.length === 0 || !value.isWellFormed()) {
    throw new TypeError(`the blind-index ${what} must be a non-empty, well-formed string`);
  }
}
