/**
 * The one error type of the at-rest formats. Callers branch on `code`, never on the message;
 * messages name what was wrong with the stored bytes and never contain key material or plaintext.
 */

/**
 * CryptoErrorCode is the stable reason an at-rest ciphertext could not be opened:
 * `format` — not this format or version, or impossible lengths; `unknown_key` — the header names
 * a DEK (id + version) the caller does not hold; `auth` — the AES-GCM tag does not verify (wrong
 * key, wrong binding, tampered, reordered, duplicated, dropped or appended data); `truncated` —
 * a chunked stream ended before its final chunk.
 */
export type CryptoErrorCode = "format" | "unknown_key" | "auth" | "truncated";

/** CryptoError is thrown when stored ciphertext cannot be opened; `code` says why. */
export class CryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = "CryptoError";
    this.code = code;
  }
}
