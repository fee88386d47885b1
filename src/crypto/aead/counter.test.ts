import { describe, expect, test } from "bun:test";
import { exceedsLimit, GCM_INVOCATION_LIMIT, needsRotation, remainingBeforeRotation, ROTATE_AT } from "./counter.ts";

describe("GCM invocation counter", () => {
  test("the limit is NIST SP 800-38D's 2^32 and rotation starts at 2^31", () => {
    expect(GCM_INVOCATION_LIMIT).toBe(4_294_967_296);
    expect(ROTATE_AT).toBe(2_147_483_648);
    expect(ROTATE_AT).toBeLessThan(GCM_INVOCATION_LIMIT);
  });

  test("needsRotation turns true exactly at ROTATE_AT and stays true", () => {
    expect(needsRotation(0)).toBe(false);
    expect(needsRotation(ROTATE_AT - 1)).toBe(false);
    expect(needsRotation(ROTATE_AT)).toBe(true);
    expect(needsRotation(GCM_INVOCATION_LIMIT)).toBe(true);
    expect(needsRotation(Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  test("remainingBeforeRotation counts down to zero and never goes negative", () => {
    expect(remainingBeforeRotation(0)).toBe(ROTATE_AT);
    expect(remainingBeforeRotation(ROTATE_AT - 10)).toBe(10);
    expect(remainingBeforeRotation(ROTATE_AT)).toBe(0);
    expect(remainingBeforeRotation(GCM_INVOCATION_LIMIT + 5)).toBe(0);
  });

  test("exceedsLimit allows exactly 2^32 invocations and no more", () => {
    expect(exceedsLimit(GCM_INVOCATION_LIMIT - 1)).toBe(false);
    expect(exceedsLimit(GCM_INVOCATION_LIMIT)).toBe(false);
    expect(exceedsLimit(GCM_INVOCATION_LIMIT + 1)).toBe(true);
  });

  test("refuses counts that are negative, fractional or not numbers", () => {
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => needsRotation(bad)).toThrow(RangeError);
      expect(() => exceedsLimit(bad)).toThrow(RangeError);
      expect(() => remainingBeforeRotation(bad)).toThrow(RangeError);
    }
  });
});
