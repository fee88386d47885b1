/** AREAS is the catalogue of admin areas; each has a view and an edit permission. */
export const AREAS = {
  users: "User management",
  groups: "Group management",
  roles: "Role management",
  settings: "Account settings",
  audit: "Operation log",
  account: "Account profile",
} as const;

/** Area is one admin area. */
export type Area = keyof typeof AREAS;

/** Permission is "<area>:view", "<area>:edit", or "roles:assign" (assign roles to users). */
export type Permission = `${Area}:${"view" | "edit"}` | "roles:assign";

/** ALL_PERMISSIONS lists every permission in catalogue order. */
export const ALL_PERMISSIONS: readonly Permission[] = [
  ...(Object.keys(AREAS) as Area[]).flatMap((a) => [`${a}:view`, `${a}:edit`] as Permission[]),
  "roles:assign",
];

/** PERMISSION_LABELS gives a readable label for each permission. */
export function permissionLabel(p: Permission): string {
  if (p === "roles:assign") return "Assign roles to users";
  const [area, op] = p.split(":") as [Area, string];
  return `${AREAS[area]}: ${op}`;
}

/** isPermission narrows a string to a known permission. */
export function isPermission(p: string): p is Permission {
  return (ALL_PERMISSIONS as readonly string[]).includes(p);
}

/** RoleKind distinguishes the fixed system roles from custom ones. */
export type RoleKind = "owner" | "admin" | "member" | "custom";

/** DEFAULT_ADMIN_PERMISSIONS: Admins manage users and advanced features, but only the Owner edits roles at first. */
export const DEFAULT_ADMIN_PERMISSIONS: readonly Permission[] = [
  "users:view", "users:edit", "groups:view", "groups:edit", "settings:view", "settings:edit",
  "audit:view", "roles:view", "roles:assign", "account:view",
];

/** effectivePermissions resolves a role's permission set; Owner and Member are fixed. */
export function effectivePermissions(kind: RoleKind, stored: readonly string[]): ReadonlySet<Permission> {
  if (kind === "owner") return new Set(ALL_PERMISSIONS);
  if (kind === "member") return new Set();
  return new Set(stored.filter(isPermission));
}
