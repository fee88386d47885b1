import { and, desc, eq } from "drizzle-orm";
import type { Db } from "./db.ts";
import { dataKeys } from "./schema.ts";

/** DataKeyRow is one stored (wrapped) data-encryption key. */
export type DataKeyRow = typeof dataKeys.$inferSelect;

/** activeDataKey returns the newest active key of an account's data class (raw prepared SQL: every seal asks). */
export function activeDataKey(db: Db, accountId: string, dataClass: string): DataKeyRow | undefined {
  return (
    (db.$client
      .query(
        "SELECT id, account_id AS accountId, data_class AS dataClass, version, wrapped, wrapped_by AS wrappedBy, status, invocations, created_at AS createdAt, retired_at AS retiredAt FROM data_keys WHERE account_id = ? AND data_class = ? AND status = 'active' ORDER BY version DESC LIMIT 1",
      )
      .get(accountId, dataClass) as DataKeyRow | null) ?? undefined
  );
}

/** dataKeyById finds a key by id. */
export function dataKeyById(db: Db, id: string): DataKeyRow | undefined {
  return (
    (db.$client
      .query("SELECT id, account_id AS accountId, data_class AS dataClass, version, wrapped, wrapped_by AS wrappedBy, status, invocations, created_at AS createdAt, retired_at AS retiredAt FROM data_keys WHERE id = ?")
      .get(id) as DataKeyRow | null) ?? undefined
  );
}

/** latestVersion returns the highest version of a class (any status), or 0. */
export function latestVersion(db: Db, accountId: string, dataClass: string): number {
  const r = db.select({ v: dataKeys.version }).from(dataKeys).where(and(eq(dataKeys.accountId, accountId), eq(dataKeys.dataClass, dataClass))).orderBy(desc(dataKeys.version)).limit(1).get();
  return r?.v ?? 0;
}

/** insertDataKey stores a wrapped key. */
export function insertDataKey(db: Db, row: DataKeyRow): void {
  db.insert(dataKeys).values(row).run();
}

/** reserveInvocations adds a block to a key's invocation count and returns the new total. */
export function reserveInvocations(db: Db, id: string, block: number): number {
  const r = db.$client.query("UPDATE data_keys SET invocations = invocations + ? WHERE id = ? RETURNING invocations").get(block, id) as { invocations: number } | null;
  return r?.invocations ?? 0;
}

/** retireDataKey stops new writes with a key (it still decrypts). */
export function retireDataKey(db: Db, id: string, at: number): void {
  db.update(dataKeys).set({ status: "retired", retiredAt: at }).where(eq(dataKeys.id, id)).run();
}

/** setWrapped replaces a key's wrapped form after a rewrap. */
export function setWrapped(db: Db, id: string, wrapped: string, wrappedBy: string): void {
  db.update(dataKeys).set({ wrapped, wrappedBy }).where(eq(dataKeys.id, id)).run();
}

/** listDataKeys lists every key (for status, rewrap jobs), optionally of one account. */
export function listDataKeys(db: Db, accountId?: string): DataKeyRow[] {
  const q = db.select().from(dataKeys);
  return (accountId ? q.where(eq(dataKeys.accountId, accountId)) : q).all();
}

/** destroyAccountKeys crypto-shreds an account: wrapped keys are erased, rows kept as tombstones. */
export function destroyAccountKeys(db: Db, accountId: string, at: number): number {
  return db.$client.query("UPDATE data_keys SET wrapped = '', status = 'destroyed', retired_at = ? WHERE account_id = ? AND status <> 'destroyed'").run(at, accountId).changes;
}
