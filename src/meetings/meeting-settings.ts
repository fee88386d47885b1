/**
 * A meeting's effective security settings: the settings hierarchy for its owner
 * (account → groups → user), then the meeting's own overrides where no level above locks them.
 */
import type { AccountsDeps } from "../accounts/deps.ts";
import { SETTINGS, parseSettingValue, type SettingKey, type SettingValue } from "../accounts/setting-definitions.ts";
import { resolveSettings, type Source } from "../accounts/settings.ts";
import type { RoomPolicy } from "./room-policy.ts";

/** MEETING_SETTING_KEYS are the settings a meeting may override. */
export const MEETING_SETTING_KEYS = [
  "meeting.passcode_required",
  "meeting.waiting_room",
  "meeting.join_before_host",
  "meeting.authenticated_only",
  "meeting.allowed_domains",
  "meeting.internal_bypass_waiting_room",
  "meeting.mute_on_entry",
  "meeting.screen_share",
] as const satisfies readonly SettingKey[];

/** MeetingSettingKey is one overridable meeting setting. */
export type MeetingSettingKey = (typeof MEETING_SETTING_KEYS)[number];

/** MeetingSetting is one setting as the meeting page shows it. */
export interface MeetingSetting {
  key: MeetingSettingKey;
  /** what applies to this meeting */
  value: SettingValue;
  /** what the owner's settings say (the "default" choice on the form) */
  inherited: SettingValue;
  /** the meeting's own value, if it overrides */
  override: SettingValue | null;
  /** set when a level above the owner locks it: the override (if any) is ignored */
  lockedBy: Source | null;
}

/** MeetingSettings is every overridable setting of one meeting. */
export type MeetingSettings = Record<MeetingSettingKey, MeetingSetting>;

/** meetingSettings resolves a meeting's effective settings. */
export function meetingSettings(deps: AccountsDeps, accountId: string, ownerUserId: string, overrides: Record<string, SettingValue>): MeetingSettings {
  const owner = resolveSettings(deps, accountId, { level: "user", userId: ownerUserId });
  const out = {} as MeetingSettings;
  for (const key of MEETING_SETTING_KEYS) {
    const e = owner[key];
    const own = Object.hasOwn(overrides, key) ? overrides[key]! : null;
    const usable = own !== null && e.lockedBy === null && typeof own === typeof SETTINGS[key].default;
    out[key] = { key, value: usable ? own : e.value, inherited: e.value, override: own, lockedBy: e.lockedBy };
  }
  return out;
}

/** domainsOf splits a comma-separated domain list. */
export function domainsOf(v: SettingValue): string[] {
  return String(v).split(",").map((d) => d.trim().toLowerCase()).filter(Boolean);
}

/** policyOf turns effective settings into what the live room enforces. */
export function policyOf(s: MeetingSettings): RoomPolicy {
  return {
    waitingRoom: s["meeting.waiting_room"].value === true,
    joinBeforeHost: s["meeting.join_before_host"].value === true,
    authenticatedOnly: s["meeting.authenticated_only"].value === true,
    allowedDomains: domainsOf(s["meeting.allowed_domains"].value),
    internalBypassWaitingRoom: s["meeting.internal_bypass_waiting_room"].value === true,
    muteOnEntry: s["meeting.mute_on_entry"].value === true,
    screenShare: s["meeting.screen_share"].value === "all" ? "all" : "host",
  };
}

/**
 * parseOverrides reads the schedule/edit form: each key is "inherit" (or absent) or a value.
 * Locked keys are refused with a message naming the lock; bad values name the setting.
 */
export function parseOverrides(
  deps: AccountsDeps,
  accountId: string,
  ownerUserId: string,
  form: Partial<Record<MeetingSettingKey, string>>,
): { overrides: Record<string, SettingValue>; errors: Record<string, string> } {
  const owner = resolveSettings(deps, accountId, { level: "user", userId: ownerUserId });
  const overrides: Record<string, SettingValue> = {};
  const errors: Record<string, string> = {};
  for (const key of MEETING_SETTING_KEYS) {
    const raw = form[key];
    if (raw === undefined || raw === "inherit") continue;
    const label = SETTINGS[key].label;
    const lock = owner[key].lockedBy;
    if (lock) {
      errors[key] = `“${label}” is locked by ${lock.level === "account" ? "the account" : lock.name} and cannot be changed for this meeting.`;
      continue;
    }
    const parsed = parseSettingValue(key, raw);
    if ("error" in parsed) errors[key] = `${label} ${parsed.error}.`;
    else overrides[key] = parsed.value;
  }
  return { overrides, errors };
}
