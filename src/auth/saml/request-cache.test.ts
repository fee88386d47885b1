import { describe, expect, test } from "bun:test";
import { fixedClock } from "../../shared/clock.ts";
import { createSamlRequestCache } from "./request-cache.ts";

describe("SamlRequestCache", () => {
  test("remembers a request id until its TTL, and each id is removable once", async () => {
    const clock = fixedClock();
    const cache = createSamlRequestCache(clock, 60_000);
    const a = cache.forAccount("A");
    expect(await a.saveAsync("_r1", "2026-01-01T00:00:00Z")).not.toBeNull();
    expect(await a.getAsync("_r1")).toBe("2026-01-01T00:00:00Z");
    clock.advance(59_999);
    expect(await a.getAsync("_r1")).not.toBeNull();
    clock.advance(1);
    expect(await a.getAsync("_r1")).toBeNull();
    await a.saveAsync("_r2", "v");
    expect(await a.removeAsync("_r2")).toBe("v");
    expect(await a.getAsync("_r2")).toBeNull();
    expect(await a.removeAsync(null)).toBeNull();
  });

  test("one account cannot see or consume another account's request ids", async () => {
    const cache = createSamlRequestCache(fixedClock());
    await cache.forAccount("A").saveAsync("_r", "v");
    expect(await cache.forAccount("B").getAsync("_r")).toBeNull();
    expect(await cache.forAccount("B").removeAsync("_r")).toBeNull();
    expect(await cache.forAccount("A").getAsync("_r")).toBe("v");
  });

  test("expired entries are swept on the next save", async () => {
    const clock = fixedClock();
    const cache = createSamlRequestCache(clock, 1_000);
    for (let i = 0; i < 50; i++) await cache.forAccount("A").saveAsync(`_${i}`, "v");
    expect(cache.size()).toBe(50);
    clock.advance(1_000);
    await cache.forAccount("A").saveAsync("_new", "v");
    expect(cache.size()).toBe(1);
  });
});
