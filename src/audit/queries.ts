import type { Actor } from "../accounts/actor.ts";
import { requirePermission } from "../accounts/actor.ts";
import { invalid } from "../shared/errors.ts";
import type { AuditLog } from "./audit-log.ts";
import { auditCsv } from "./audit-log.ts";
import type { AuditRow } from "../storage/audit-repo.ts";

export type { AuditRow };

/** AuditQuery is the filter form of the operation log page (all optional). */
export interface AuditQuery {
  action?: string;
  actor?: string;
  target?: string;
  from?: string;
  to?: string;
  before?: string;
}

function day(field: string, v: string | undefined, endOfDay: boolean): number | undefined {
  if (!v) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw invalid({ [field]: "Use a date like 2026-11-23." });
  const t = Date.parse(`${v}T${endOfDay ? "23:59:59.999" : "00:00:00.000"}Z`);
  if (Number.isNaN(t)) throw invalid({ [field]: "Use a date like 2026-11-23." });
  return t;
}

/** searchAudit lists the actor's account's entries matching a query (requires audit:view). */
export async function searchAudit(audit: AuditLog, actor: Actor, q: AuditQuery, limit = 100): Promise<AuditRow[]> {
  requirePermission(actor, "audit:view");
  const before = q.before && /^\d+$/.test(q.before) ? Number(q.before) : undefined;
  return audit.list({
    accountId: actor.accountId,
    action: q.action?.trim().slice(0, 60) || undefined,
    actor: q.actor?.trim().slice(0, 100) || undefined,
    target: q.target?.trim().slice(0, 100) || undefined,
    from: day("from", q.from, false),
    to: day("to", q.to, true),
    beforeSeq: before,
    limit,
  });
}

/** exportAuditCsv renders every matching entry (up to 100k) as CSV, and records the export. */
export async function exportAuditCsv(audit: AuditLog, actor: Actor, q: AuditQuery): Promise<string> {
  const rows = await searchAudit(audit, actor, q, 100_000);
  audit.record({ accountId: actor.accountId, userId: actor.userId, label: actor.label, ip: actor.ip, userAgent: actor.userAgent }, { action: "audit.export", detail: { rows: rows.length, filter: q } });
  return auditCsv(rows);
}
