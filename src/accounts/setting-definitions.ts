/**
 * The settings catalogue: every setting the hierarchy knows, with its type, default and the
 * levels it may be set at. Later features add their settings here.
 */
/** Levels a setting may be set at; security settings are not user-adjustable. */
export type SettingLevelName = "account" | "group" | "user";
const ADMIN_LEVELS = ["account", "group"] as const;
const ACCOUNT_ONLY = ["account"] as const;

export type SettingSpec = { levels?: readonly SettingLevelName[] } & (
  | { type: "bool"; default: boolean; label: string; help: string; section: string }
  | { type: "int"; default: number; min: number; max: number; label: string; help: string; section: string }
  | { type: "choice"; default: string; choices: readonly string[]; label: string; help: string; section: string }
  | { type: "text"; default: string; maxLength: number; pattern: string; patternHelp: string; label: string; help: string; section: string }
);

/** SETTINGS maps setting key → spec. */
export const SETTINGS = {
  "meeting.passcode_required": { type: "bool", default: true, section: "Meetings", label: "Require a passcode", help: "New meetings get a passcode; joining by ID asks for it." },
  "meeting.waiting_room": { type: "bool", default: true, section: "Meetings", label: "Waiting room", help: "Participants wait until the host admits them." },
  "meeting.join_before_host": { type: "bool", default: false, section: "Meetings", label: "Join before host", help: "Participants may enter before the host arrives." },
  "meeting.authenticated_only": { type: "bool", default: false, section: "Meetings", label: "Only authenticated users can join", help: "Guests without an account are refused." },
  "meeting.mute_on_entry": { type: "bool", default: false, section: "Meetings", label: "Mute participants on entry", help: "Microphones start muted." },
  "meeting.allowed_domains": { type: "text", default: "", maxLength: 500, pattern: "^([a-z0-9.-]+\\.[a-z]{2,}(\\s*,\\s*[a-z0-9.-]+\\.[a-z]{2,})*)?$", patternHelp: "a comma-separated list of domains such as example.org, example.com", section: "Meetings", label: "Only users of these e-mail domains can join", help: "Comma-separated; participants must sign in with an address of one of them. Empty allows anyone (subject to the other settings)." },
  "meeting.internal_bypass_waiting_room": { type: "bool", default: false, section: "Meetings", label: "Internal users skip the waiting room", help: "Signed-in members of this account join directly; external participants wait to be admitted." },
  "meeting.screen_share": { type: "choice", default: "host", choices: ["host", "all"], section: "Meetings", label: "Who can share screen", help: "host: host and co-hosts only; all: every participant." },
  "sip.encryption_required": { levels: ADMIN_LEVELS, type: "bool", default: true, section: "Room systems", label: "Require encryption for SIP room systems", help: "Unencrypted SIP calls (no TLS/SRTP) are refused." },
  "security.session_idle_minutes": { levels: ADMIN_LEVELS, type: "int", default: 120, min: 10, max: 120, section: "Security", label: "Sign out after inactivity (minutes)", help: "Web sessions idle for longer are ended (10–120; 20 is the stricter common choice)." },
  "security.mfa_required": { levels: ADMIN_LEVELS, type: "bool", default: false, section: "Security", label: "Require two-factor authentication (TOTP)", help: "Users must enrol an authenticator app at their next sign-in." },
  "password.profile": { levels: ADMIN_LEVELS, type: "choice", default: "baseline", choices: ["baseline", "nist"], section: "Passwords", label: "Password profile", help: "baseline: length, letters, digits, upper and lower case, no runs, not common. nist: NIST SP 800-63B — no composition rules, no expiry, minimum 15 (8 with MFA enforced), not common." },
  "password.min_length": { levels: ADMIN_LEVELS, type: "int", default: 8, min: 8, max: 32, section: "Passwords", label: "Minimum length (baseline profile)", help: "8–32 characters." },
  "password.require_special": { levels: ADMIN_LEVELS, type: "bool", default: false, section: "Passwords", label: "Require a special character", help: "Conflicts with NIST SP 800-63B and NCSC guidance (composition rules push users to predictable patterns)." },
  "password.change_at_first_signin": { levels: ADMIN_LEVELS, type: "bool", default: false, section: "Passwords", label: "Require a change at first sign-in", help: "New users choose a new password after their first sign-in." },
  "password.expiry_days": { levels: ADMIN_LEVELS, type: "choice", default: "off", choices: ["off", "30", "60", "90", "120"], section: "Passwords", label: "Password expiry (days)", help: "Conflicts with NIST SP 800-63B and NCSC guidance, which advise against forced periodic changes. Ignored by the NIST profile." },
  "password.history": { levels: ADMIN_LEVELS, type: "choice", default: "off", choices: ["off", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"], section: "Passwords", label: "Refuse the previous N passwords", help: "No reuse of recent passwords." },
  "password.max_changes_per_day": { levels: ADMIN_LEVELS, type: "choice", default: "off", choices: ["off", "1", "2", "3", "4", "5", "6", "7", "8"], section: "Passwords", label: "At most N password changes per 24 hours", help: "Stops cycling through passwords to defeat the history rule (3 is common)." },
  "sso.password_signin_disabled": { levels: ACCOUNT_ONLY, type: "bool", default: false, section: "Single sign-on", label: "Disable password sign-in (SSO only)", help: "Users must sign in through the SAML identity provider. The Owner keeps an audited break-glass password sign-in." },
  "sso.allowed_domains": { levels: ACCOUNT_ONLY, type: "text", default: "", maxLength: 500, pattern: "^([a-z0-9.-]+\\.[a-z]{2,}(\\s*,\\s*[a-z0-9.-]+\\.[a-z]{2,})*)?$", patternHelp: "a comma-separated list of domains such as example.org, example.com", section: "Single sign-on", label: "Restrict sign-in to these e-mail domains", help: "Comma-separated; empty allows any domain." },
} as const satisfies Record<string, SettingSpec>;

/** SettingKey is a known setting. */
export type SettingKey = keyof typeof SETTINGS;

/** SettingValue is any setting's value. */
export type SettingValue = boolean | number | string;

/** settingAllowedAt tells whether a setting may be stored at a level. */
export function settingAllowedAt(key: SettingKey, level: SettingLevelName): boolean {
  const spec: SettingSpec = SETTINGS[key];
  return (spec.levels ?? ["account", "group", "user"]).includes(level);
}

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
    case "text": {
      const v = raw.trim().toLowerCase();
      if (v.length > spec.maxLength) return { error: `must be at most ${spec.maxLength} characters` };
      if (!new RegExp(spec.pattern).test(v)) return { error: `must be ${spec.patternHelp}` };
      return { value: v };
    }
  }
}
