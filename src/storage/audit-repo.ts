import { and, desc, eq, gte, like, lte, or, asc, gt, type SQL } from "drizzle-orm";
import type { Db } from "./db.ts";
import { auditLog } from "./schema.ts";

/** AuditRow is one stored operation-log entry. */
export type AuditRow = typeof auditLog.$inferSelect;
/** NewAuditRow is an entry ready to insert (hash computed by the audit module). */
export type NewAuditRow = Omit<AuditRow, "seq">;

/** AuditFilter narrows a listing; accountId is always applied. */
export interface AuditFilter {
  accountId: string;
  action?: string;
  actor?: string;
  target?: string;
  from?: number;
  to?: number;
  limit?: number;
  beforeSeq?: number;
}

/** lastAuditHash returns the newest entry's hash, or null for an empty log. */
export function lastAuditHash(db: Db): string | null {
  const row = db.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1).get();
  return row?.hash ?? null;
}

/** insertAudit appends one entry. */
export function insertAudit(db: Db, row: NewAuditRow): void {
  db.insert(auditLog).values(row).run();
}

/** listAudit returns an account's entries, newest first. */
export function listAudit(db: Db, f: AuditFilter): AuditRow[] {
  const conds: SQL[] = [eq(auditLog.accountId, f.accountId)];
  if (f.action) conds.push(like(auditLog.action, `${f.action}%`));
  if (f.actor) conds.push(like(auditLog.actorLabel, `%${f.actor}%`));
  if (f.target) conds.push(or(eq(auditLog.targetId, f.target), like(auditLog.targetType, `${f.target}%`))!);
  if (f.from !== undefined) conds.push(gte(auditLog.at, f.from));
  if (f.to !== undefined) conds.push(lte(auditLog.at, f.to));
  if (f.beforeSeq !== undefined) conds.push(lte(auditLog.seq, f.beforeSeq - 1));
  return db.select().from(auditLog).where(and(...conds)).orderBy(desc(auditLog.seq)).limit(f.limit ?? 100).all();
}

/** scanAudit yields every entry in chain order, in pages. */
export function* scanAudit(db: Db, pageSize = 1000): Generator<AuditRow> {
  let after = 0;
  for (;;) {
    const rows = db.select().from(auditLog).where(gt(auditLog.seq, after)).orderBy(asc(auditLog.seq)).limit(pageSize).all();
    if (rows.length === 0) return;
    yield* rows;
    after = rows[rows.length - 1]!.seq;
  }
}
