import { AppError, forbidden, notFound } from "../shared/errors.ts";
import { newId } from "../shared/ids.ts";
import { deleteRole, getRole, getRoleByName, insertRole, listRoles, updateRole, type RoleRow } from "../storage/accounts-repo.ts";
import { auditActor, requirePermission, type Actor } from "./actor.ts";
import type { AccountsDeps } from "./deps.ts";
import { effectivePermissions, isPermission, type Permission, type RoleKind } from "./permissions.ts";
import { checkName, cleanText, throwIfErrors } from "./validate.ts";

/** RoleView is a role with its resolved permissions and member count. */
export interface RoleView extends Omit<RoleRow, "permissions"> {
  permissions: Permission[];
  editable: boolean;
  memberCount: number;
}

/** RoleInput is the role form. */
export interface RoleInput {
  name: string;
  description: string;
  permissions: string[];
}

function view(deps: AccountsDeps, r: RoleRow): RoleView {
  const perms = [...effectivePermissions(r.kind as RoleKind, JSON.parse(r.permissions) as string[])];
  const memberCount = (deps.db.$client.query("SELECT count(*) AS n FROM users WHERE account_id = ? AND role_id = ?").get(r.accountId, r.id) as { n: number }).n;
  return { ...r, permissions: perms, editable: r.kind === "admin" || r.kind === "custom", memberCount };
}

/** listRoleViews lists the account's roles. */
export function listRoleViews(deps: AccountsDeps, actor: Actor): RoleView[] {
  requirePermission(actor, "roles:view");
  return listRoles(deps.db, actor.accountId).map((r) => view(deps, r));
}

/** rolesForAssignment lists roles without a permission check (for the user forms). */
export function rolesForAssignment(deps: AccountsDeps, actor: Actor): RoleRow[] {
  return listRoles(deps.db, actor.accountId);
}

/** getRoleView returns one role of the actor's account. */
export function getRoleView(deps: AccountsDeps, actor: Actor, id: string): RoleView {
  requirePermission(actor, "roles:view");
  const r = getRole(deps.db, actor.accountId, id);
  if (!r) throw notFound("No such role.");
  return view(deps, r);
}

function validate(deps: AccountsDeps, actor: Actor, input: RoleInput, selfId: string | null): { name: string; description: string; permissions: Permission[] } {
  const name = cleanText(input.name);
  const description = cleanText(input.description).slice(0, 300);
  const errors = checkName("name", name, 60);
  const unknown = input.permissions.filter((p) => !isPermission(p));
  if (unknown.length) errors.permissions = `Unknown permission: ${unknown.join(", ")}.`;
  const permissions = [...new Set(input.permissions.filter(isPermission))];
  // Nobody hands out a permission they do not hold themselves.
  const beyond = permissions.filter((p) => !actor.permissions.has(p));
  if (beyond.length) errors.permissions = `You cannot grant permissions you do not hold: ${beyond.join(", ")}.`;
  const clash = name ? getRoleByName(deps.db, actor.accountId, name) : undefined;
  if (clash && clash.id !== selfId) errors.name = "A role with this name already exists.";
  throwIfErrors(errors);
  return { name, description, permissions };
}

/** createRole adds a custom role; requires role management ("roles:edit", the Owner's at first). */
export function createRole(deps: AccountsDeps, actor: Actor, input: RoleInput): string {
  requirePermission(actor, "roles:edit");
  const v = validate(deps, actor, input, null);
  const id = newId();
  deps.db.$client.transaction(() => {
    insertRole(deps.db, { id, accountId: actor.accountId, name: v.name, kind: "custom", description: v.description, permissions: JSON.stringify(v.permissions), createdAt: deps.clock.now() });
    deps.audit.record(auditActor(actor), { action: "role.create", targetType: "role", targetId: id, after: v });
  }).immediate();
  return id;
}

/** editRole changes the Admin role or a custom role; Owner and Member are fixed. */
export function editRole(deps: AccountsDeps, actor: Actor, id: string, input: RoleInput): void {
  requirePermission(actor, "roles:edit");
  const before = getRoleView(deps, actor, id);
  if (!before.editable) throw forbidden(`The ${before.name} role's permissions are fixed.`);
  if (before.id === actor.roleId) throw forbidden("You cannot edit your own role.");
  const v = validate(deps, actor, { ...input, name: before.kind === "admin" ? "Admin" : input.name }, id);
  deps.db.$client.transaction(() => {
    updateRole(deps.db, actor.accountId, id, { name: v.name, description: v.description, permissions: JSON.stringify(v.permissions) });
    // Holders of the role get the new permission set at their next request; sessions stay.
    deps.audit.record(auditActor(actor), {
      action: "role.update",
      targetType: "role",
      targetId: id,
      before: { name: before.name, description: before.description, permissions: before.permissions },
      after: v,
    });
  }).immediate();
}

/** removeRole deletes a custom role that nobody holds. */
export function removeRole(deps: AccountsDeps, actor: Actor, id: string): void {
  requirePermission(actor, "roles:edit");
  const r = getRoleView(deps, actor, id);
  if (r.kind !== "custom") throw forbidden("System roles cannot be deleted.");
  if (r.memberCount > 0) throw new AppError("conflict", `${r.memberCount} user(s) still hold this role; give them another role first.`);
  deps.db.$client.transaction(() => {
    deleteRole(deps.db, actor.accountId, id);
    deps.audit.record(auditActor(actor), { action: "role.delete", targetType: "role", targetId: id, before: { name: r.name, permissions: r.permissions } });
  }).immediate();
}

