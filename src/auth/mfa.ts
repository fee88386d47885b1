import QRCode from "qrcode";
import type { AuditActor } from "../audit/audit-log.ts";
import type { AccountsDeps } from "../accounts/deps.ts";
import { AppError } from "../shared/errors.ts";
import { sha256Hex } from "../shared/ids.ts";
import { replaceRecoveryCodes, unusedRecoveryCodes, useRecoveryCode } from "../storage/identity-repo.ts";
import type { UserRecord } from "../storage/users-repo.ts";
import { newTotpSecret, otpauthUri, verifyTotp } from "./totp.ts";

/** RECOVERY_CODES is how many single-use codes a user gets at enrolment. */
export const RECOVERY_CODES = 10;

const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

/** newRecoveryCode returns a random code like "k7m2q-x9pfd" (50 bits). */
function newRecoveryCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  const chars = [...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("");
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

function recoveryHash(userId: string, code: string): string {
  return sha256Hex(`${userId}\0${code.trim().toLowerCase()}`);
}

/** Enrolment is what the enrolment page shows. */
export interface Enrolment {
  secret: string;
  uri: string;
  qrSvgDataUrl: string;
}

/** beginEnrolment creates (or reuses) a pending TOTP secret for the user. */
export async function beginEnrolment(deps: AccountsDeps, user: UserRecord, issuer: string): Promise<Enrolment> {
  if (user.totpEnabled) throw new AppError("conflict", "Two-factor authentication is already set up.");
  let secret = await deps.users.totpSecret(user.accountId, user.id);
  if (!secret) {
    secret = newTotpSecret();
    deps.users.setSealedTotp(user.accountId, user.id, await deps.users.sealTotp(user.accountId, user.id, secret), false);
  }
  const uri = otpauthUri(secret, issuer, user.email);
  const svg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  return { secret, uri, qrSvgDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}` };
}

/** confirmEnrolment turns MFA on when the code matches, and returns the recovery codes (shown once). */
export async function confirmEnrolment(deps: AccountsDeps, user: UserRecord, code: string, by: AuditActor): Promise<string[] | null> {
  const secret = await deps.users.totpSecret(user.accountId, user.id);
  if (!secret || user.totpEnabled) throw new AppError("conflict", "Start the set-up again.");
  const r = verifyTotp(secret, code, deps.clock.now(), null);
  if (!r.ok) return null;
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
  deps.db.$client.transaction(() => {
    deps.users.update(user.accountId, user.id, { totpEnabled: true, totpLastStep: r.step });
    replaceRecoveryCodes(deps.db, user.accountId, user.id, codes.map((c) => recoveryHash(user.id, c)));
    deps.audit.record(by, { action: "user.mfa_enrol", targetType: "user", targetId: user.id, detail: { method: "totp" } });
  }).immediate();
  return codes;
}

/** SecondFactor is the outcome of checking a code at sign-in. */
export type SecondFactor = { ok: true; method: "totp" | "recovery_code" } | { ok: false; reason: "invalid" | "replayed" };

/** verifySecondFactor checks a TOTP code (refusing replays) or consumes a recovery code. */
export async function verifySecondFactor(deps: AccountsDeps, user: UserRecord, code: string): Promise<SecondFactor> {
  const now = deps.clock.now();
  const trimmed = code.trim();
  if (/^\d[\d ]*$/.test(trimmed)) {
    const secret = await deps.users.totpSecret(user.accountId, user.id);
    if (!secret) return { ok: false, reason: "invalid" };
    const r = verifyTotp(secret, trimmed, now, user.totpLastStep);
    if (!r.ok) return r;
    // Conditional update: two concurrent requests with the same code cannot both pass.
    const upd = deps.db.$client
      .query("UPDATE users SET totp_last_step = ? WHERE account_id = ? AND id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)")
      .run(r.step, user.accountId, user.id, r.step);
    return upd.changes === 1 ? { ok: true, method: "totp" } : { ok: false, reason: "replayed" };
  }
  if (trimmed.length > 20) return { ok: false, reason: "invalid" };
  return useRecoveryCode(deps.db, user.accountId, user.id, recoveryHash(user.id, trimmed), now) ? { ok: true, method: "recovery_code" } : { ok: false, reason: "invalid" };
}

/** remainingRecoveryCodes counts unused recovery codes. */
export function remainingRecoveryCodes(deps: AccountsDeps, user: UserRecord): number {
  return unusedRecoveryCodes(deps.db, user.accountId, user.id);
}

/** removeMfa turns MFA off and deletes the secret and recovery codes (admin reset or the user's own choice). */
export function removeMfa(deps: AccountsDeps, user: UserRecord, by: AuditActor, action: "user.mfa_reset" | "user.mfa_disable"): void {
  deps.db.$client.transaction(() => {
    deps.users.setSealedTotp(user.accountId, user.id, null, false);
    replaceRecoveryCodes(deps.db, user.accountId, user.id, []);
    deps.audit.record(by, { action, targetType: "user", targetId: user.id });
  }).immediate();
}
