/**
 * Single-value at-rest format, version 1 (frozen): one AES-256-GCM ciphertext per database value.
 *
 * Binary layout (all integers big-endian):
 *
 *     offset  size  field
 *          0     2  magic "CV" (0x43 0x56)
 *          2     1  format version, 0x01
 *          3    16  DEK id
 *         19     4  DEK version (uint32)
 *         23    12  nonce (random, fresh for every value)
 *         35     n  ciphertext (n = plaintext length, may be 0)
 *       35+n    16  GCM tag
 *
 * AAD = bytes 0..22 (magic, version, DEK id, DEK version) followed by encodeBinding(binding)
 * (binding.ts). The header is authenticated, so a value cannot be re-labelled with another DEK
 * id/version or format version; the binding is authenticated, so a value copied to another
 * account, table, column or row fails with "auth". The nonce is authenticated by GCM itself.
 *
 * Text form (for TEXT columns): "c1:" + unpadded base64url of the binary form. "c1" names this
 * text encoding; the binary header inside carries the format version.
 *
 * Every seal is one GCM invocation under the DEK: callers count them (counter.ts).
 */
import { randomBytes } from "node:crypto";
import { encodeBinding } from "./binding.ts";
import { CryptoError } from "./errors.ts";
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, gcmOpen, gcmSeal } from "./gcm.ts";
import { assertDekMaterial, assertKey, DEK_ID_BYTES, type AadBinding, type DekLookup, type DekMaterial } from "./types.ts";

/** VALUE_FORMAT_VERSION is the version byte this module writes and the only one it reads. */
export const VALUE_FORMAT_VERSION = 0x01;

/** VALUE_TEXT_PREFIX starts the text form of a sealed value. */
export const VALUE_TEXT_PREFIX = "c1:";

const MAGIC_0 = 0x43; // "C"
const MAGIC_1 = 0x56; // "V"
const HEADER_BYTES = 2 + 1 + DEK_ID_BYTES + 4; // authenticated as AAD
const NONCE_AT = HEADER_BYTES;
const BODY_AT = NONCE_AT + GCM_NONCE_BYTES;

/** VALUE_OVERHEAD_BYTES is how many bytes sealing adds to a plaintext (header, nonce, tag): 51. */
export const VALUE_OVERHEAD_BYTES = BODY_AT + GCM_TAG_BYTES;

/** ValueHeader is what a sealed value says about itself, readable without any key (for rotation jobs). */
export interface ValueHeader {
  version: number;
  dekId: Uint8Array;
  dekVersion: number;
}

/** sealValue encrypts a plaintext under a DEK, bound to one account/table/column/row, in format v1. */
export function sealValue(key: DekMaterial, binding: AadBinding, plaintext: Uint8Array): Uint8Array {
  assertDekMaterial(key);
  const bindingBytes = encodeBinding(binding);
  const out = new Uint8Array(VALUE_OVERHEAD_BYTES + plaintext.length);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VALUE_FORMAT_VERSION;
  out.set(key.id, 3);
  new DataView(out.buffer).setUint32(3 + DEK_ID_BYTES, key.version);
  const nonce = randomBytes(GCM_NONCE_BYTES);
  out.set(nonce, NONCE_AT);
  const aad = valueAad(out.subarray(0, HEADER_BYTES), bindingBytes);
  out.set(gcmSeal(key.key, nonce, aad, plaintext), BODY_AT);
  return out;
}

/**
 * openValue decrypts a v1 sealed value, finding its DEK through `lookup`; throws CryptoError
 * "format", "unknown_key" or "auth" (wrong binding, wrong key, any modified byte).
 */
export function openValue(lookup: DekLookup, binding: AadBinding, sealed: Uint8Array): Uint8Array {
  const bindingBytes = encodeBinding(binding);
  const header = parseHeader(sealed);
  const dekKey = lookup(header.dekId, header.dekVersion);
  if (dekKey === null) {
    throw new CryptoError("unknown_key", `The value is sealed under DEK ${hex(header.dekId)} version ${header.dekVersion}, which is not available.`);
  }
  assertKey(dekKey);
  const aad = valueAad(sealed.subarray(0, HEADER_BYTES), bindingBytes);
  const plaintext = gcmOpen(dekKey, sealed.subarray(NONCE_AT, BODY_AT), aad, sealed.subarray(BODY_AT));
  if (plaintext === null) {
    throw new CryptoError("auth", "The value does not authenticate: it belongs to another row, column, table or account, or it was modified.");
  }
  return plaintext;
}

/** parseHeader reads the format version and DEK id/version of a v1 sealed value; throws CryptoError "format". */
export function parseHeader(sealed: Uint8Array): ValueHeader {
  if (sealed.length < VALUE_OVERHEAD_BYTES) {
    throw new CryptoError("format", `A sealed value is at least ${VALUE_OVERHEAD_BYTES} bytes; got ${sealed.length}.`);
  }
  if (sealed[0] !== MAGIC_0 || sealed[1] !== MAGIC_1) {
    throw new CryptoError("format", "Not a Conclave sealed value (bad magic).");
  }
  if (sealed[2] !== VALUE_FORMAT_VERSION) {
    throw new CryptoError("format", `Unknown sealed-value format version ${sealed[2]}.`);
  }
  const dekId = sealed.slice(3, 3 + DEK_ID_BYTES);
  const dekVersion = new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength).getUint32(3 + DEK_ID_BYTES);
  return { version: VALUE_FORMAT_VERSION, dekId, dekVersion };
}

/** encodeText renders a sealed value for a TEXT column: "c1:" + unpadded base64url. */
export function encodeText(sealed: Uint8Array): string {
  return VALUE_TEXT_PREFIX + Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).toString("base64url");
}

/** decodeText parses the "c1:" text form back to bytes; throws CryptoError "format" on anything but canonical unpadded base64url. */
export function decodeText(text: string): Uint8Array {
  if (!text.startsWith(VALUE_TEXT_PREFIX)) throw new CryptoError("format", `A sealed text value starts with "${VALUE_TEXT_PREFIX}".`);
  const body = text.slice(VALUE_TEXT_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) {
    throw new CryptoError("format", "A sealed text value is not unpadded base64url.");
  }
  const bytes = Buffer.from(body, "base64url");
  // Reject non-zero unused trailing bits: exactly one text form per byte string.
  if (bytes.toString("base64url") !== body) throw new CryptoError("format", "A sealed text value is not canonical base64url.");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** isSealedText tells whether a column value is in the sealed text form (for migrations that encrypt in place). */
export function isSealedText(text: string): boolean {
  return text.startsWith(VALUE_TEXT_PREFIX);
}

function valueAad(header: Uint8Array, bindingBytes: Uint8Array): Uint8Array {
  const aad = new Uint8Array(header.length + bindingBytes.length);
  aad.set(header, 0);
  aad.set(bindingBytes, header.length);
  return aad;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
