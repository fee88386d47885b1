/**
 * Attempt budgets against meeting-ID and passcode guessing, shared by every way in (web join
 * page, join links, and later SIP/DTMF). Failures are counted per source address and per
 * meeting number — whether or not that meeting exists, so budgets reveal nothing. In memory:
 * a restart forgets them (documented in the README).
 */
import type { Clock } from "../shared/clock.ts";

/** Budget is "at most `max` failures within `windowMs`". */
export interface Budget {
  max: number;
  windowMs: number;
}

/** JoinGuardOptions tune the budgets and the backoff. */
export interface JoinGuardOptions {
  perSource: Budget;
  perMeeting: Budget;
  /** after this many failures from a source in its window, each further try waits 2^(n - backoffAfter) seconds */
  backoffAfter: number;
  /** backoff never exceeds this */
  maxBackoffMs: number;
}

/** DEFAULT_GUARD: 10 failures / 10 min per source, 30 / hour per meeting, backoff from the 5th failure. */
export const DEFAULT_GUARD: JoinGuardOptions = {
  perSource: { max: 10, windowMs: 10 * 60_000 },
  perMeeting: { max: 30, windowMs: 60 * 60_000 },
  backoffAfter: 5,
  maxBackoffMs: 5 * 60_000,
};

/** GuardVerdict: go ahead, or wait until `retryAt` (ms since epoch). */
export type GuardVerdict = { ok: true } | { ok: false; retryAt: number; scope: "source" | "meeting" };

/** JoinGuard is the shared attempt budget. */
export interface JoinGuard {
  /** check says whether a try from `source` at meeting `number` may go ahead now (null: the source budget only, e.g. link tokens). */
  check(source: string, number: string | null): GuardVerdict;
  /** fail counts a wrong meeting ID, passcode or link token (null: against the source only). */
  fail(source: string, number: string | null): void;
  /** retryMessage is the text shown when a budget is exhausted. */
  retryMessage(v: Extract<GuardVerdict, { ok: false }>): string;
}

/** createJoinGuard builds the budgets (one per process; web and SIP get the same instance). */
export function createJoinGuard(clock: Clock, o: JoinGuardOptions = DEFAULT_GUARD): JoinGuard {
  const bySource = new Map<string, number[]>();
  const byMeeting = new Map<string, number[]>();
  const recent = (m: Map<string, number[]>, key: string, windowMs: number, now: number): number[] => {
    const list = (m.get(key) ?? []).filter((t) => now - t < windowMs);
    if (list.length) m.set(key, list);
    else m.delete(key);
    return list;
  };
  let sweeps = 0;
  const sweep = (now: number) => {
    // Forget idle keys now and then so a flood of distinct sources cannot grow memory for ever.
    if (++sweeps % 1000 !== 0) return;
    for (const k of [...bySource.keys()]) recent(bySource, k, o.perSource.windowMs, now);
    for (const k of [...byMeeting.keys()]) recent(byMeeting, k, o.perMeeting.windowMs, now);
  };
  return {
    check(source, number) {
      const now = clock.now();
      const s = recent(bySource, source, o.perSource.windowMs, now);
      if (s.length >= o.perSource.max) return { ok: false, retryAt: s[s.length - o.perSource.max]! + o.perSource.windowMs, scope: "source" };
      if (s.length >= o.backoffAfter) {
        const wait = Math.min(o.maxBackoffMs, 1000 * 2 ** (s.length - o.backoffAfter));
        const until = s[s.length - 1]! + wait;
        if (now < until) return { ok: false, retryAt: until, scope: "source" };
      }
      if (number === null) return { ok: true };
      const m = recent(byMeeting, number, o.perMeeting.windowMs, now);
      if (m.length >= o.perMeeting.max) return { ok: false, retryAt: m[m.length - o.perMeeting.max]! + o.perMeeting.windowMs, scope: "meeting" };
      return { ok: true };
    },
    fail(source, number) {
      const now = clock.now();
      sweep(now);
      bySource.set(source, [...recent(bySource, source, o.perSource.windowMs, now), now]);
      if (number !== null) byMeeting.set(number, [...recent(byMeeting, number, o.perMeeting.windowMs, now), now]);
    },
    retryMessage(v) {
      const at = new Date(Math.ceil(v.retryAt / 1000) * 1000).toISOString().slice(11, 19);
      return v.scope === "source"
        ? `Too many wrong meeting IDs or passcodes from your network. Try again at ${at} UTC.`
        : `Too many wrong passcodes were tried for this meeting ID. Try again at ${at} UTC, or use the join link from your invitation.`;
    },
  };
}
