import { auditActor, requirePermission, type Actor } from "../accounts/actor.ts";
import type { AccountsDeps } from "../accounts/deps.ts";
import { getUser, roleGrantable } from "../accounts/users.ts";
import { AppError, forbidden } from "../shared/errors.ts";
import { getRole } from "../storage/accounts-repo.ts";
import { deleteUserSessions } from "../storage/sessions-repo.ts";
import type { UserRecord } from "../storage/users-repo.ts";
import { removeMfa } from "./mfa.ts";
import { issueResetLink, mailResetLink } from "./password-change.ts";

/** target loads a user of the actor's account that the actor may manage (never someone more privileged, never the Owner unless the actor is the Owner). */
async function target(deps: AccountsDeps, actor: Actor, userId: string): Promise<UserRecord> {
  requirePermission(actor, "users:edit");
  const user = await getUser(deps, actor, userId);
  const role = getRole(deps.db, actor.accountId, user.roleId)!;
  if (role.kind === "owner" && actor.roleKind !== "owner") throw forbidden("Only the Owner can do this to the Owner.");
  if (role.kind !== "owner" && role.kind !== "member" && !roleGrantable(actor, role)) throw forbidden("This user's role has more privileges than yours.");
  return user;
}

/** unlockUser lifts a lockout at once. */
export async function unlockUser(deps: AccountsDeps, actor: Actor, userId: string): Promise<void> {
  const user = await target(deps, actor, userId);
  deps.db.$client.transaction(() => {
    deps.users.update(actor.accountId, userId, { failedAttempts: 0, lockedUntil: null });
    deps.audit.record(auditActor(actor), { action: "user.unlock", targetType: "user", targetId: userId, before: { lockedUntil: user.lockedUntil } });
  }).immediate();
}

/** resetUserMfa removes a user's authenticator and recovery codes (they enrol again if required). */
export async function resetUserMfa(deps: AccountsDeps, actor: Actor, userId: string): Promise<void> {
  const user = await target(deps, actor, userId);
  if (!user.totpEnabled) throw new AppError("conflict", "This user has no two-factor authentication to reset.");
  removeMfa(deps, user, auditActor(actor), "user.mfa_reset");
}

/** requirePasswordChange makes the user choose a new password at their next request and ends their sessions. */
export async function requirePasswordChange(deps: AccountsDeps, actor: Actor, userId: string): Promise<void> {
  const user = await target(deps, actor, userId);
  if (!user.passwordHash) throw new AppError("conflict", "This user signs in with single sign-on and has no password here.");
  deps.db.$client.transaction(() => {
    deps.users.update(actor.accountId, userId, { mustChangePassword: true });
    deleteUserSessions(deps.db, actor.accountId, userId);
    deps.audit.record(auditActor(actor), { action: "user.password_change_required", targetType: "user", targetId: userId });
  }).immediate();
}

/** sendPasswordReset e-mails the user a reset link (returned so the page can show it when mail is off). */
export async function sendPasswordReset(deps: AccountsDeps, actor: Actor, userId: string, baseUrl: string): Promise<{ url: string; mailed: boolean; email: string }> {
  const user = await target(deps, actor, userId);
  if (user.status !== "active") throw new AppError("conflict", "Only active users can reset their password.");
  const url = issueResetLink(deps, user, baseUrl);
  deps.audit.record(auditActor(actor), { action: "user.password_reset_sent", targetType: "user", targetId: userId });
  return { url, mailed: await mailResetLink(deps, user, url), email: user.email };
}
