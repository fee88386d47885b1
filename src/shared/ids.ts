import { timingSafeEqual } from "node:crypto";

/** randomToken returns `bytes` random bytes as unpadded base64url. */
export function randomToken(bytes = 32): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Buffer.from(b).toString("base64url");
}

/** newId returns a random, URL-safe identifier for a stored row. */
export function newId(): string {
  return randomToken(12);
}

/** sha256Hex hashes a string or bytes to lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** constantTimeEqual compares two strings without an early exit. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) return false;
  return timingSafeEqual(ab, bb);
}
