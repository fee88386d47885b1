import { Hono } from "hono";
import { exportAuditCsv, searchAudit, type AuditQuery, type AuditRow } from "../audit/queries.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { fmtTime, Notice, page } from "./ui.tsx";

const PAGE = 100;

function queryOf(c: AppContext): AuditQuery {
  const q = c.req.query();
  return { action: q.action, actor: q.actor, target: q.target, from: q.from, to: q.to, before: q.before };
}

function qs(q: AuditQuery): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) p.set(k, v);
  return p.toString();
}

function Results({ rows, q }: { rows: AuditRow[]; q: AuditQuery }) {
  const last = rows[rows.length - 1];
  return (
    <div id="audit-results">
      <table>
        <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>From</th><th>Details</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr data-action={r.action}>
              <td>{fmtTime(r.at)}</td>
              <td>{r.actorLabel}</td>
              <td><code>{r.action}</code></td>
              <td>{r.targetType} {r.targetId}</td>
              <td>{r.ip}</td>
              <td><pre class="details">{r.details === "{}" ? "" : r.details}</pre></td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p class="muted">No entries match.</p>}
      {rows.length === PAGE && last && <p><a href={`/admin/audit?${qs({ ...q, before: String(last.seq) })}`}>Older entries</a></p>}
    </div>
  );
}

/** auditRoutes: the operation log, filterable, with CSV export (requires audit:view). */
export function auditRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const audit = deps.auth.audit;

  app.get("/", allow("audit:view"), async (c) => {
    const q = queryOf(c);
    let rows: AuditRow[] = [];
    let error = "";
    try {
      rows = await searchAudit(audit, actorOf(c), q, PAGE);
    } catch (e) {
      if (!(e instanceof AppError && e.code === "invalid_input")) throw e;
      error = Object.values(e.fields).join(" ");
    }
    if (c.req.header("hx-request") === "true" && c.req.header("hx-target") === "audit-results") return c.html(<Results rows={rows} q={q} />);
    return page(
      c,
      "Operation log",
      <section class="card">
        <h1>Operation log</h1>
        <p class="hint">Every change, hash-chained: <code>conclave audit verify</code> checks that no entry was altered or removed.</p>
        {error && <Notice kind="error">{error}</Notice>}
        <form method="get" action="/admin/audit" class="filters" hx-get="/admin/audit" hx-target="#audit-results" hx-swap="outerHTML" hx-push-url="true">
          <div><label for="f-action">Action</label><input id="f-action" type="text" name="action" value={q.action ?? ""} placeholder="user." /></div>
          <div><label for="f-actor">Who</label><input id="f-actor" type="text" name="actor" value={q.actor ?? ""} /></div>
          <div><label for="f-target">Target</label><input id="f-target" type="text" name="target" value={q.target ?? ""} /></div>
          <div><label for="f-from">From</label><input id="f-from" type="date" name="from" value={q.from ?? ""} /></div>
          <div><label for="f-to">To</label><input id="f-to" type="date" name="to" value={q.to ?? ""} /></div>
          <div><button type="submit">Filter</button></div>
          <div><a class="button secondary" href={`/admin/audit/export.csv?${qs({ ...q, before: undefined })}`}>Export CSV</a></div>
        </form>
        <Results rows={rows} q={q} />
      </section>,
      error ? 400 : 200,
    );
  });

  app.get("/export.csv", allow("audit:view"), async (c) => {
    const csv = await exportAuditCsv(audit, actorOf(c), queryOf(c));
    c.header("Content-Type", "text/csv; charset=utf-8");
    c.header("Content-Disposition", `attachment; filename="conclave-audit-${new Date().toISOString().slice(0, 10)}.csv"`);
    return c.body(csv);
  });
  return app;
}
