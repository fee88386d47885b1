import type { AccountsDeps } from "../accounts/deps.ts";
import { resolveSettings } from "../accounts/settings.ts";
import type { PasswordPolicy } from "./password-policy.ts";

/** SecurityPolicy is everything sign-in and sessions need from the settings hierarchy for one user. */
export interface SecurityPolicy {
  idleMinutes: number;
  mfaRequired: boolean;
  password: PasswordPolicy;
  /** Days until a password expires; null: never (always null in the NIST profile). */
  expiryDays: number | null;
  /** How many previous passwords may not be reused (0: no rule). */
  historyCount: number;
  /** Most password changes in 24 h; null: no limit. */
  maxChangesPerDay: number | null;
  changeAtFirstSignIn: boolean;
  passwordSignInDisabled: boolean;
  allowedDomains: string[];
}

const num = (v: unknown): number | null => (v === "off" || v === undefined ? null : Number(v));

/** securityPolicy resolves a user's effective security settings (one settings lookup). */
export function securityPolicy(deps: AccountsDeps, accountId: string, userId: string | null): SecurityPolicy {
  const s = resolveSettings(deps, accountId, userId ? { level: "user", userId } : { level: "account" });
  const profile = s["password.profile"].value === "nist" ? "nist" : "baseline";
  const mfaRequired = s["security.mfa_required"].value === true;
  return {
    idleMinutes: s["security.session_idle_minutes"].value as number,
    mfaRequired,
    password: { profile, minLength: s["password.min_length"].value as number, requireSpecial: profile === "baseline" && s["password.require_special"].value === true, mfaEnforced: mfaRequired },
    expiryDays: profile === "nist" ? null : num(s["password.expiry_days"].value),
    historyCount: num(s["password.history"].value) ?? 0,
    maxChangesPerDay: num(s["password.max_changes_per_day"].value),
    changeAtFirstSignIn: s["password.change_at_first_signin"].value === true,
    passwordSignInDisabled: s["sso.password_signin_disabled"].value === true,
    allowedDomains: String(s["sso.allowed_domains"].value)
      .split(",")
      .map((d) => d.trim())
      .filter(Boolean),
  };
}

/** emailDomainAllowed checks an address against an allow-list (empty list allows all). */
export function emailDomainAllowed(email: string, allowed: string[]): boolean {
  if (!allowed.length) return true;
  const domain = email.split("@").pop()?.toLowerCase() ?? "";
  return allowed.includes(domain);
}
