import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "./db.ts";
import { settings } from "./schema.ts";

/** SettingRow is one stored setting value at one level. */
export type SettingRow = typeof settings.$inferSelect;
/** SettingLevel is where a value is set. */
export type SettingLevel = SettingRow["level"];

/** settingsFor loads every stored value relevant to (account, its groups, one user). */
export function settingsFor(db: Db, accountId: string, groupIds: string[], userId: string | null): SettingRow[] {
  const scopes = [accountId, ...groupIds, ...(userId ? [userId] : [])];
  // Raw prepared SQL (cached per number of scopes): this runs on every request of a signed-in user.
  const rows = db.$client
    .query(`SELECT account_id AS accountId, level, scope_id AS scopeId, key, value, locked, updated_at AS updatedAt FROM settings WHERE account_id = ? AND scope_id IN (${scopes.map(() => "?").join(",")})`)
    .all(accountId, ...scopes) as (Omit<SettingRow, "locked"> & { locked: number })[];
  return rows.map((r) => ({ ...r, locked: Boolean(r.locked) }));
}

/** upsertSetting stores a value (and lock flag) at a scope. */
export function upsertSetting(db: Db, row: Omit<SettingRow, "updatedAt"> & { updatedAt: number }): void {
  db.insert(settings)
    .values(row)
    .onConflictDoUpdate({ target: [settings.accountId, settings.level, settings.scopeId, settings.key], set: { value: row.value, locked: row.locked, updatedAt: row.updatedAt } })
    .run();
}

/** deleteSetting removes a value so the level inherits again. */
export function deleteSetting(db: Db, accountId: string, level: SettingLevel, scopeId: string, key: string): void {
  db.delete(settings)
    .where(and(eq(settings.accountId, accountId), eq(settings.level, level), eq(settings.scopeId, scopeId), eq(settings.key, key)))
    .run();
}

/** deleteSettingsOfScope removes every value of a deleted group or user. */
export function deleteSettingsOfScope(db: Db, accountId: string, scopeId: string): void {
  db.delete(settings).where(and(eq(settings.accountId, accountId), eq(settings.scopeId, scopeId))).run();
}
