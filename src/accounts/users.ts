import { newId, randomToken, sha256Hex } from "../shared/ids.ts";
import { AppError, forbidden, invalid, notFound } from "../shared/errors.ts";
import { getRole, getRoleByKind, groupIdsOfUser, groupsByIds, setUserGroups, type RoleRow } from "../storage/accounts-repo.ts";
import { deleteUserSessions, insertToken, revokeTokens } from "../storage/sessions-repo.ts";
import { deleteSettingsOfScope } from "../storage/settings-repo.ts";
import type { UserRecord } from "../storage/users-repo.ts";
import { auditActor, can, requirePermission, type Actor } from "./actor.ts";
import type { AccountsDeps } from "./deps.ts";
import { effectivePermissions, type RoleKind } from "./permissions.ts";
import { checkEmail, checkName, cleanText, throwIfErrors } from "./validate.ts";

/** InviteInput is the invitation form. */
export interface InviteInput {
  email: string;
  name: string;
  roleId: string;
  groupIds: string[];
}

/** InviteResult carries the activation link so a page can show it when mail is off. */
export interface InviteResult {
  user: UserRecord;
  activationUrl: string;
  mailed: boolean;
}

/** roleGrantable tells whether the actor may give a user this role (never Owner; never more than they hold). */
export function roleGrantable(actor: Actor, role: RoleRow): boolean {
  if (role.kind === "owner") return false;
  if (actor.roleKind === "owner") return true;
  if (!can(actor, "roles:assign") && role.kind !== "member") return false;
  const perms = effectivePermissions(role.kind as RoleKind, JSON.parse(role.permissions) as string[]);
  for (const p of perms) if (!actor.permissions.has(p)) return false;
  return true;
}

function roleFor(deps: AccountsDeps, actor: Actor, roleId: string, errors: Record<string, string>): RoleRow | undefined {
  const role = roleId ? getRole(deps.db, actor.accountId, roleId) : getRoleByKind(deps.db, actor.accountId, "member");
  if (!role) errors.roleId = "Choose one of the listed roles.";
  else if (!roleGrantable(actor, role)) errors.roleId = "You cannot give this role.";
  return role;
}

function checkGroups(deps: AccountsDeps, actor: Actor, ids: string[], errors: Record<string, string>): string[] {
  const unique = [...new Set(ids.filter(Boolean))];
  if (groupsByIds(deps.db, actor.accountId, unique).length !== unique.length) errors.groupIds = "Choose groups from the list.";
  return unique;
}

async function issueActivation(deps: AccountsDeps, accountId: string, userId: string, baseUrl: string): Promise<string> {
  const token = randomToken();
  const now = deps.clock.now();
  revokeTokens(deps.db, "activation", now, userId);
  insertToken(deps.db, { tokenHash: sha256Hex(token), purpose: "activation", accountId, userId, createdAt: now, expiresAt: now + deps.invitationDays * 86_400_000, usedAt: null });
  return `${baseUrl}/activate?token=${token}`;
}

async function mailInvitation(deps: AccountsDeps, to: string, name: string, org: string, url: string): Promise<boolean> {
  if (!deps.mailer.enabled) return false;
  await deps.mailer.send({
    to,
    subject: `You are invited to ${org} on Conclave`,
    text: `Hello ${name},\n\nYou have been invited to join ${org} on Conclave.\nOpen this link to choose your password and activate your account (it works once and expires in ${deps.invitationDays} days):\n\n${url}\n\nIf you did not expect this, ignore this message.\n`,
  });
  return true;
}

/** inviteUser creates an invited user and e-mails a single-use activation link. */
export async function inviteUser(deps: AccountsDeps, actor: Actor, input: InviteInput, ctx: { baseUrl: string; organisation: string }): Promise<InviteResult> {
  requirePermission(actor, "users:edit");
  const email = cleanText(input.email);
  const name = cleanText(input.name);
  const errors = { ...checkEmail("email", email), ...checkName("name", name) };
  const role = roleFor(deps, actor, input.roleId, errors);
  const groupIds = checkGroups(deps, actor, input.groupIds, errors);
  if (!errors.email && deps.users.emailTaken(email)) errors.email = "A user with this e-mail address already exists.";
  throwIfErrors(errors);

  const id = newId();
  const now = deps.clock.now();
  const prepared = await deps.users.prepare({ id, accountId: actor.accountId, roleId: role!.id, email, name, status: "invited", passwordHash: null, now });
  let url = "";
  deps.db.$client.transaction(() => {
    deps.users.insert(prepared);
    setUserGroups(deps.db, actor.accountId, id, groupIds);
    deps.audit.record(auditActor(actor), { action: "user.invite", targetType: "user", targetId: id, after: { email, name, role: role!.name, groups: groupIds } });
  }).immediate();
  url = await issueActivation(deps, actor.accountId, id, ctx.baseUrl);
  const user = (await deps.users.get(actor.accountId, id))!;
  let mailed = false;
  try {
    mailed = await mailInvitation(deps, email, name, ctx.organisation, url);
  } catch {
    mailed = false;
  }
  return { user, activationUrl: url, mailed };
}

/** resendInvitation issues a fresh activation link (the old one stops working). */
export async function resendInvitation(deps: AccountsDeps, actor: Actor, userId: string, ctx: { baseUrl: string; organisation: string }): Promise<InviteResult> {
  requirePermission(actor, "users:edit");
  const user = await deps.users.get(actor.accountId, userId);
  if (!user) throw notFound("No such user.");
  if (user.status !== "invited") throw new AppError("conflict", "This user has already activated their account.");
  const url = await issueActivation(deps, actor.accountId, userId, ctx.baseUrl);
  deps.audit.record(auditActor(actor), { action: "user.invite_resend", targetType: "user", targetId: userId });
  let mailed = false;
  try {
    mailed = await mailInvitation(deps, user.email, user.name, ctx.organisation, url);
  } catch {
    mailed = false;
  }
  return { user, activationUrl: url, mailed };
}

/** listUsers lists the actor's account's users. */
export async function listUsers(deps: AccountsDeps, actor: Actor): Promise<UserRecord[]> {
  requirePermission(actor, "users:view");
  return deps.users.list(actor.accountId);
}

/** getUser returns a user of the actor's account with their group ids; foreign ids are not found. */
export async function getUser(deps: AccountsDeps, actor: Actor, id: string): Promise<UserRecord & { groupIds: string[] }> {
  if (id !== actor.userId) requirePermission(actor, "users:view");
  const user = await deps.users.get(actor.accountId, id);
  if (!user) throw notFound("No such user.");
  return { ...user, groupIds: groupIdsOfUser(deps.db, actor.accountId, id) };
}

/** UpdateUserInput is the edit form. */
export interface UpdateUserInput {
  name: string;
  roleId: string;
  groupIds: string[];
}

/** updateUser changes a user's name, role and groups. */
export async function updateUser(deps: AccountsDeps, actor: Actor, id: string, input: UpdateUserInput): Promise<void> {
  requirePermission(actor, "users:edit");
  const before = await getUser(deps, actor, id);
  const currentRole = getRole(deps.db, actor.accountId, before.roleId)!;
  const name = cleanText(input.name);
  const errors = checkName("name", name);
  let role = currentRole;
  if (input.roleId && input.roleId !== currentRole.id) {
    if (currentRole.kind === "owner") errors.roleId = "The Owner's role cannot be changed here.";
    else if (id === actor.userId) errors.roleId = "You cannot change your own role.";
    else role = roleFor(deps, actor, input.roleId, errors) ?? currentRole;
  }
  if (currentRole.kind === "owner" && actor.roleKind !== "owner") throw forbidden("Only the Owner can edit the Owner.");
  if (id !== actor.userId && currentRole.kind !== "owner" && currentRole.kind !== "member" && !roleGrantable(actor, currentRole)) throw forbidden("You cannot edit a user whose role has more privileges than yours.");
  const groupIds = checkGroups(deps, actor, input.groupIds, errors);
  throwIfErrors(errors);
  const sealedName = name !== before.name ? await deps.users.sealName(actor.accountId, id, name) : null;
  const now = deps.clock.now();
  deps.db.$client.transaction(() => {
    if (sealedName) deps.users.setSealedName(actor.accountId, id, sealedName, now);
    if (role.id !== currentRole.id) {
      deps.users.update(actor.accountId, id, { roleId: role.id, updatedAt: now });
      deleteUserSessions(deps.db, actor.accountId, id); // privilege change: make them sign in again
    }
    setUserGroups(deps.db, actor.accountId, id, groupIds);
    deps.audit.record(auditActor(actor), {
      action: "user.update",
      targetType: "user",
      targetId: id,
      before: { name: before.name, role: currentRole.name, groups: before.groupIds },
      after: { name, role: role.name, groups: groupIds },
    });
  }).immediate();
}

async function guardLifecycle(deps: AccountsDeps, actor: Actor, id: string, verb: string): Promise<UserRecord & { groupIds: string[] }> {
  requirePermission(actor, "users:edit");
  const user = await getUser(deps, actor, id);
  if (id === actor.userId) throw invalid({}, `You cannot ${verb} yourself.`);
  const role = getRole(deps.db, actor.accountId, user.roleId)!;
  if (role.kind === "owner") throw invalid({}, `The Owner cannot be ${verb}d.`);
  if (!roleGrantable(actor, role) && role.kind !== "member") throw forbidden(`You cannot ${verb} a user whose role has more privileges than yours.`);
  return user;
}

/** deactivateUser blocks sign-in and ends the user's sessions. */
export async function deactivateUser(deps: AccountsDeps, actor: Actor, id: string): Promise<void> {
  const user = await guardLifecycle(deps, actor, id, "deactivate");
  deps.db.$client.transaction(() => {
    deps.users.update(actor.accountId, id, { status: "deactivated", updatedAt: deps.clock.now() });
    deleteUserSessions(deps.db, actor.accountId, id);
    deps.audit.record(auditActor(actor), { action: "user.deactivate", targetType: "user", targetId: id, before: { status: user.status }, after: { status: "deactivated" } });
  }).immediate();
}

/** reactivateUser lets a deactivated user sign in again (or back to invited if never activated). */
export async function reactivateUser(deps: AccountsDeps, actor: Actor, id: string): Promise<void> {
  const user = await guardLifecycle(deps, actor, id, "reactivate");
  if (user.status !== "deactivated") throw new AppError("conflict", "This user is not deactivated.");
  const status = user.activatedAt ? "active" : "invited";
  deps.db.$client.transaction(() => {
    deps.users.update(actor.accountId, id, { status, updatedAt: deps.clock.now() });
    deps.audit.record(auditActor(actor), { action: "user.reactivate", targetType: "user", targetId: id, before: { status: user.status }, after: { status } });
  }).immediate();
}

/** deleteUser removes a user, their sessions, memberships, settings and pending links. */
export async function deleteUser(deps: AccountsDeps, actor: Actor, id: string): Promise<void> {
  const user = await guardLifecycle(deps, actor, id, "delete");
  deps.db.$client.transaction(() => {
    revokeTokens(deps.db, "activation", deps.clock.now(), id);
    deleteSettingsOfScope(deps.db, actor.accountId, id);
    deps.users.delete(actor.accountId, id);
    deps.audit.record(auditActor(actor), { action: "user.delete", targetType: "user", targetId: id, before: { email: user.email, name: user.name, status: user.status } });
  }).immediate();
}

export type { UserRecord } from "../storage/users-repo.ts";
export type { RoleRow } from "../storage/accounts-repo.ts";
