import type { AuditActor } from "../audit/audit-log.ts";
import { checkPassword, hashPassword } from "../auth/passwords.ts";
import { newId } from "../shared/ids.ts";
import { addPasswordHistory } from "../storage/identity-repo.ts";
import { getAccount, insertAccount, insertRole, updateAccountName, type AccountRow } from "../storage/accounts-repo.ts";
import type { Actor } from "./actor.ts";
import { auditActor, requirePermission } from "./actor.ts";
import type { AccountsDeps } from "./deps.ts";
import { DEFAULT_ADMIN_PERMISSIONS } from "./permissions.ts";
import { checkEmail, checkName, cleanText, throwIfErrors } from "./validate.ts";

/** NewAccountInput is the first-run (or later) creation of an organisation and its Owner. */
export interface NewAccountInput {
  organisation: string;
  ownerName: string;
  ownerEmail: string;
  password: string;
  confirm: string;
}

/** createAccountWithOwner creates an account, its three system roles and its Owner, atomically. */
export async function createAccountWithOwner(
  deps: AccountsDeps,
  input: NewAccountInput,
  by: Omit<AuditActor, "accountId" | "userId">,
  /** guard runs inside the write transaction; it may throw to abort (e.g. consume a one-time token). */
  guard: () => void = () => {},
): Promise<{ accountId: string; ownerId: string }> {
  const organisation = cleanText(input.organisation);
  const ownerName = cleanText(input.ownerName);
  const ownerEmail = cleanText(input.ownerEmail);
  const errors = { ...checkName("organisation", organisation), ...checkName("ownerName", ownerName), ...checkEmail("ownerEmail", ownerEmail) };
  const pwFailures = checkPassword(input.password);
  if (pwFailures.length) errors.password = `The password needs ${pwFailures.join("; ")}.`;
  else if (input.password !== input.confirm) errors.confirm = "The two passwords differ.";
  if (!errors.ownerEmail && deps.users.emailTaken(ownerEmail)) errors.ownerEmail = "A user with this e-mail address already exists.";
  throwIfErrors(errors);

  const passwordHash = await hashPassword(input.password);
  const accountId = newId();
  const ownerId = newId();
  const now = deps.clock.now();
  const roleIds = { owner: newId(), admin: newId(), member: newId() };
  // Seal personal data before the transaction (the codec is async), then write everything at once.
  await deps.audit.prepare(accountId);
  const owner = await deps.users.prepare({ id: ownerId, accountId, roleId: roleIds.owner, email: ownerEmail, name: ownerName, status: "active", passwordHash, now });
  deps.db.$client.transaction(() => {
    guard();
    insertAccount(deps.db, { id: accountId, name: organisation, createdAt: now });
    insertRole(deps.db, { id: roleIds.owner, accountId, name: "Owner", kind: "owner", description: "All privileges; one per account.", permissions: "[]", createdAt: now });
    insertRole(deps.db, { id: roleIds.admin, accountId, name: "Admin", kind: "admin", description: "Manages users and advanced features.", permissions: JSON.stringify(DEFAULT_ADMIN_PERMISSIONS), createdAt: now });
    insertRole(deps.db, { id: roleIds.member, accountId, name: "Member", kind: "member", description: "No admin privileges.", permissions: "[]", createdAt: now });
    deps.users.insert({ ...owner, activatedAt: now, passwordChangedAt: now, origin: "setup" });
    addPasswordHistory(deps.db, accountId, ownerId, passwordHash, now, "initial");
    deps.audit.record({ ...by, accountId, userId: null }, { action: "account.create", targetType: "account", targetId: accountId, after: { name: organisation } });
    deps.audit.record({ ...by, accountId, userId: null }, { action: "user.create_owner", targetType: "user", targetId: ownerId, after: { name: ownerName, email: ownerEmail, role: "Owner" } });
  }).immediate();
  return { accountId, ownerId };
}

/** accountProfile returns the actor's account. */
export function accountProfile(deps: AccountsDeps, actor: Actor): AccountRow {
  return getAccount(deps.db, actor.accountId)!;
}

/** renameAccount changes the organisation's name. */
export function renameAccount(deps: AccountsDeps, actor: Actor, rawName: string): void {
  requirePermission(actor, "account:edit");
  const name = cleanText(rawName);
  throwIfErrors(checkName("name", name));
  const before = getAccount(deps.db, actor.accountId)!;
  deps.db.$client.transaction(() => {
    updateAccountName(deps.db, actor.accountId, name);
    deps.audit.record(auditActor(actor), { action: "account.rename", targetType: "account", targetId: actor.accountId, before: { name: before.name }, after: { name } });
  })();
}
