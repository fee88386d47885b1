/** Reconnection delays: exponential with jitter, capped, so a server restart is not hit by everyone at once. */

/** BackoffOptions tune backoffDelay. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** DEFAULT_BACKOFF retries after ~0.5 s, 1 s, 2 s, … up to 10 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000 };

/** backoffDelay is the wait before reconnection attempt `attempt` (0-based): half fixed, half random. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
