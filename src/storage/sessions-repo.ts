import { and, eq, lt, or } from "drizzle-orm";
import type { Db } from "./db.ts";
import { oneTimeTokens, sessions } from "./schema.ts";

/** SessionRow is one stored session (secret hashed). */
export type SessionRow = typeof sessions.$inferSelect;
/** TokenRow is one stored one-time token (hashed). */
export type TokenRow = typeof oneTimeTokens.$inferSelect;

/** insertSession stores a session. */
export function insertSession(db: Db, row: SessionRow): void {
  db.insert(sessions).values(row).run();
}

/** getSession finds a session by id (raw prepared SQL: it runs on every request). */
export function getSession(db: Db, id: string): SessionRow | undefined {
  return (
    (db.$client
      .query(
        "SELECT id, secret_hash AS secretHash, account_id AS accountId, user_id AS userId, csrf_token AS csrfToken, ip, user_agent AS userAgent, created_at AS createdAt, last_seen_at AS lastSeenAt, expires_at AS expiresAt FROM sessions WHERE id = ?",
      )
      .get(id) as SessionRow | null) ?? undefined
  );
}

/** touchSession records activity. */
export function touchSession(db: Db, id: string, at: number): void {
  db.update(sessions).set({ lastSeenAt: at }).where(eq(sessions.id, id)).run();
}

/** deleteSession ends one session. */
export function deleteSession(db: Db, id: string): void {
  db.delete(sessions).where(eq(sessions.id, id)).run();
}

/** deleteUserSessions ends every session of a user. */
export function deleteUserSessions(db: Db, accountId: string, userId: string): void {
  db.delete(sessions).where(and(eq(sessions.accountId, accountId), eq(sessions.userId, userId))).run();
}

/** purgeExpiredSessions removes sessions past their absolute expiry or idle limit. */
export function purgeExpiredSessions(db: Db, now: number, idleBefore: number): void {
  db.delete(sessions).where(or(lt(sessions.expiresAt, now), lt(sessions.lastSeenAt, idleBefore))).run();
}

/** insertToken stores a one-time token hash. */
export function insertToken(db: Db, row: TokenRow): void {
  db.insert(oneTimeTokens).values(row).run();
}

/** getToken finds a one-time token by its hash. */
export function getToken(db: Db, tokenHash: string): TokenRow | undefined {
  return db.select().from(oneTimeTokens).where(eq(oneTimeTokens.tokenHash, tokenHash)).get();
}

/** markTokenUsed consumes a token; returns false if it was already used (single use under races). */
export function markTokenUsed(db: Db, tokenHash: string, at: number): boolean {
  const r = db.$client.query("UPDATE one_time_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL").run(at, tokenHash);
  return r.changes === 1;
}

/** revokeTokens expires every unused token of a purpose (and user, if given). */
export function revokeTokens(db: Db, purpose: TokenRow["purpose"], at: number, userId?: string): void {
  const cond = userId ? and(eq(oneTimeTokens.purpose, purpose), eq(oneTimeTokens.userId, userId)) : eq(oneTimeTokens.purpose, purpose);
  db.update(oneTimeTokens).set({ expiresAt: at }).where(and(cond, lt(oneTimeTokens.expiresAt, Number.MAX_SAFE_INTEGER))).run();
}
