/**
 * AES-256-GCM as every at-rest format calls it: node:crypto, a 96-bit nonce, a 128-bit tag
 * appended to the ciphertext. The Wycheproof and GCM-spec vectors run through these two
 * functions, so the known-answer tests cover the exact calls the formats make.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { assertKey } from "./types.ts";

/** GCM_NONCE_BYTES is the nonce length: 96 bits, the only length the formats use. */
export const GCM_NONCE_BYTES = 12;

/** GCM_TAG_BYTES is the tag length: 128 bits, never truncated. */
export const GCM_TAG_BYTES = 16;

const ALGORITHM = "aes-256-gcm";

/** gcmSeal encrypts and authenticates `plaintext` with `aad`, returning ciphertext followed by the 16-byte tag. */
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  assertKey(key);
  assertNonce(nonce);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(body.length + rest.length + tag.length);
  out.set(body, 0);
  out.set(rest, body.length);
  out.set(tag, body.length + rest.length);
  return out;
}

/** gcmOpen verifies and decrypts ciphertext-then-tag; returns null when the tag does not verify. */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  assertKey(key);
  assertNonce(nonce);
  if (sealed.length < GCM_TAG_BYTES) return null;
  const split = sealed.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: GCM_TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(split));
  decipher.setAAD(aad);
  const body = decipher.update(sealed.subarray(0, split));
  try {
    const rest = decipher.final();
    const out = new Uint8Array(body.length + rest.length);
    out.set(body, 0);
    out.set(rest, body.length);
    return out;
  } catch {
    // Unverified plaintext never leaves this function.
    body.fill(0);
    return null;
  }
}

function assertNonce(nonce: Uint8Array): void {
  if (!(nonce instanceof Uint8Array) || nonce.length !== GCM_NONCE_BYTES) {
    throw new RangeError(`an AES-GCM nonce must be ${GCM_NONCE_BYTES} bytes`);
  }
}
