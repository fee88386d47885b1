/**
 * Per-DEK GCM invocation accounting.
 *
 * Every format here draws a fresh random 96-bit nonce for each AES-GCM invocation (each sealed
 * value, each chunk of a stream). NIST SP 800-38D §8.3 limits the total number of invocations of
 * the authenticated-encryption function with one key to 2^32 when IVs are random (the RBG-based
 * construction of §8.2.2), which keeps the probability that any two nonces collide — a collision
 * reveals the XOR of two plaintexts and lets an attacker forge tags — below about 2^-32.
 *
 * Conclave rotates at 2^31, half the limit: the counter is persisted in batches and reserved ahead
 * by several writers, so a crash, a restore from backup or a slow rotation job must never carry a
 * DEK past 2^32; the margin also keeps the collision probability for one DEK near 2^-35.
 * The counter itself is stored with the DEK (and must never go backwards on restore).
 */

/** GCM_INVOCATION_LIMIT is NIST SP 800-38D's cap on invocations per key with random 96-bit nonces: 2^32. */
export const GCM_INVOCATION_LIMIT = 2 ** 32;

/** ROTATE_AT is the invocation count at which a DEK is retired for new writes: 2^31. */
export const ROTATE_AT = 2 ** 31;

/** needsRotation tells whether a DEK with this many invocations must stop sealing new data and be replaced. */
export function needsRotation(count: number): boolean {
  assertCount(count);
  return count >= ROTATE_AT;
}

/** remainingBeforeRotation returns how many more invocations a DEK may make before it reaches ROTATE_AT. */
export function remainingBeforeRotation(count: number): number {
  assertCount(count);
  return Math.max(0, ROTATE_AT - count);
}

/** exceedsLimit tells whether `count` invocations would break the NIST limit: a hard refusal, never reached when rotation works. */
export function exceedsLimit(count: number): boolean {
  assertCount(count);
  return count > GCM_INVOCATION_LIMIT;
}

function assertCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`an invocation count must be a non-negative integer, got ${count}`);
}
