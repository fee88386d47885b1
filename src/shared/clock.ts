/** Clock is the source of time; tests inject a fixed or advancing one. */
export interface Clock {
  now(): number;
}

/** systemClock reads the wall clock in milliseconds. */
export const systemClock: Clock = { now: () => Date.now() };

/** fixedClock returns a clock tests can move forward by hand. */
export function fixedClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}
