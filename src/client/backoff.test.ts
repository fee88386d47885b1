import { describe, expect, test } from "bun:test";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";

describe("backoffDelay", () => {
  test("doubles per attempt between half and all of the ceiling", () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(250);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 1)).toBe(500);
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 1)).toBe(1000);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0.5)).toBe(3000);
  });
  test("is capped at maxMs however many attempts failed", () => {
    expect(backoffDelay(10, DEFAULT_BACKOFF, () => 1)).toBe(10_000);
    expect(backoffDelay(1000, DEFAULT_BACKOFF, () => 1)).toBe(10_000);
    expect(backoffDelay(1000, DEFAULT_BACKOFF, () => 0)).toBe(5_000);
  });
  test("never returns less than half the ceiling (no thundering herd at 0 ms)", () => {
    for (let a = 0; a < 8; a++) for (const r of [0, 0.3, 0.99]) expect(backoffDelay(a, DEFAULT_BACKOFF, () => r)).toBeGreaterThanOrEqual(Math.min(10_000, 500 * 2 ** a) / 2);
  });
  test("refuses a negative or fractional attempt", () => {
    expect(() => backoffDelay(-1)).toThrow(RangeError);
    expect(() => backoffDelay(1.5)).toThrow("non-negative integer");
  });
});
