import type { AuditActor } from "../audit/audit-log.ts";
import { forbidden } from "../shared/errors.ts";
import type { Permission, RoleKind } from "./permissions.ts";

/** Actor is a signed-in user acting within their own account. */
export interface Actor {
  accountId: string;
  userId: string;
  label: string;
  roleId: string;
  roleKind: RoleKind;
  permissions: ReadonlySet<Permission>;
  ip: string;
  userAgent: string;
}

/** can tells whether the actor holds a permission. */
export function can(actor: Actor, p: Permission): boolean {
  return actor.permissions.has(p);
}

/** requirePermission throws a forbidden error unless the actor holds `p`. */
export function requirePermission(actor: Actor, p: Permission): void {
  if (!can(actor, p)) throw forbidden();
}

/** auditActor converts an actor for the operation log. */
export function auditActor(actor: Actor): AuditActor {
  return { accountId: actor.accountId, userId: actor.userId, label: actor.label, ip: actor.ip, userAgent: actor.userAgent };
}
