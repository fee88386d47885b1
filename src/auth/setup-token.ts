import type { AuditLog } from "../audit/audit-log.ts";
import type { Clock } from "../shared/clock.ts";
import { randomToken, sha256Hex } from "../shared/ids.ts";
import { countAccounts } from "../storage/accounts-repo.ts";
import type { Db } from "../storage/db.ts";
import { getToken, insertToken, markTokenUsed, revokeTokens } from "../storage/sessions-repo.ts";

/** setupNeeded is true until the first account exists. */
export function setupNeeded(db: Db): boolean {
  return countAccounts(db) === 0;
}

/** issueSetupToken revokes earlier setup tokens and creates a new single-use one. */
export function issueSetupToken(db: Db, clock: Clock, audit: AuditLog, ttlMinutes: number): string {
  const token = randomToken(32);
  const now = clock.now();
  db.$client.transaction(() => {
    revokeTokens(db, "setup", now);
    insertToken(db, { tokenHash: sha256Hex(token), purpose: "setup", accountId: null, userId: null, createdAt: now, expiresAt: now + ttlMinutes * 60_000, usedAt: null });
    audit.record({ accountId: null, userId: null, label: "system" }, { action: "setup.token_issued", detail: { expiresAt: new Date(now + ttlMinutes * 60_000).toISOString() } });
  }).immediate();
  return token;
}

/** TokenCheck is the state of a one-time token. */
export type TokenCheck = { ok: true; accountId: string | null; userId: string | null } | { ok: false; reason: "unknown" | "expired" | "used" };

/** checkToken looks a one-time token up without consuming it. */
export function checkToken(db: Db, clock: Clock, purpose: "setup" | "activation" | "password_reset" | "mfa_pending", token: string): TokenCheck {
  if (!token || token.length > 100) return { ok: false, reason: "unknown" };
  const row = getToken(db, sha256Hex(token));
  if (!row || row.purpose !== purpose) return { ok: false, reason: "unknown" };
  if (row.usedAt !== null) return { ok: false, reason: "used" };
  if (row.expiresAt <= clock.now()) return { ok: false, reason: "expired" };
  return { ok: true, accountId: row.accountId, userId: row.userId };
}

/** consumeToken marks a token used; false if another request used it first. */
export function consumeToken(db: Db, clock: Clock, token: string): boolean {
  return markTokenUsed(db, sha256Hex(token), clock.now());
}
