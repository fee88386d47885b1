import { describe, expect, test } from "bun:test";
import { fixedClock } from "../shared/clock.ts";
import { createJoinGuard, DEFAULT_GUARD } from "./join-guard.ts";

describe("join guard", () => {
  test("a source gets 10 failures per 10 minutes, with backoff from the 5th", () => {
    const clock = fixedClock();
    const g = createJoinGuard(clock);
    for (let i = 0; i < 5; i++) {
      expect(g.check("198.51.100.1", `1234567890${i}`).ok).toBe(true);
      g.fail("198.51.100.1", `1234567890${i}`);
    }
    // 5 failures: the next try must wait 1 s, then 2 s, 4 s...
    expect(g.check("198.51.100.1", "99999999999")).toEqual({ ok: false, retryAt: clock.now() + 1000, scope: "source" });
    for (let i = 5; i < 10; i++) {
      const v = g.check("198.51.100.1", "x");
      expect(v).toEqual({ ok: false, retryAt: clock.now() + 1000 * 2 ** (i - 5), scope: "source" });
      if (!v.ok) clock.advance(v.retryAt - clock.now());
      expect(g.check("198.51.100.1", "x").ok).toBe(true);
      g.fail("198.51.100.1", `5555555555${i}`);
    }
    const v = g.check("198.51.100.1", "77777777777");
    expect(v).toMatchObject({ ok: false, scope: "source" });
    // another source is unaffected
    expect(g.check("198.51.100.2", "77777777777").ok).toBe(true);
    // after the window the source may try again
    if (!v.ok) clock.advance(v.retryAt - clock.now());
    expect(g.check("198.51.100.1", "77777777777").ok).toBe(true);
  });

  test("a meeting number gets 30 failures per hour across all sources", () => {
    const clock = fixedClock();
    const g = createJoinGuard(clock);
    for (let i = 0; i < DEFAULT_GUARD.perMeeting.max; i++) g.fail(`203.0.113.${i}`, "12345678901");
    const v = g.check("203.0.113.200", "12345678901");
    expect(v).toEqual({ ok: false, retryAt: Date.UTC(2026, 0, 1) + 3_600_000, scope: "meeting" });
    expect(g.check("203.0.113.200", "12345678902").ok).toBe(true);
    if (v.ok) throw new Error();
    expect(g.retryMessage(v)).toBe("Too many wrong passcodes were tried for this meeting ID. Try again at 01:00:00 UTC, or use the join link from your invitation.");
  });

  test("the message names the time to try again", () => {
    const clock = fixedClock(Date.UTC(2026, 0, 1, 14, 3, 20));
    const g = createJoinGuard(clock);
    for (let i = 0; i < 10; i++) {
      clock.advance(60_000);
      g.fail("s", String(i));
    }
    const v = g.check("s", "n");
    if (v.ok) throw new Error();
    expect(g.retryMessage(v)).toBe("Too many wrong meeting IDs or passcodes from your network. Try again at 14:14:20 UTC.");
  });
});

describe("link tokens", () => {
  test("count against the source only, never against a shared meeting budget", () => {
    const g = createJoinGuard(fixedClock());
    for (let i = 0; i < 100; i++) g.fail(`192.0.2.${i}`, null);
    expect(g.check("192.0.2.250", null).ok).toBe(true);
    expect(g.check("192.0.2.250", "12345678901").ok).toBe(true);
  });
});
