import type { AccountsDeps } from "../accounts/deps.ts";
import { checkName, cleanText, throwIfErrors } from "../accounts/validate.ts";
import { AppError, invalid } from "../shared/errors.ts";
import { getAccount, getRole, getRoleByKind } from "../storage/accounts-repo.ts";
import { insertToken } from "../storage/sessions-repo.ts";
import { randomToken, sha256Hex } from "../shared/ids.ts";
import { clearFailures, countSourceFailure, fmtUntil, lockedUntil, recordFailure, sourceBlocked } from "./lockout.ts";
import { verifySecondFactor } from "./mfa.ts";
import { emailDomainAllowed, securityPolicy } from "./policy.ts";
import type { UserRecord } from "../storage/users-repo.ts";
import { dummyVerify, hashPassword, verifyPassword, MAX_PASSWORD_LENGTH } from "./passwords.ts";
import { checkNewPassword, setNewPassword } from "./password-change.ts";
import { addPasswordHistory } from "../storage/identity-repo.ts";
import { createSession, type NewSession, type SessionDeps } from "./sessions.ts";
import { checkToken, consumeToken } from "./setup-token.ts";

/** AuthDeps combines the accounts and session dependencies. */
export type AuthDeps = AccountsDeps & SessionDeps;

/** RequestMeta is where a request came from. */
export interface RequestMeta {
  ip: string;
  userAgent: string;
}

/** GENERIC_FAILURE is the one answer for an unknown e-mail and a wrong password alike. */
export const GENERIC_FAILURE = "The e-mail address or password is not correct.";

/** MFA_PENDING_MS: the second step must follow the password within five minutes. */
export const MFA_PENDING_MS = 5 * 60_000;

/** SignInResult: a session, a pending second factor, or a refusal with the message to show. */
export type SignInResult =
  | { kind: "session"; session: NewSession; user: UserRecord }
  | { kind: "mfa"; pendingToken: string; user: UserRecord }
  | { kind: "refused"; message: string };

const labelOf = (u: UserRecord): string => `${u.name} <${u.email}>`;

/**
 * signIn verifies an e-mail and password. Unknown e-mails cost the same work as known ones and
 * get the same answer. Failures count toward the per-account lockout and the per-source
 * budget; a locked account is told until when. When the account is SSO-only, only its Owner
 * may use a password (break-glass, audited).
 */
export async function signIn(deps: AuthDeps, email: string, password: string, meta: RequestMeta): Promise<SignInResult> {
  const now = deps.clock.now();
  if (sourceBlocked(deps, meta.ip)) {
    deps.audit.record({ ...meta, accountId: null, userId: null, label: "unknown" }, { action: "signin.failure", detail: { reason: "source over its failure budget" } });
    return { kind: "refused", message: "Too many failed sign-ins from your network address. Try again in 15 minutes." };
  }
  const user = email.length <= 254 ? await deps.users.findByEmail(email) : undefined;
  const pw = password.slice(0, MAX_PASSWORD_LENGTH * 4);
  const good = user?.passwordHash ? await verifyPassword(pw, user.passwordHash) : (await dummyVerify(pw), false);
  if (!user) {
    countSourceFailure(deps, meta.ip);
    deps.audit.record({ ...meta, accountId: null, userId: null, label: "unknown" }, { action: "signin.failure", detail: { reason: "unknown e-mail" } });
    return { kind: "refused", message: GENERIC_FAILURE };
  }
  const actor = { ...meta, accountId: user.accountId, userId: user.id, label: labelOf(user) };
  const fail = (reason: string, message = GENERIC_FAILURE): SignInResult => {
    deps.audit.record(actor, { action: "signin.failure", targetType: "user", targetId: user.id, detail: { reason } });
    return { kind: "refused", message };
  };
  const locked = lockedUntil(user, now);
  if (locked) return fail("account locked", `This account is locked until ${fmtUntil(locked)} after too many failed attempts. Try again later or ask an administrator to unlock it.`);
  if (!good) {
    countSourceFailure(deps, meta.ip);
    const until = recordFailure(deps, user, actor);
    if (until) return fail("wrong password; account now locked", `Too many failed attempts: this account is locked until ${fmtUntil(until)}. An administrator can unlock it sooner.`);
    return fail("wrong password");
  }
  if (user.status !== "active") return fail(`user ${user.status}`);
  const policy = securityPolicy(deps, user.accountId, user.id);
  const isOwner = getRole(deps.db, user.accountId, user.roleId)?.kind === "owner";
  if (policy.passwordSignInDisabled && !isOwner) return fail("password sign-in disabled (SSO only)", "Your organisation signs in with single sign-on. Use “Sign in with SSO”.");
  if (!emailDomainAllowed(user.email, policy.allowedDomains) && !isOwner) return fail("e-mail domain not allowed", "Your organisation does not allow sign-in with this e-mail domain.");
  clearFailures(deps, user);
  if (policy.passwordSignInDisabled && isOwner)
    deps.audit.record(actor, { action: "signin.break_glass", targetType: "user", targetId: user.id, detail: { reason: "Owner used a password while the account is SSO-only" } });
  if (user.totpEnabled) {
    const token = randomToken();
    insertToken(deps.db, { tokenHash: sha256Hex(token), purpose: "mfa_pending", accountId: user.accountId, userId: user.id, createdAt: now, expiresAt: now + MFA_PENDING_MS, usedAt: null });
    return { kind: "mfa", pendingToken: token, user };
  }
  return { kind: "session", session: finishSignIn(deps, user, meta, "password"), user };
}

/** finishSignIn starts the session and records the success. */
function finishSignIn(deps: AuthDeps, user: UserRecord, meta: RequestMeta, method: string): NewSession {
  const session = createSession(deps, user, meta);
  deps.users.update(user.accountId, user.id, { lastSignInAt: deps.clock.now() });
  deps.audit.record({ ...meta, accountId: user.accountId, userId: user.id, label: labelOf(user) }, { action: "signin.success", targetType: "user", targetId: user.id, detail: { method } });
  return session;
}

/** pendingMfaUser returns the user waiting for their second factor, or null when the step expired. */
export async function pendingMfaUser(deps: AuthDeps, token: string): Promise<UserRecord | null> {
  const t = checkToken(deps.db, deps.clock, "mfa_pending", token);
  if (!t.ok) return null;
  return (await deps.users.get(t.accountId!, t.userId!)) ?? null;
}

/** completeMfa checks the second factor; failures count toward the same lockout budget as passwords. */
export async function completeMfa(deps: AuthDeps, token: string, code: string, meta: RequestMeta): Promise<SignInResult> {
  const user = await pendingMfaUser(deps, token);
  if (!user || user.status !== "active") return { kind: "refused", message: "Your sign-in expired. Sign in again." };
  const actor = { ...meta, accountId: user.accountId, userId: user.id, label: labelOf(user) };
  const locked = lockedUntil(user, deps.clock.now());
  if (locked) return { kind: "refused", message: `This account is locked until ${fmtUntil(locked)} after too many failed attempts.` };
  const r = await verifySecondFactor(deps, user, code);
  if (!r.ok) {
    countSourceFailure(deps, meta.ip);
    const until = recordFailure(deps, user, actor);
    deps.audit.record(actor, { action: "signin.failure", targetType: "user", targetId: user.id, detail: { reason: r.reason === "replayed" ? "authenticator code already used" : "wrong authenticator code" } });
    if (until) {
      consumeToken(deps.db, deps.clock, token);
      return { kind: "refused", message: `Too many failed attempts: this account is locked until ${fmtUntil(until)}.` };
    }
    return { kind: "refused", message: r.reason === "replayed" ? "That code was already used. Wait for the next code." : "That code is not correct." };
  }
  if (!consumeToken(deps.db, deps.clock, token)) return { kind: "refused", message: "Your sign-in expired. Sign in again." };
  clearFailures(deps, user);
  return { kind: "session", session: finishSignIn(deps, user, meta, r.method === "totp" ? "password+totp" : "password+recovery_code"), user };
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
  try {
    await checkNewPassword(deps, { ...user, name }, input.password, input.confirm, false);
  } catch (e) {
    if (!(e instanceof AppError && e.code === "invalid_input")) throw e;
    Object.assign(errors, e.fields);
  }
  throwIfErrors(errors);
  const passwordHash = await hashPassword(input.password);
  const sealedName = name !== user.name ? await deps.users.sealName(user.accountId, user.id, name) : null;
  if (!consumeToken(deps.db, deps.clock, token)) throw new AppError("invalid_input", "This activation link has already been used.");
  const now = deps.clock.now();
  const label = `${name} <${user.email}>`;
  deps.db.$client.transaction(() => {
    if (sealedName) deps.users.setSealedName(user.accountId, user.id, sealedName, now);
    deps.users.update(user.accountId, user.id, { status: "active", passwordHash, passwordChangedAt: now, activatedAt: now, updatedAt: now });
    addPasswordHistory(deps.db, user.accountId, user.id, passwordHash, now, "initial");
    deps.audit.record({ ...meta, accountId: user.accountId, userId: user.id, label }, { action: "user.activate", targetType: "user", targetId: user.id, before: { status: "invited" }, after: { status: "active" } });
  }).immediate();
  const activated = { ...user, name, status: "active" as const };
  return { session: finishSignIn(deps, activated, meta, "activation"), user: activated };
}

/** resetOwnerPassword sets a new password for an account's Owner and lifts any lockout (CLI, shell access only). */
export async function resetOwnerPassword(deps: AuthDeps, ownerEmail: string, password: string): Promise<UserRecord> {
  const user = await deps.users.findByEmail(ownerEmail);
  const ownerRole = user ? getRoleByKind(deps.db, user.accountId, "owner") : undefined;
  if (!user || !ownerRole || user.roleId !== ownerRole.id) throw invalid({ email: "No account Owner has this e-mail address." }, `No account Owner has the e-mail address ${ownerEmail}.`);
  try {
    await setNewPassword(deps, user, password, password, {
      by: { accountId: user.accountId, userId: null, label: "shell (conclave admin reset-owner-password)" },
      action: "user.password_reset",
      selfService: false,
    });
  } catch (e) {
    if (e instanceof AppError && e.code === "invalid_input") throw new AppError("invalid_input", Object.values(e.fields).join(" ") || e.message, e.fields);
    throw e;
  }
  deps.users.update(user.accountId, user.id, { status: "active", failedAttempts: 0, lockedUntil: null });
  return user;
}
