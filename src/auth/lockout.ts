import type { AuditActor } from "../audit/audit-log.ts";
import type { AccountsDeps } from "../accounts/deps.ts";
import { addSourceFailure, purgeSources, sourceFailures } from "../storage/identity-repo.ts";
import type { UserRecord } from "../storage/users-repo.ts";

/** MAX_FAILURES consecutive invalid attempts (password or second factor) lock an account. */
export const MAX_FAILURES = 6;
/** LOCK_MS is how long a lock lasts. */
export const LOCK_MS = 30 * 60_000;
/** Per source address: at most SOURCE_MAX_FAILURES failures per SOURCE_WINDOW_MS, so one address cannot lock out many accounts. */
export const SOURCE_MAX_FAILURES = 30;
export const SOURCE_WINDOW_MS = 15 * 60_000;

/** lockedUntil returns when a user's lock ends, or null if not locked now. */
export function lockedUntil(user: Pick<UserRecord, "lockedUntil">, now: number): number | null {
  return user.lockedUntil && user.lockedUntil > now ? user.lockedUntil : null;
}

/** sourceBlocked tells whether an address has used up its failure budget. */
export function sourceBlocked(deps: AccountsDeps, source: string): boolean {
  const now = deps.clock.now();
  return sourceFailures(deps.db, source || "local", now - SOURCE_WINDOW_MS) >= SOURCE_MAX_FAILURES;
}

/** countSourceFailure charges one failure to an address. */
export function countSourceFailure(deps: AccountsDeps, source: string): void {
  const now = deps.clock.now();
  addSourceFailure(deps.db, source || "local", now, SOURCE_WINDOW_MS);
  if (Math.random() < 0.01) purgeSources(deps.db, now - SOURCE_WINDOW_MS);
}

/**
 * recordFailure counts a failed attempt for a user and locks the account at MAX_FAILURES,
 * auditing the lock and e-mailing the user. Returns the lock end when this attempt locked it.
 */
export function recordFailure(deps: AccountsDeps, user: UserRecord, actor: AuditActor): number | null {
  const now = deps.clock.now();
  const until = now + LOCK_MS;
  // Increment in the database, not from the copy loaded before the (slow) password check:
  // concurrent wrong attempts must all count.
  const locked = deps.db.$client.transaction((): boolean => {
    const row = deps.db.$client
      .query("UPDATE users SET failed_attempts = failed_attempts + 1 WHERE account_id = ? AND id = ? RETURNING failed_attempts AS n")
      .get(user.accountId, user.id) as { n: number } | null;
    if (!row || row.n < MAX_FAILURES) return false;
    deps.users.update(user.accountId, user.id, { failedAttempts: 0, lockedUntil: until });
    deps.audit.record(actor, { action: "user.locked", targetType: "user", targetId: user.id, detail: { until: new Date(until).toISOString(), failures: MAX_FAILURES } });
    return true;
  }).immediate();
  if (!locked) return null;
  if (deps.mailer.enabled)
    deps.mailer
      .send({
        to: user.email,
        subject: "Your Conclave account was locked",
        text: `Hello ${user.name},\n\nAfter ${MAX_FAILURES} failed sign-in attempts your Conclave account is locked until ${new Date(until).toISOString().slice(0, 16).replace("T", " ")} UTC.\nIf this was not you, tell your administrator. An administrator can unlock the account at any time.\n`,
      })
      .catch(() => {});
  return until;
}

/** clearFailures resets the counter after a successful sign-in. */
export function clearFailures(deps: AccountsDeps, user: UserRecord): void {
  if (user.failedAttempts || user.lockedUntil) deps.users.update(user.accountId, user.id, { failedAttempts: 0, lockedUntil: null });
}

/** fmtUntil renders a lock end for messages. */
export function fmtUntil(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}
