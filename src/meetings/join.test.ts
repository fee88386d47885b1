import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { fixedClock } from "../shared/clock.ts";
import { createJoinPasses, PASS_TTL_MS } from "./join.ts";

const key = Buffer.alloc(32, 7);
const mac = (d: string) => "b1:" + createHmac("sha256", key).update(d).digest("base64url");

describe("join passes", () => {
  test("a pass is bound to the browser's join id, survives a restart (same key), and expires", () => {
    const clock = fixedClock();
    const passes = createJoinPasses(clock, mac);
    const cookie = passes.grant("browser-1", undefined, "meeting-a");
    expect(passes.has("browser-1", cookie, "meeting-a")).toBe(true);
    expect(passes.has("browser-1", cookie, "meeting-b")).toBe(false);
    expect(passes.has("browser-2", cookie, "meeting-a")).toBe(false);
    expect(passes.has(undefined, cookie, "meeting-a")).toBe(false);
    expect(createJoinPasses(clock, mac).has("browser-1", cookie, "meeting-a")).toBe(true);
    expect(createJoinPasses(clock, (d) => mac(`other${d}`)).has("browser-1", cookie, "meeting-a")).toBe(false);
    clock.advance(PASS_TTL_MS);
    expect(passes.has("browser-1", cookie, "meeting-a")).toBe(false);
  });

  test("forged or edited entries are ignored; the list keeps the 8 most recent meetings", () => {
    const clock = fixedClock();
    const passes = createJoinPasses(clock, mac);
    const cookie = passes.grant("b", undefined, "m1");
    const [id, exp, m] = cookie.split(".");
    expect(passes.has("b", `m2.${exp}.${m}`, "m2")).toBe(false);
    expect(passes.has("b", `${id}.${Number(exp) + 999999}.${m}`, "m1")).toBe(false);
    expect(passes.has("b", "garbage~~..~m1.1.x", "m1")).toBe(false);
    let c: string | undefined;
    for (let i = 0; i < 10; i++) c = passes.grant("b", c, `m${i}`);
    expect([0, 1, 2, 9].map((i) => passes.has("b", c, `m${i}`))).toEqual([false, false, true, true]);
  });
});
