import { createHash } from "node:crypto";
import type { Clock } from "../shared/clock.ts";
import { newId } from "../shared/ids.ts";
import type { Db } from "../storage/db.ts";
import { insertAudit, lastAuditHash, listAudit, scanAudit, type AuditFilter, type AuditRow, type NewAuditRow } from "../storage/audit-repo.ts";

/** GENESIS_HASH is the previous-hash of the first entry. */
export const GENESIS_HASH = "0".repeat(64);

/** AuditActor says who did something and from where. */
export interface AuditActor {
  accountId: string | null;
  userId: string | null;
  label: string;
  ip?: string;
  userAgent?: string;
}

/** AuditEvent is what a module records; `before`/`after` where meaningful. */
export interface AuditEvent {
  action: string;
  targetType?: string;
  targetId?: string;
  /** Account the event belongs to, when it differs from the actor's (e.g. setup). */
  accountId?: string | null;
  before?: unknown;
  after?: unknown;
  detail?: Record<string, unknown>;
}

/** VerifyResult is the outcome of walking the hash chain. */
export type VerifyResult = { ok: true; checked: number } | { ok: false; checked: number; brokenSeq: number; brokenId: string; reason: string };

/** entryHash computes the chained hash over every stored field but seq and hash. */
export function entryHash(row: Omit<NewAuditRow, "hash">): string {
  const canonical = JSON.stringify([
    row.prevHash, row.id, row.accountId, row.at, row.actorId, row.actorLabel, row.action,
    row.targetType, row.targetId, row.ip, row.userAgent, row.details,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * DetailsSealer encrypts an entry's details (they hold names, e-mails, before/after values).
 * `seal` is synchronous because entries are written inside the transaction that makes the
 * change; `prepare` makes that possible for an account. The hash chain covers the stored
 * (sealed) form, so `audit verify` needs no keys and survives crypto-shredding.
 */
export interface DetailsSealer {
  prepare(accountId: string): Promise<void>;
  seal(accountId: string, entryId: string, json: string): string;
  open(accountId: string, entryId: string, stored: string): Promise<string>;
  /** openSync opens with a key already in memory (the log's keys are pinned); throws otherwise. */
  openSync(accountId: string, entryId: string, stored: string): string;
}

/** AuditLog is the append-only, hash-chained operation log. */
export interface AuditLog {
  /** record appends one entry; call it inside the transaction that makes the change. */
  record(actor: AuditActor, event: AuditEvent): AuditRow;
  /** prepare readies an account's log key before its first entry (account creation). */
  prepare(accountId: string): Promise<void>;
  /** list returns an account's entries (details opened), newest first. */
  list(filter: AuditFilter): Promise<AuditRow[]>;
  /** reveal opens one stored entry's sealed columns (tests and tools reading rows directly). */
  reveal(row: { id: string; accountId: string | null; details: string; actorLabel: string }): { details: string; actorLabel: string };
  verify(): VerifyResult;
}

/** createAuditLog builds the operation log over a database. */
export function createAuditLog(db: Db, clock: Clock, sealer: DetailsSealer | null = null): AuditLog {
  return {
    prepare: async (accountId) => sealer?.prepare(accountId),
    record(actor, event) {
      const details: Record<string, unknown> = { ...event.detail };
      if (event.before !== undefined) details.before = event.before;
      if (event.after !== undefined) details.after = event.after;
      // Reading the last hash and inserting must not interleave with another append.
      const id = newId();
      const accountId = event.accountId !== undefined ? event.accountId : actor.accountId;
      // System entries (no account) carry no personal data and stay readable to the CLI.
      const seal = sealer && accountId ? (column: string, v: string) => sealer.seal(accountId, `${id}/${column}`, v) : (_c: string, v: string) => v;
      const stored = seal("details", JSON.stringify(details));
      const actorLabel = seal("actor_label", actor.label);
      return db.$client.transaction(() => {
        const base = {
          id,
          accountId,
          at: clock.now(),
          actorId: actor.userId,
          actorLabel,
          action: event.action,
          targetType: event.targetType ?? "",
          targetId: event.targetId ?? "",
          ip: actor.ip ?? "",
          userAgent: (actor.userAgent ?? "").slice(0, 300),
          details: stored,
          prevHash: lastAuditHash(db) ?? GENESIS_HASH,
        };
        const row = { ...base, hash: entryHash(base) };
        insertAudit(db, row);
        // The caller gets the entry as written, with its sealed columns in the clear.
        return { seq: 0, ...row, actorLabel: actor.label, details: JSON.stringify(details) };
      }).immediate();
    },
    reveal(row) {
      if (!sealer || !row.accountId) return { details: row.details, actorLabel: row.actorLabel };
      return {
        details: sealer.openSync(row.accountId, `${row.id}/details`, row.details),
        actorLabel: sealer.openSync(row.accountId, `${row.id}/actor_label`, row.actorLabel),
      };
    },
    async list(filter) {
      if (!sealer) return listAudit(db, filter);
      // Actor labels are sealed, so "who" is matched after opening, over a bounded window.
      const limit = filter.limit ?? 100;
      const rows = listAudit(db, filter.actor ? { ...filter, actor: undefined, limit: Math.max(limit, 5000) } : filter);
      const open = async (r: AuditRow, column: string, v: string): Promise<string> =>
        r.accountId ? sealer.open(r.accountId, `${r.id}/${column}`, v).catch(() => "(unreadable: key destroyed or unavailable)") : v;
      const opened = await Promise.all(rows.map(async (r) => ({ ...r, details: await open(r, "details", r.details), actorLabel: await open(r, "actor_label", r.actorLabel) })));
      const who = filter.actor?.toLowerCase();
      return who ? opened.filter((r) => r.actorLabel.toLowerCase().includes(who)).slice(0, limit) : opened;
    },
    verify() {
      let prev = GENESIS_HASH;
      let checked = 0;
      for (const row of scanAudit(db)) {
        const { seq, hash, ...rest } = row;
        const fail = (reason: string): VerifyResult => ({ ok: false, checked, brokenSeq: seq, brokenId: row.id, reason });
        if (row.prevHash !== prev) return fail("previous-hash link does not match the entry before it (an entry was removed or reordered)");
        if (entryHash(rest) !== hash) return fail("content does not match its hash (the entry was modified)");
        prev = hash;
        checked++;
      }
      return { ok: true, checked };
    },
  };
}

/** auditCsv renders entries as RFC 4180 CSV. */
export function auditCsv(rows: AuditRow[]): string {
  const cols = ["seq", "at", "actor", "action", "target_type", "target_id", "ip", "user_agent", "details", "hash"];
  const cell = (v: unknown): string => {
    let s = String(v ?? "");
    // Neutralise spreadsheet formulas.
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = rows.map((r) =>
    [r.seq, new Date(r.at).toISOString(), r.actorLabel, r.action, r.targetType, r.targetId, r.ip, r.userAgent, r.details, r.hash].map(cell).join(","),
  );
  return [cols.join(","), ...lines].join("\r\n") + "\r\n";
}
