/**
 * The settings catalogue: every setting the hierarchy knows, with its type, default and the
 * levels it may be set at. Later features add their settings here.
 */
export type SettingSpec =
  | { type: "bool"; default: boolean; label: string; help: string; section: string }
  | { type: "int"; default: number; min: number; max: number; label: string; help: string; section: string }
  | { type: "choice"; default: string; choices: readonly string[]; label: string; help: string; section: string };

/** SETTINGS maps setting key → spec. */
export const SETTINGS = {
  "meeting.passcode_required": { type: "bool", default: true, section: "Meetings", label: "Require a passcode", help: "New meetings get a passcode; joining by ID asks for it." },
  "meeting.waiting_room": { type: "bool", default: true, section: "Meetings", label: "Waiting room", help: "Participants wait until the host admits them." },
  "meeting.join_before_host": { type: "bool", default: false, section: "Meetings", label: "Join before host", help: "Participants may enter before the host arrives." },
  "meeting.authenticated_only": { type: "bool", default: false, section: "Meetings", label: "Only authenticated users can join", help: "Guests without an account are refused." },
  "meeting.mute_on_entry": { type: "bool", default: false, section: "Meetings", label: "Mute participants on entry", help: "Microphones start muted." },
  "meeting.screen_share": { type: "choice", default: "host", choices: ["host", "all"], section: "Meetings", label: "Who can share screen", help: "host: host and co-hosts only; all: every participant." },
  "sip.encryption_required": { type: "bool", default: true, section: "Room systems", label: "Require encryption for SIP room systems", help: "Unencrypted SIP calls (no TLS/SRTP) are refused." },
  "security.session_idle_minutes": { type: "int", default: 120, min: 10, max: 720, section: "Security", label: "Sign out after inactivity (minutes)", help: "Web sessions idle for longer are ended." },
} as const satisfies Record<string, SettingSpec>;

/** SettingKey is a known setting. */
export type SettingKey = keyof typeof SETTINGS;

/** SettingValue is any setting's value. */
export type SettingValue = boolean | number | string;

/** isSettingKey narrows a string to a known setting key. */
export function isSettingKey(k: string): k is SettingKey {
  return Object.hasOwn(SETTINGS, k);
}

/** parseSettingValue converts form text to a setting's typed value, or returns an error message. */
export function parseSettingValue(key: SettingKey, raw: string): { value: SettingValue } | { error: string } {
  const spec: SettingSpec = SETTINGS[key];
  switch (spec.type) {
    case "bool":
      if (raw === "true" || raw === "on") return { value: true };
      if (raw === "false" || raw === "off" || raw === "") return { value: false };
      return { error: "must be on or off" };
    case "int": {
      if (!/^\d+$/.test(raw.trim())) return { error: `must be a whole number between ${spec.min} and ${spec.max}` };
      const n = Number(raw.trim());
      if (n < spec.min || n > spec.max) return { error: `must be between ${spec.min} and ${spec.max}` };
      return { value: n };
    }
    case "choice":
      if (!spec.choices.includes(raw)) return { error: `must be one of: ${spec.choices.join(", ")}` };
      return { value: raw };
  }
}
