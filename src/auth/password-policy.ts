import { dictionary } from "@zxcvbn-ts/language-common";

/**
 * Password rules. Two profiles:
 *  - "baseline" (default, Zoom's rules): minimum length (8–32), a letter and a digit, upper and
 *    lower case, not one repeated character, no runs such as 12345 or abcde, not a common
 *    password, optionally a special character;
 *  - "nist" (NIST SP 800-63B): no composition rules, minimum 15 characters (8 when MFA is
 *    enforced), not a common password.
 * Both accept up to 128 characters after Unicode NFKC normalisation and never truncate, and
 * both refuse the user's own e-mail address or name.
 */

/** MAX_PASSWORD_LENGTH is accepted in full, never truncated. */
export const MAX_PASSWORD_LENGTH = 128;

/** PasswordPolicy is the resolved policy for one user. */
export interface PasswordPolicy {
  profile: "baseline" | "nist";
  minLength: number;
  requireSpecial: boolean;
  mfaEnforced: boolean;
}

/** BASELINE_POLICY is the default policy. */
export const BASELINE_POLICY: PasswordPolicy = { profile: "baseline", minLength: 8, requireSpecial: false, mfaEnforced: false };

/** Lower-cased common passwords (about 49,000, from zxcvbn's list), embedded in the binary. */
let blocklist: Set<string> | undefined;
function isCommon(pw: string): boolean {
  blocklist ??= new Set((dictionary["passwords-common"] as string[]).map((p) => p.toLowerCase()));
  return blocklist.has(pw.toLowerCase());
}

/** normalisePassword applies Unicode NFKC so the same password typed differently matches. */
export function normalisePassword(pw: string): string {
  return pw.normalize("NFKC");
}

/** RUN_LENGTH is the shortest ascending or descending sequence refused (12345, edcba). */
const RUN_LENGTH = 5;

function hasRun(pw: string): boolean {
  const cps = [...pw.toLowerCase()].map((c) => c.codePointAt(0)!);
  let up = 1;
  let down = 1;
  for (let i = 1; i < cps.length; i++) {
    up = cps[i] === cps[i - 1]! + 1 ? up + 1 : 1;
    down = cps[i] === cps[i - 1]! - 1 ? down + 1 : 1;
    if (up >= RUN_LENGTH || down >= RUN_LENGTH) return true;
  }
  return false;
}

/** minimumLength is the effective minimum for a policy. */
export function minimumLength(policy: PasswordPolicy): number {
  if (policy.profile === "nist") return policy.mfaEnforced ? 8 : 15;
  return Math.min(32, Math.max(8, policy.minLength));
}

/** evaluatePassword names every rule the password fails (empty: acceptable). */
export function evaluatePassword(raw: string, policy: PasswordPolicy = BASELINE_POLICY, context: { email?: string; name?: string } = {}): string[] {
  const pw = normalisePassword(raw);
  const chars = [...pw];
  const failed: string[] = [];
  const min = minimumLength(policy);
  if (chars.length < min) failed.push(`at least ${min} characters`);
  if (chars.length > MAX_PASSWORD_LENGTH) failed.push(`at most ${MAX_PASSWORD_LENGTH} characters`);
  if (policy.profile === "baseline") {
    if (!/\p{L}/u.test(pw)) failed.push("at least one letter");
    if (!/\p{Nd}/u.test(pw)) failed.push("at least one digit");
    if (!(/\p{Lu}/u.test(pw) && /\p{Ll}/u.test(pw))) failed.push("both upper and lower case letters");
    if (policy.requireSpecial && !/[^\p{L}\p{Nd}]/u.test(pw)) failed.push("at least one special character (not a letter or digit)");
    if (chars.length > 1 && chars.every((c) => c === chars[0])) failed.push("not a single repeated character");
    if (hasRun(pw)) failed.push("no runs of consecutive characters such as 12345 or abcde");
  }
  if (pw && isCommon(pw)) failed.push("not a commonly used password");
  const lower = pw.toLowerCase();
  const local = context.email?.split("@")[0]?.toLowerCase();
  if ((context.email && lower === context.email.toLowerCase()) || (local && local.length >= 4 && lower.includes(local)) || (context.name && context.name.length >= 4 && lower === context.name.toLowerCase()))
    failed.push("not your e-mail address or name");
  return failed;
}

/** describePolicy is the one-line hint shown under password fields. */
export function describePolicy(policy: PasswordPolicy = BASELINE_POLICY): string {
  const min = minimumLength(policy);
  if (policy.profile === "nist") return `At least ${min} characters; long passphrases are welcome. Common passwords are refused.`;
  return `At least ${min} characters with upper and lower case letters and a digit${policy.requireSpecial ? " and a special character" : ""}; no runs like 12345; common passwords are refused.`;
}
