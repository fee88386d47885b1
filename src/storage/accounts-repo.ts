import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { accounts, groupMembers, groups, roles } from "./schema.ts";

/** AccountRow is one stored account. */
export type AccountRow = typeof accounts.$inferSelect;
/** RoleRow is one stored role. */
export type RoleRow = typeof roles.$inferSelect;
/** GroupRow is one stored group. */
export type GroupRow = typeof groups.$inferSelect;

/** countAccounts tells whether setup has happened. */
export function countAccounts(db: Db): number {
  return db.select({ n: sql<number>`count(*)` }).from(accounts).get()?.n ?? 0;
}

/** insertAccount stores a new account. */
export function insertAccount(db: Db, row: typeof accounts.$inferInsert): void {
  db.insert(accounts).values(row).run();
}

/** getAccount finds an account by id. */
export function getAccount(db: Db, id: string): AccountRow | undefined {
  return db.select().from(accounts).where(eq(accounts.id, id)).get();
}

/** updateAccountName renames an account. */
export function updateAccountName(db: Db, id: string, name: string): void {
  db.update(accounts).set({ name }).where(eq(accounts.id, id)).run();
}

/** insertRole stores a role. */
export function insertRole(db: Db, row: typeof roles.$inferInsert): void {
  db.insert(roles).values(row).run();
}

/** listRoles lists an account's roles, system roles first. */
export function listRoles(db: Db, accountId: string): RoleRow[] {
  return db
    .select()
    .from(roles)
    .where(eq(roles.accountId, accountId))
    .orderBy(sql`CASE ${roles.kind} WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END`, asc(roles.name))
    .all();
}

/** getRole finds a role within an account (raw prepared SQL: it runs on every request). */
export function getRole(db: Db, accountId: string, id: string): RoleRow | undefined {
  return (
    (db.$client
      .query("SELECT id, account_id AS accountId, name, kind, description, permissions, created_at AS createdAt FROM roles WHERE account_id = ? AND id = ?")
      .get(accountId, id) as RoleRow | null) ?? undefined
  );
}

/** getRoleByKind finds a system role of an account. */
export function getRoleByKind(db: Db, accountId: string, kind: RoleRow["kind"]): RoleRow | undefined {
  return db.select().from(roles).where(and(eq(roles.accountId, accountId), eq(roles.kind, kind))).get();
}

/** getRoleByName finds a role by its name within an account. */
export function getRoleByName(db: Db, accountId: string, name: string): RoleRow | undefined {
  return db.select().from(roles).where(and(eq(roles.accountId, accountId), eq(roles.name, name))).get();
}

/** updateRole changes a role's name, description and permissions. */
export function updateRole(db: Db, accountId: string, id: string, set: Partial<Pick<RoleRow, "name" | "description" | "permissions">>): void {
  db.update(roles).set(set).where(and(eq(roles.accountId, accountId), eq(roles.id, id))).run();
}

/** deleteRole removes a role. */
export function deleteRole(db: Db, accountId: string, id: string): void {
  db.delete(roles).where(and(eq(roles.accountId, accountId), eq(roles.id, id))).run();
}

/** insertGroup stores a group. */
export function insertGroup(db: Db, row: typeof groups.$inferInsert): void {
  db.insert(groups).values(row).run();
}

/** listGroups lists an account's groups by name. */
export function listGroups(db: Db, accountId: string): GroupRow[] {
  return db.select().from(groups).where(eq(groups.accountId, accountId)).orderBy(asc(groups.name)).all();
}

/** getGroup finds a group within an account. */
export function getGroup(db: Db, accountId: string, id: string): GroupRow | undefined {
  return db.select().from(groups).where(and(eq(groups.accountId, accountId), eq(groups.id, id))).get();
}

/** getGroupByName finds a group by name within an account. */
export function getGroupByName(db: Db, accountId: string, name: string): GroupRow | undefined {
  return db.select().from(groups).where(and(eq(groups.accountId, accountId), eq(groups.name, name))).get();
}

/** updateGroup changes a group's name and description. */
export function updateGroup(db: Db, accountId: string, id: string, set: Partial<Pick<GroupRow, "name" | "description">>): void {
  db.update(groups).set(set).where(and(eq(groups.accountId, accountId), eq(groups.id, id))).run();
}

/** deleteGroup removes a group (memberships cascade). */
export function deleteGroup(db: Db, accountId: string, id: string): void {
  db.delete(groups).where(and(eq(groups.accountId, accountId), eq(groups.id, id))).run();
}

/** groupIdsOfUser lists the ids of the groups a user belongs to. */
export function groupIdsOfUser(db: Db, accountId: string, userId: string): string[] {
  return (db.$client.query("SELECT group_id AS id FROM group_members WHERE account_id = ? AND user_id = ?").all(accountId, userId) as { id: string }[]).map((r) => r.id);
}

/** memberIdsOfGroup lists the user ids in a group. */
export function memberIdsOfGroup(db: Db, accountId: string, groupId: string): string[] {
  return db
    .select({ id: groupMembers.userId })
    .from(groupMembers)
    .where(and(eq(groupMembers.accountId, accountId), eq(groupMembers.groupId, groupId)))
    .all()
    .map((r) => r.id);
}

/** setUserGroups replaces a user's group memberships. */
export function setUserGroups(db: Db, accountId: string, userId: string, groupIds: string[]): void {
  db.delete(groupMembers).where(and(eq(groupMembers.accountId, accountId), eq(groupMembers.userId, userId))).run();
  if (groupIds.length) db.insert(groupMembers).values(groupIds.map((groupId) => ({ accountId, groupId, userId }))).run();
}

/** groupsByIds fetches several groups of one account. */
export function groupsByIds(db: Db, accountId: string, ids: string[]): GroupRow[] {
  if (!ids.length) return [];
  return db.select().from(groups).where(and(eq(groups.accountId, accountId), inArray(groups.id, ids))).orderBy(asc(groups.name)).all();
}

/** deleteAccountRows removes an account and (by cascade) everything it owns; the operation log stays. */
export function deleteAccountRows(db: Db, id: string): void {
  db.$client.query("DELETE FROM one_time_tokens WHERE account_id = ?").run(id);
  db.delete(accounts).where(eq(accounts.id, id)).run();
}
