import type { AccountsDeps } from "../accounts/deps.ts";
import { checkName, cleanText, throwIfErrors } from "../accounts/validate.ts";
import { AppError, invalid } from "../shared/errors.ts";
import { getAccount, getRoleByKind } from "../storage/accounts-repo.ts";
import { deleteUserSessions } from "../storage/sessions-repo.ts";
import type { UserRecord } from "../storage/users-repo.ts";
import { checkPassword, dummyVerify, hashPassword, verifyPassword, MAX_PASSWORD_LENGTH } from "./passwords.ts";
import { createSession, type NewSession, type SessionDeps } from "./sessions.ts";
import { checkToken, consumeToken } from "./setup-token.ts";

/** AuthDeps combines the accounts and session dependencies. */
export type AuthDeps = AccountsDeps & SessionDeps;

/** RequestMeta is where a request came from. */
export interface RequestMeta {
  ip: string;
  userAgent: string;
}

/** SignInResult: a new session, or one generic failure (no hint whether the account exists). */
export type SignInResult = { ok: true; session: NewSession; user: UserRecord } | { ok: false };

/** signIn verifies an e-mail and password and starts a session (always a fresh id). */
export async function signIn(deps: AuthDeps, email: string, password: string, meta: RequestMeta): Promise<SignInResult> {
  const user = email.length <= 254 ? await deps.users.findByEmail(email) : undefined;
  const pw = password.slice(0, MAX_PASSWORD_LENGTH * 4);
  const good = user?.passwordHash ? await verifyPassword(pw, user.passwordHash) : (await dummyVerify(pw), false);
  const actorBase = { ip: meta.ip, userAgent: meta.userAgent };
  if (!user || !good || user.status !== "active") {
    if (user) {
      deps.audit.record(
        { ...actorBase, accountId: user.accountId, userId: user.id, label: `${user.name} <${user.email}>` },
        { action: "signin.failure", targetType: "user", targetId: user.id, detail: { reason: !good ? "wrong password" : `user ${user.status}` } },
      );
    } else {
      deps.audit.record({ ...actorBase, accountId: null, userId: null, label: "unknown" }, { action: "signin.failure", detail: { reason: "unknown e-mail" } });
    }
    return { ok: false };
  }
  const session = createSession(deps, user, meta);
  const now = deps.clock.now();
  deps.users.update(user.accountId, user.id, { lastSignInAt: now });
  deps.audit.record({ ...actorBase, accountId: user.accountId, userId: user.id, label: `${user.name} <${user.email}>` }, { action: "signin.success", targetType: "user", targetId: user.id, detail: { method: "password" } });
  return { ok: true, session, user };
}

/** ActivationInput is the activation form. */
export interface ActivationInput {
  name: string;
  password: string;
  confirm: string;
}

/** activationTarget returns the invited user behind a token, or why it cannot be used. */
export async function activationTarget(deps: AuthDeps, token: string): Promise<{ ok: true; user: UserRecord; organisation: string } | { ok: false; reason: string }> {
  const t = checkToken(deps.db, deps.clock, "activation", token);
  if (!t.ok) return { ok: false, reason: t.reason };
  const user = await deps.users.get(t.accountId!, t.userId!);
  if (!user || user.status !== "invited") return { ok: false, reason: "used" };
  return { ok: true, user, organisation: getAccount(deps.db, user.accountId)?.name ?? "" };
}

/** activate sets the invited user's name and password, consumes the link and signs them in. */
export async function activate(deps: AuthDeps, token: string, input: ActivationInput, meta: RequestMeta): Promise<{ session: NewSession; user: UserRecord }> {
  const target = await activationTarget(deps, token);
  if (!target.ok) throw new AppError("invalid_input", "This activation link is no longer valid. Ask your administrator for a new invitation.");
  const user = target.user;
  const name = cleanText(input.name);
  const errors = checkName("name", name);
  const failures = checkPassword(input.password);
  if (failures.length) errors.password = `The password needs ${failures.join("; ")}.`;
  else if (input.password !== input.confirm) errors.confirm = "The two passwords differ.";
  throwIfErrors(errors);
  const passwordHash = await hashPassword(input.password);
  const sealedName = name !== user.name ? await deps.users.sealName(user.accountId, user.id, name) : null;
  if (!consumeToken(deps.db, deps.clock, token)) throw new AppError("invalid_input", "This activation link has already been used.");
  const now = deps.clock.now();
  const label = `${name} <${user.email}>`;
  deps.db.$client.transaction(() => {
    if (sealedName) deps.users.setSealedName(user.accountId, user.id, sealedName, now);
    deps.users.update(user.accountId, user.id, { status: "active", passwordHash, activatedAt: now, lastSignInAt: now, updatedAt: now });
    deps.audit.record({ ...meta, accountId: user.accountId, userId: user.id, label }, { action: "user.activate", targetType: "user", targetId: user.id, before: { status: "invited" }, after: { status: "active" } });
  }).immediate();
  const session = createSession(deps, user, meta);
  deps.audit.record({ ...meta, accountId: user.accountId, userId: user.id, label }, { action: "signin.success", targetType: "user", targetId: user.id, detail: { method: "activation" } });
  return { session, user: { ...user, name, status: "active" } };
}

/** resetOwnerPassword sets a new password for an account's Owner (CLI, shell access only). */
export async function resetOwnerPassword(deps: AuthDeps, ownerEmail: string, password: string): Promise<UserRecord> {
  const user = await deps.users.findByEmail(ownerEmail);
  const ownerRole = user ? getRoleByKind(deps.db, user.accountId, "owner") : undefined;
  if (!user || !ownerRole || user.roleId !== ownerRole.id) throw invalid({ email: "No account Owner has this e-mail address." }, `No account Owner has the e-mail address ${ownerEmail}.`);
  const failures = checkPassword(password);
  if (failures.length) throw invalid({ password: failures.join("; ") }, `The password needs ${failures.join("; ")}.`);
  const passwordHash = await hashPassword(password);
  const now = deps.clock.now();
  deps.db.$client.transaction(() => {
    deps.users.update(user.accountId, user.id, { passwordHash, status: "active", updatedAt: now });
    deleteUserSessions(deps.db, user.accountId, user.id);
    deps.audit.record(
      { accountId: user.accountId, userId: null, label: "shell (conclave admin reset-owner-password)" },
      { action: "user.password_reset", targetType: "user", targetId: user.id, detail: { via: "cli" } },
    );
  }).immediate();
  return user;
}
