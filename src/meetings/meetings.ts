/**
 * Scheduling: create (scheduled or instant), list, view, edit and delete one's own meetings.
 * Every query is scoped to the actor's account and to the meeting's owner (404 otherwise);
 * every change is audited in the transaction that makes it.
 */
import { auditActor, requirePermission, type Actor } from "../accounts/actor.ts";
import type { AccountsDeps } from "../accounts/deps.ts";
import type { SettingValue } from "../accounts/setting-definitions.ts";
import { invalid, notFound } from "../shared/errors.ts";
import { newId } from "../shared/ids.ts";
import type { Logger } from "../shared/logger.ts";
import type { AttendanceRecord, MeetingRecord, MeetingsRepo } from "../storage/meetings-repo.ts";

export type { AttendanceRecord, MeetingRecord } from "../storage/meetings-repo.ts";
import { randomDialPasscode, randomLinkToken, randomMeetingNumber, randomPasscode } from "./codes.ts";
import { meetingSettings, parseOverrides, type MeetingSettingKey, type MeetingSettings, MEETING_SETTING_KEYS } from "./meeting-settings.ts";

/** MeetingsDeps is what the meetings domain needs from the composition root. */
export interface MeetingsDeps {
  accounts: AccountsDeps;
  repo: MeetingsRepo;
  log: Logger;
  /** external base URL for join links */
  baseUrl: string;
  /** called after a meeting's topic or settings change, so a live room re-checks everyone */
  onChanged?: (accountId: string, meetingId: string) => void;
  /** called after a meeting is deleted, so a live room ends */
  onDeleted?: (accountId: string, meetingId: string) => void;
}

/** MeetingForm is the schedule/edit form as submitted (strings). */
export interface MeetingForm {
  topic: string;
  description: string;
  /** "YYYY-MM-DDTHH:MM" in UTC (datetime-local) */
  start: string;
  duration: string;
  recurrence: string;
  count: string;
  settings: Partial<Record<MeetingSettingKey, string>>;
}

/** MeetingView is a meeting with its effective settings. */
export interface MeetingView extends MeetingRecord {
  settings: MeetingSettings;
}

const RECURRENCES = ["none", "daily", "weekly", "monthly"] as const;
const MAX_TOPIC = 200;
const MAX_DESCRIPTION = 2000;

/** parseStart reads "YYYY-MM-DDTHH:MM" as UTC. */
function parseStart(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2})?$/.exec(s.trim());
  if (!m) return null;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!);
  const d = new Date(t);
  return d.getUTCMonth() === +m[2]! - 1 && d.getUTCDate() === +m[3]! && +m[4]! < 24 && +m[5]! < 60 ? t : null;
}

/** validateForm checks a schedule/edit form; errors name the field and what to fix. */
function validateForm(deps: MeetingsDeps, actor: Actor, ownerUserId: string, f: MeetingForm, now: number, editing: boolean) {
  const errors: Record<string, string> = {};
  const topic = f.topic.normalize("NFC").trim();
  if (!topic) errors.topic = "Enter a topic.";
  else if ([...topic].length > MAX_TOPIC) errors.topic = `The topic can be at most ${MAX_TOPIC} characters.`;
  else if (/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(topic)) errors.topic = "The topic cannot contain control or text-direction override characters.";
  const description = f.description.normalize("NFC").replace(/\r\n/g, "\n").trim();
  if ([...description].length > MAX_DESCRIPTION) errors.description = `The description can be at most ${MAX_DESCRIPTION} characters.`;
  const startAt = parseStart(f.start);
  if (startAt === null) errors.start = "Enter the start as a date and time (UTC), e.g. 2026-03-01T09:30.";
  else if (!editing && startAt < now - 5 * 60_000) errors.start = "The start time is in the past. Choose a time from now on.";
  const duration = Number(f.duration);
  if (!/^\d+$/.test(f.duration.trim()) || duration < 5 || duration > 24 * 60) errors.duration = "The duration must be a whole number of minutes between 5 and 1440.";
  const recurrence = (RECURRENCES as readonly string[]).includes(f.recurrence) ? (f.recurrence as MeetingRecord["recurrence"]) : null;
  if (!recurrence) errors.recurrence = "Choose how the meeting repeats: none, daily, weekly or monthly.";
  let recurrenceCount: number | null = null;
  if (recurrence && recurrence !== "none") {
    recurrenceCount = Number(f.count);
    if (!/^\d+$/.test(f.count.trim()) || recurrenceCount < 2 || recurrenceCount > 100) errors.count = "A repeating meeting needs a number of occurrences between 2 and 100.";
  }
  const o = parseOverrides(deps.accounts, actor.accountId, ownerUserId, f.settings);
  Object.assign(errors, o.errors);
  if (Object.keys(errors).length) throw invalid(errors);
  return { topic, description, startAt: startAt!, durationMinutes: duration, recurrence: recurrence!, recurrenceCount, overrides: o.overrides };
}

/** freshNumber picks a meeting number no meeting uses. */
function freshNumber(repo: MeetingsRepo): string {
  for (let i = 0; i < 20; i++) {
    const n = randomMeetingNumber();
    if (!repo.numberTaken(n)) return n;
  }
  throw new Error("could not find a free meeting number");
}

/** scheduleMeeting creates a scheduled meeting owned by the actor. */
export async function scheduleMeeting(deps: MeetingsDeps, actor: Actor, form: MeetingForm): Promise<MeetingRecord> {
  const now = deps.accounts.clock.now();
  const v = validateForm(deps, actor, actor.userId, form, now, false);
  return create(deps, actor, { ...v, kind: "scheduled" }, now);
}

/** startInstantMeeting creates a meeting that starts now (one hour, the owner's settings). */
export async function startInstantMeeting(deps: MeetingsDeps, actor: Actor): Promise<MeetingRecord> {
  const now = deps.accounts.clock.now();
  const name = actor.label.replace(/\s*<[^>]*>$/, "");
  return create(deps, actor, { topic: `${name}'s meeting`, description: "", startAt: now, durationMinutes: 60, recurrence: "none", recurrenceCount: null, overrides: {}, kind: "instant" }, now);
}

async function create(
  deps: MeetingsDeps,
  actor: Actor,
  v: Pick<MeetingRecord, "topic" | "description" | "startAt" | "durationMinutes" | "recurrence" | "recurrenceCount" | "kind"> & { overrides: Record<string, SettingValue> },
  now: number,
): Promise<MeetingRecord> {
  const rec = {
    ...v, id: newId(), accountId: actor.accountId, ownerUserId: actor.userId, number: freshNumber(deps.repo),
    passcode: randomPasscode(), dialPasscode: randomDialPasscode(), linkToken: randomLinkToken(),
  };
  await deps.repo.insert(rec, now, () => {
    deps.accounts.audit.record(auditActor(actor), {
      action: "meeting.create", targetType: "meeting", targetId: rec.id,
      detail: { kind: v.kind, number: rec.number }, after: { topic: v.topic, startAt: v.startAt, durationMinutes: v.durationMinutes, recurrence: v.recurrence, recurrenceCount: v.recurrenceCount, overrides: v.overrides },
    });
  });
  return (await deps.repo.get(actor.accountId, rec.id))!;
}

/** getMeeting returns one of the actor's own meetings with its effective settings (404 for anyone else's). */
export async function getMeeting(deps: MeetingsDeps, actor: Actor, id: string): Promise<MeetingView> {
  const m = await deps.repo.get(actor.accountId, id);
  if (!m || m.ownerUserId !== actor.userId) throw notFound("No such meeting.");
  return { ...m, settings: meetingSettings(deps.accounts, m.accountId, m.ownerUserId, m.overrides) };
}

/** listMeetings returns the actor's meetings that are upcoming, live or recurring. */
export async function listMeetings(deps: MeetingsDeps, actor: Actor): Promise<MeetingRecord[]> {
  return deps.repo.listForOwner(actor.accountId, actor.userId, deps.accounts.clock.now());
}

/** editMeeting changes topic, description, time, recurrence and setting overrides. */
export async function editMeeting(deps: MeetingsDeps, actor: Actor, id: string, form: MeetingForm): Promise<void> {
  const before = await getMeeting(deps, actor, id);
  const v = validateForm(deps, actor, before.ownerUserId, form, deps.accounts.clock.now(), true);
  await deps.repo.update(actor.accountId, id, v, deps.accounts.clock.now(), () => {
    deps.accounts.audit.record(auditActor(actor), {
      action: "meeting.update", targetType: "meeting", targetId: id,
      before: { topic: before.topic, startAt: before.startAt, durationMinutes: before.durationMinutes, recurrence: before.recurrence, recurrenceCount: before.recurrenceCount, overrides: before.overrides },
      after: { topic: v.topic, startAt: v.startAt, durationMinutes: v.durationMinutes, recurrence: v.recurrence, recurrenceCount: v.recurrenceCount, overrides: v.overrides },
    });
  });
  deps.onChanged?.(actor.accountId, id);
}

/** deleteMeeting removes a meeting with its attendance and chat; a live room ends. */
export async function deleteMeeting(deps: MeetingsDeps, actor: Actor, id: string): Promise<void> {
  const m = await getMeeting(deps, actor, id);
  deps.repo.delete(actor.accountId, id, () => {
    deps.accounts.audit.record(auditActor(actor), { action: "meeting.delete", targetType: "meeting", targetId: id, detail: { number: m.number }, before: { topic: m.topic, startAt: m.startAt } });
  });
  deps.onDeleted?.(actor.accountId, id);
}

/** emptyForm is the schedule form's starting values (next full hour, 60 minutes, owner's settings). */
export function emptyForm(now: number): MeetingForm {
  const start = new Date(Math.ceil(now / 3_600_000) * 3_600_000).toISOString().slice(0, 16);
  return { topic: "", description: "", start, duration: "60", recurrence: "none", count: "", settings: {} };
}

/** formOf turns a stored meeting back into form values (editing). */
export function formOf(m: MeetingRecord): MeetingForm {
  const settings: Partial<Record<MeetingSettingKey, string>> = {};
  for (const k of MEETING_SETTING_KEYS) if (Object.hasOwn(m.overrides, k)) settings[k] = String(m.overrides[k]);
  return {
    topic: m.topic, description: m.description, start: new Date(m.startAt).toISOString().slice(0, 16), duration: String(m.durationMinutes),
    recurrence: m.recurrence, count: m.recurrenceCount ? String(m.recurrenceCount) : "", settings,
  };
}

/** joinUrl is the link with the passcode token embedded. */
export function joinUrl(baseUrl: string, m: Pick<MeetingRecord, "number" | "linkToken">): string {
  return `${baseUrl}/j/${m.number}?pwd=${m.linkToken}`;
}

/** AccountMeeting is what administrators see of any meeting in their account (never its passcodes or link). */
export type AccountMeeting = Omit<MeetingRecord, "passcode" | "dialPasscode" | "linkToken"> & { ownerName: string; seats: number };

const withoutSecrets = ({ passcode: _p, dialPasscode: _d, linkToken: _l, ...rest }: MeetingRecord): Omit<MeetingRecord, "passcode" | "dialPasscode" | "linkToken"> => rest;

/** listAccountMeetings lists the account's latest 200 meetings for administrators who may read the operation log. */
export async function listAccountMeetings(deps: MeetingsDeps, actor: Actor): Promise<AccountMeeting[]> {
  requirePermission(actor, "audit:view");
  const users = new Map((await deps.accounts.users.list(actor.accountId)).map((u) => [u.id, u.name]));
  return (await deps.repo.listForAccount(actor.accountId, 200)).map((m) => ({ ...withoutSecrets(m), seats: m.seats, ownerName: users.get(m.ownerUserId) ?? "(deleted user)" }));
}

/** accountMeetingAttendance returns one account meeting with its attendance, for administrators (404 for other accounts). */
export async function accountMeetingAttendance(deps: MeetingsDeps, actor: Actor, id: string): Promise<{ meeting: AccountMeeting; attendance: AttendanceRecord[] }> {
  requirePermission(actor, "audit:view");
  const m = await deps.repo.get(actor.accountId, id);
  if (!m) throw notFound("No such meeting.");
  const owner = await deps.accounts.users.get(actor.accountId, m.ownerUserId);
  const attendance = await deps.repo.attendance(actor.accountId, id);
  return { meeting: { ...withoutSecrets(m), seats: attendance.length, ownerName: owner?.name ?? "(deleted user)" }, attendance };
}
