import { and, desc, eq, gte, isNull, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { passwordHistory, recoveryCodes, signinSources } from "./schema.ts";

/** addPasswordHistory records a password hash as used. */
export function addPasswordHistory(db: Db, accountId: string, userId: string, hash: string, at: number, kind: "initial" | "change" | "reset"): void {
  db.insert(passwordHistory).values({ accountId, userId, hash, kind, createdAt: at }).run();
}

/** recentPasswordHashes returns a user's newest `n` password hashes. */
export function recentPasswordHashes(db: Db, accountId: string, userId: string, n: number): string[] {
  if (n <= 0) return [];
  return db
    .select({ hash: passwordHistory.hash })
    .from(passwordHistory)
    .where(and(eq(passwordHistory.accountId, accountId), eq(passwordHistory.userId, userId)))
    .orderBy(desc(passwordHistory.createdAt), desc(passwordHistory.id))
    .limit(n)
    .all()
    .map((r) => r.hash);
}

/** passwordChangesSince counts a user's own password changes since a time. */
export function passwordChangesSince(db: Db, accountId: string, userId: string, since: number): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(passwordHistory)
      .where(and(eq(passwordHistory.accountId, accountId), eq(passwordHistory.userId, userId), eq(passwordHistory.kind, "change"), gte(passwordHistory.createdAt, since)))
      .get()?.n ?? 0
  );
}

/** replaceRecoveryCodes stores a fresh set of hashed recovery codes. */
export function replaceRecoveryCodes(db: Db, accountId: string, userId: string, hashes: string[]): void {
  db.delete(recoveryCodes).where(and(eq(recoveryCodes.accountId, accountId), eq(recoveryCodes.userId, userId))).run();
  if (hashes.length) db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ accountId, userId, codeHash, usedAt: null }))).run();
}

/** useRecoveryCode consumes a matching unused code; false when none matches. */
export function useRecoveryCode(db: Db, accountId: string, userId: string, hash: string, at: number): boolean {
  const r = db.$client
    .query("UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL")
    .run(at, accountId, userId, hash);
  return r.changes === 1;
}

/** unusedRecoveryCodes counts a user's remaining codes. */
export function unusedRecoveryCodes(db: Db, accountId: string, userId: string): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(recoveryCodes)
      .where(and(eq(recoveryCodes.accountId, accountId), eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
      .get()?.n ?? 0
  );
}

/** sourceFailures returns the failures counted for a source in its current window. */
export function sourceFailures(db: Db, source: string, windowStartAfter: number): number {
  const r = db.select().from(signinSources).where(eq(signinSources.source, source)).get();
  return r && r.windowStart > windowStartAfter ? r.failures : 0;
}

/** addSourceFailure counts one failure for a source, starting a new window when the old one ended. */
export function addSourceFailure(db: Db, source: string, now: number, windowMs: number): void {
  db.$client
    .query(
      `INSERT INTO signin_sources (source, window_start, failures) VALUES (?1, ?2, 1)
       ON CONFLICT(source) DO UPDATE SET
         failures = CASE WHEN window_start > ?2 - ?3 THEN failures + 1 ELSE 1 END,
         window_start = CASE WHEN window_start > ?2 - ?3 THEN window_start ELSE ?2 END`,
    )
    .run(source, now, windowMs);
}

/** purgeSources forgets sources whose window ended. */
export function purgeSources(db: Db, before: number): void {
  db.$client.query("DELETE FROM signin_sources WHERE window_start < ?").run(before);
}
