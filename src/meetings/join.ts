/**
 * Getting into a meeting: passcode and link-token checks under the shared attempt budgets,
 * the "passed the passcode" memory of a browser, and the decision what /j/:number shows
 * (join form, sign-in, refusal, or the meeting page). "No such meeting" and "wrong passcode"
 * are the same outcome everywhere here, so callers cannot tell them apart.
 */
import type { Actor } from "../accounts/actor.ts";
import type { Clock } from "../shared/clock.ts";
import { constantTimeEqual, sha256Hex } from "../shared/ids.ts";
import type { MeetingKey, MeetingsRepo } from "../storage/meetings-repo.ts";
import type { AccountsDeps } from "../accounts/deps.ts";
import { parseMeetingNumber } from "./codes.ts";
import type { JoinGuard } from "./join-guard.ts";
import { domainsOf, meetingSettings, type MeetingSettings } from "./meeting-settings.ts";

/** PASS_TTL_MS: having entered the passcode (or opened the link) counts for 8 hours in that browser. */
export const PASS_TTL_MS = 8 * 3_600_000;
/** MAX_PASSES: a browser keeps passes for this many meetings (the most recent). */
const MAX_PASSES = 8;

/**
 * JoinPasses remembers which meetings a browser has passed the passcode of, as a signed list in
 * a cookie ("meetingId.expiry.mac" entries joined by "~"). The MAC (keyed by the server's
 * persistent blind-index key) binds each entry to the browser's join-cookie id, so a pass
 * survives a server restart but cannot be moved to another browser or forged.
 */
export interface JoinPasses {
  /** grant returns the new passes-cookie value with `meetingId` added. */
  grant(joinId: string, current: string | undefined, meetingId: string): string;
  has(joinId: string | undefined, current: string | undefined, meetingId: string): boolean;
}

/** createJoinPasses builds the pass codec over a MAC function (the codec's keyed blind index). */
export function createJoinPasses(clock: Clock, mac: (data: string) => string): JoinPasses {
  const macOf = (joinId: string, meetingId: string, exp: number) => mac(`${joinId}|${meetingId}|${exp}`);
  const entries = (joinId: string, current: string | undefined) => {
    const now = Math.floor(clock.now() / 1000);
    return (current ?? "").split("~").slice(0, MAX_PASSES * 2).map((e) => {
      const [id, expText, m] = e.split(".");
      const exp = Number(expText);
      return id && m && Number.isSafeInteger(exp) && exp > now && constantTimeEqual(m, macOf(joinId, id, exp)) ? { id, exp, m } : null;
    }).filter((x): x is { id: string; exp: number; m: string } => x !== null);
  };
  return {
    grant(joinId, current, meetingId) {
      const exp = Math.floor((clock.now() + PASS_TTL_MS) / 1000);
      const kept = entries(joinId, current).filter((e) => e.id !== meetingId).slice(-(MAX_PASSES - 1));
      return [...kept, { id: meetingId, exp, m: macOf(joinId, meetingId, exp) }].map((e) => `${e.id}.${e.exp}.${e.m}`).join("~");
    },
    has(joinId, current, meetingId) {
      return !!joinId && !!current && entries(joinId, current).some((e) => e.id === meetingId);
    },
  };
}

/** guestIdentity binds a guest to their browser's join cookie (for "removed cannot rejoin"). */
export function guestIdentity(cookie: string): string {
  return `guest:${sha256Hex(`identity:${cookie}`).slice(0, 32)}`;
}

/** JoinDeps is what the join checks need. */
export interface JoinDeps {
  accounts: AccountsDeps;
  repo: MeetingsRepo;
  guard: JoinGuard;
}

/** Attempt is the outcome of a passcode or link try: in, refused (same for unknown meetings), or over budget. */
export type Attempt = { ok: true; meeting: MeetingKey } | { ok: false; limited: false } | { ok: false; limited: true; message: string };

/** settingsOfKey resolves a meeting's effective settings from its lookup row. */
export function settingsOfKey(deps: Pick<JoinDeps, "accounts">, key: MeetingKey): MeetingSettings {
  return meetingSettings(deps.accounts, key.accountId, key.ownerUserId, JSON.parse(key.overrides) as Record<string, boolean | string | number>);
}

/** tryPasscode checks a meeting ID and passcode (web or dial-in form) under the budgets. */
export function tryPasscode(deps: JoinDeps, source: string, numberInput: string, passcode: string): Attempt {
  const number = parseMeetingNumber(numberInput) ?? numberInput.replace(/\s/g, "").slice(0, 20);
  const budget = deps.guard.check(source, number);
  if (!budget.ok) return { ok: false, limited: true, message: deps.guard.retryMessage(budget) };
  const key = parseMeetingNumber(numberInput) ? deps.repo.keyByNumber(number) : undefined;
  const pc = passcode.trim();
  if (key) {
    const open = settingsOfKey(deps, key)["meeting.passcode_required"].value !== true;
    if (open || (pc && (deps.repo.matchesSecret(key, "passcode", pc) || deps.repo.matchesSecret(key, "dial_passcode", pc)))) return { ok: true, meeting: key };
  }
  deps.guard.fail(source, number);
  return { ok: false, limited: false };
}

/** tryLinkToken checks the token of a join link (unguessable: only the per-source budget applies). */
export function tryLinkToken(deps: JoinDeps, source: string, number: string, token: string): Attempt {
  const budget = deps.guard.check(source, null);
  if (!budget.ok) return { ok: false, limited: true, message: deps.guard.retryMessage(budget) };
  const key = parseMeetingNumber(number) ? deps.repo.keyByNumber(number) : undefined;
  if (key && token.length <= 100 && deps.repo.matchesSecret(key, "link_token", token)) return { ok: true, meeting: key };
  deps.guard.fail(source, null);
  return { ok: false, limited: false };
}

/** Access is what /j/:number shows. */
export type Access =
  | { show: "form" }
  | { show: "signin" }
  | { show: "refused"; message: string }
  | { show: "meeting"; meeting: MeetingKey; settings: MeetingSettings; host: boolean; internal: boolean };

/** Visitor is who is looking at /j/:number. */
export interface Visitor {
  actor: Actor | null;
  /** the signed-in user's e-mail (for the allowed-domains rule) */
  email: string | null;
  passed: (meetingId: string) => boolean;
}

/** joinAccess decides what a visitor of /j/:number sees. Unknown meetings look like protected ones (the form). */
export function joinAccess(deps: Pick<JoinDeps, "accounts" | "repo">, number: string, v: Visitor): Access {
  const key = parseMeetingNumber(number) ? deps.repo.keyByNumber(number) : undefined;
  if (!key) return { show: "form" };
  const settings = settingsOfKey(deps, key);
  const host = !!v.actor && v.actor.accountId === key.accountId && v.actor.userId === key.ownerUserId;
  const internal = !!v.actor && v.actor.accountId === key.accountId;
  if (!host && settings["meeting.passcode_required"].value === true && !v.passed(key.id)) return { show: "form" };
  const domains = domainsOf(settings["meeting.allowed_domains"].value);
  if (!host && !v.actor && (settings["meeting.authenticated_only"].value === true || domains.length > 0)) return { show: "signin" };
  if (!host && domains.length > 0) {
    const d = (v.email ?? "").split("@").pop()!.toLowerCase();
    if (!domains.includes(d)) return { show: "refused", message: `Only users with an e-mail address at ${domains.join(", ")} can join this meeting. You are signed in as someone else.` };
  }
  return { show: "meeting", meeting: key, settings, host, internal };
}
