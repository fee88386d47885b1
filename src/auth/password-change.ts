import type { AuditActor } from "../audit/audit-log.ts";
import type { AccountsDeps } from "../accounts/deps.ts";
import { AppError, invalid } from "../shared/errors.ts";
import { randomToken, sha256Hex } from "../shared/ids.ts";
import { addPasswordHistory, passwordChangesSince, recentPasswordHashes } from "../storage/identity-repo.ts";
import { deleteUserSessions, insertToken, revokeTokens } from "../storage/sessions-repo.ts";
import type { UserRecord } from "../storage/users-repo.ts";
import { evaluatePassword } from "./password-policy.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { securityPolicy } from "./policy.ts";
import { checkToken, consumeToken } from "./setup-token.ts";

/** RESET_TTL_MS: e-mailed reset links work once, for one hour. */
export const RESET_TTL_MS = 60 * 60_000;

/** NewPasswordOptions says who sets the password and whether the per-day limit applies. */
export interface NewPasswordOptions {
  by: AuditActor;
  action: string;
  /** The user's own change counts toward "at most N changes per 24 h"; resets do not. */
  selfService: boolean;
  /** Keep this session (the one making the change); every other session of the user ends. */
  keepSessionId?: string;
  /** Ask for another change at next sign-in (temporary password set by someone else). */
  mustChange?: boolean;
}

/**
 * checkNewPassword applies the user's effective policy: rules, no reuse of the last N, and the
 * daily change limit. Throws invalid_input naming each failed rule on the `password` field.
 */
export async function checkNewPassword(deps: AccountsDeps, user: UserRecord, password: string, confirm: string, selfService: boolean): Promise<void> {
  const policy = securityPolicy(deps, user.accountId, user.id);
  const failures = evaluatePassword(password, policy.password, { email: user.email, name: user.name });
  if (failures.length) throw invalid({ password: `The password needs ${failures.join("; ")}.` });
  if (password !== confirm) throw invalid({ confirm: "The two passwords differ." });
  if (policy.historyCount > 0) {
    const previous = recentPasswordHashes(deps.db, user.accountId, user.id, policy.historyCount);
    if (user.passwordHash && !previous.includes(user.passwordHash)) previous.unshift(user.passwordHash);
    for (const h of previous.slice(0, policy.historyCount)) {
      if (await verifyPassword(password, h)) throw invalid({ password: `The password must differ from your previous ${policy.historyCount} passwords.` });
    }
  }
  if (selfService && policy.maxChangesPerDay !== null) {
    const n = passwordChangesSince(deps.db, user.accountId, user.id, deps.clock.now() - 86_400_000);
    if (n >= policy.maxChangesPerDay) throw invalid({ password: `You can change your password at most ${policy.maxChangesPerDay} time(s) in 24 hours. Try again later.` });
  }
}

/** setNewPassword checks and stores a password, records history, ends other sessions and audits. */
export async function setNewPassword(deps: AccountsDeps, user: UserRecord, password: string, confirm: string, opts: NewPasswordOptions): Promise<void> {
  await checkNewPassword(deps, user, password, confirm, opts.selfService);
  const hash = await hashPassword(password);
  const now = deps.clock.now();
  deps.db.$client.transaction(() => {
    deps.users.update(user.accountId, user.id, { passwordHash: hash, passwordChangedAt: opts.mustChange ? null : now, mustChangePassword: opts.mustChange ?? false, updatedAt: now });
    addPasswordHistory(deps.db, user.accountId, user.id, hash, now, opts.selfService ? "change" : "reset");
    if (opts.keepSessionId) deps.db.$client.query("DELETE FROM sessions WHERE account_id = ? AND user_id = ? AND id <> ?").run(user.accountId, user.id, opts.keepSessionId);
    else deleteUserSessions(deps.db, user.accountId, user.id);
    deps.audit.record(opts.by, { action: opts.action, targetType: "user", targetId: user.id });
  }).immediate();
}

/** changeOwnPassword lets a signed-in user change their password (current one required). */
export async function changeOwnPassword(
  deps: AccountsDeps,
  actor: AuditActor & { accountId: string; userId: string },
  sessionId: string,
  input: { current: string; password: string; confirm: string },
): Promise<void> {
  const user = await deps.users.get(actor.accountId, actor.userId);
  if (!user) throw new AppError("not_found", "No such user.");
  if (!user.passwordHash || !(await verifyPassword(input.current, user.passwordHash))) throw invalid({ current: "Your current password is not correct." });
  await setNewPassword(deps, user, input.password, input.confirm, { by: actor, action: "user.password_change", selfService: true, keepSessionId: sessionId });
}

/** issueResetLink creates a single-use, one-hour reset link for a user. */
export function issueResetLink(deps: AccountsDeps, user: UserRecord, baseUrl: string): string {
  const token = randomToken();
  const now = deps.clock.now();
  revokeTokens(deps.db, "password_reset", now, user.id);
  insertToken(deps.db, { tokenHash: sha256Hex(token), purpose: "password_reset", accountId: user.accountId, userId: user.id, createdAt: now, expiresAt: now + RESET_TTL_MS, usedAt: null });
  return `${baseUrl}/reset?token=${token}`;
}

/** mailResetLink e-mails a reset link; false when mail is off or fails. */
export async function mailResetLink(deps: AccountsDeps, user: UserRecord, url: string): Promise<boolean> {
  if (!deps.mailer.enabled) return false;
  try {
    await deps.mailer.send({
      to: user.email,
      subject: "Reset your Conclave password",
      text: `Hello ${user.name},\n\nOpen this link to choose a new password. It works once and expires in one hour:\n\n${url}\n\nIf you did not ask for this, ignore this message; your password stays as it is.\n`,
    });
    return true;
  } catch {
    return false;
  }
}

/** requestPasswordReset e-mails a link to an active user; the caller shows the same answer whether or not the address exists. */
export async function requestPasswordReset(deps: AccountsDeps, email: string, baseUrl: string, meta: { ip: string; userAgent: string }): Promise<void> {
  const user = email.length <= 254 ? await deps.users.findByEmail(email) : undefined;
  if (!user || user.status !== "active" || !user.passwordHash) return;
  const url = issueResetLink(deps, user, baseUrl);
  deps.audit.record({ ...meta, accountId: user.accountId, userId: user.id, label: `${user.name} <${user.email}>` }, { action: "user.password_reset_requested", targetType: "user", targetId: user.id });
  await mailResetLink(deps, user, url);
}

/** resetTarget returns the user behind a reset token, or why it cannot be used. */
export async function resetTarget(deps: AccountsDeps, token: string): Promise<{ ok: true; user: UserRecord } | { ok: false; reason: string }> {
  const t = checkToken(deps.db, deps.clock, "password_reset", token);
  if (!t.ok) return { ok: false, reason: t.reason };
  const user = await deps.users.get(t.accountId!, t.userId!);
  if (!user || user.status !== "active") return { ok: false, reason: "unknown" };
  return { ok: true, user };
}

/** completePasswordReset sets the new password from a reset link; it also lifts a lockout. */
export async function completePasswordReset(deps: AccountsDeps, token: string, password: string, confirm: string, meta: { ip: string; userAgent: string }): Promise<UserRecord> {
  const t = await resetTarget(deps, token);
  if (!t.ok) throw new AppError("invalid_input", "This reset link is no longer valid. Ask for a new one.");
  await checkNewPassword(deps, t.user, password, confirm, false);
  if (!consumeToken(deps.db, deps.clock, token)) throw new AppError("invalid_input", "This reset link has already been used.");
  await setNewPassword(deps, t.user, password, confirm, {
    by: { ...meta, accountId: t.user.accountId, userId: t.user.id, label: `${t.user.name} <${t.user.email}>` },
    action: "user.password_reset",
    selfService: false,
  });
  deps.users.update(t.user.accountId, t.user.id, { failedAttempts: 0, lockedUntil: null });
  return t.user;
}
