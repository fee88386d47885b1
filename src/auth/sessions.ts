import { getRole } from "../storage/accounts-repo.ts";
import type { Db } from "../storage/db.ts";
import { deleteSession, getSession, insertSession, purgeExpiredSessions, touchSession } from "../storage/sessions-repo.ts";
import type { UserRecord, UsersRepo } from "../storage/users-repo.ts";
import type { SecurityPolicy } from "./policy.ts";
import type { Clock } from "../shared/clock.ts";
import { constantTimeEqual, randomToken, sha256Hex } from "../shared/ids.ts";
import type { Actor } from "../accounts/actor.ts";
import { effectivePermissions, type RoleKind } from "../accounts/permissions.ts";

/** SessionDeps is what session handling needs. */
export interface SessionDeps {
  db: Db;
  clock: Clock;
  users: UsersRepo;
  sessionHours: number;
  /** The user's effective security settings (idle limit, MFA required, password expiry...). */
  policy(accountId: string, userId: string): SecurityPolicy;
}

/** NewSession is what the browser gets: the cookie value and the CSRF token. */
export interface NewSession {
  cookie: string;
  csrfToken: string;
  expiresAt: number;
}

/** Restrictions hold a user on one page until they act (change password, enrol MFA). */
export interface Restrictions {
  changePassword: "first_sign_in" | "expired" | "required" | null;
  enrolMfa: boolean;
}

/** ActiveSession is a validated session with its actor. */
export interface ActiveSession {
  id: string;
  csrfToken: string;
  actor: Actor;
  restrictions: Restrictions;
}

/** restrictionsOf works out what a user must do before using the pages. SSO users have no password here. */
export function restrictionsOf(user: UserRecord, policy: SecurityPolicy, now: number): Restrictions {
  let changePassword: Restrictions["changePassword"] = null;
  if (user.passwordHash) {
    if (user.mustChangePassword) changePassword = "required";
    else if (policy.changeAtFirstSignIn && user.passwordChangedAt === null) changePassword = "first_sign_in";
    else if (policy.expiryDays !== null && user.passwordChangedAt !== null && user.passwordChangedAt + policy.expiryDays * 86_400_000 <= now) changePassword = "expired";
  }
  return { changePassword, enrolMfa: policy.mfaRequired && !user.totpEnabled && user.passwordHash !== null };
}

/** createSession starts a session: random id + random secret, only the secret's hash stored. */
export function createSession(deps: SessionDeps, user: { id: string; accountId: string }, meta: { ip: string; userAgent: string }): NewSession {
  const id = randomToken(16);
  const secret = randomToken(32);
  const csrfToken = randomToken(24);
  const now = deps.clock.now();
  const expiresAt = now + deps.sessionHours * 3_600_000;
  insertSession(deps.db, {
    id, secretHash: sha256Hex(secret), accountId: user.accountId, userId: user.id, csrfToken,
    ip: meta.ip, userAgent: meta.userAgent.slice(0, 300), createdAt: now, lastSeenAt: now, expiresAt,
  });
  return { cookie: `${id}.${secret}`, csrfToken, expiresAt };
}

/** endSession deletes the session named by a cookie value. */
export function endSession(deps: SessionDeps, cookie: string): void {
  const id = cookie.split(".")[0];
  if (id) deleteSession(deps.db, id);
}

/** loadSession validates a cookie value and builds the actor, or returns null. */
export async function loadSession(deps: SessionDeps, cookie: string, meta: { ip: string; userAgent: string }): Promise<ActiveSession | null> {
  const [id, secret, extra] = cookie.split(".");
  if (!id || !secret || extra !== undefined || id.length > 64 || secret.length > 128) return null;
  const s = getSession(deps.db, id);
  if (!s || !constantTimeEqual(s.secretHash, sha256Hex(secret))) return null;
  const now = deps.clock.now();
  const policy = deps.policy(s.accountId, s.userId);
  if (s.expiresAt <= now || s.lastSeenAt + policy.idleMinutes * 60_000 <= now) {
    deleteSession(deps.db, id);
    return null;
  }
  const user = await deps.users.get(s.accountId, s.userId);
  if (!user || user.status !== "active") {
    deleteSession(deps.db, id);
    return null;
  }
  const role = getRole(deps.db, s.accountId, user.roleId);
  if (!role) return null;
  // Write the activity time at most once a minute.
  if (now - s.lastSeenAt > 60_000) touchSession(deps.db, id, now);
  return {
    id,
    csrfToken: s.csrfToken,
    restrictions: restrictionsOf(user, policy, now),
    actor: {
      accountId: s.accountId,
      userId: user.id,
      label: `${user.name} <${user.email}>`,
      roleId: role.id,
      roleKind: role.kind as RoleKind,
      permissions: effectivePermissions(role.kind as RoleKind, JSON.parse(role.permissions) as string[]),
      ip: meta.ip,
      userAgent: meta.userAgent,
    },
  };
}

/** purgeSessions removes sessions that can no longer be used (absolute expiry, or idle a day). */
export function purgeSessions(deps: SessionDeps): void {
  const now = deps.clock.now();
  purgeExpiredSessions(deps.db, now, now - 24 * 3_600_000);
}
