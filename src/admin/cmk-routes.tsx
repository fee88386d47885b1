import { Hono } from "hono";
import { can } from "../accounts/actor.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import { parseKeySpec } from "../keys/cmk-service.ts";
import { keyUsageCsv, KEY_USAGE_COLUMNS } from "../keys/key-usage.ts";
import { AppError, notFound } from "../shared/errors.ts";
import { CLASS_LABELS, CMK_BASE, JobProgress, KeyForm, Overview } from "./cmk-views.tsx";
import type { AdminDeps } from "./deps.ts";
import { Csrf, fmtTime, formList, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

const NOTICES: Record<string, string> = {
  added: "The key was tested and enrolled. Choose the services it protects and the licensed users.",
  services: "Services saved.",
  options: "Availability options saved.",
  recipient: "Recipients saved.",
  checked: "The key was checked.",
  deprovision: "Deprovisioning schedule saved.",
  licences: "Licences saved.",
  resumed: "The job was resumed.",
};

/** fieldErrors returns the per-field messages of a validation error, or rethrows anything else. */
function fieldErrors(err: unknown): Record<string, string> {
  if (err instanceof AppError && err.code === "invalid_input") return Object.keys(err.fields).length ? err.fields : { keyRef: err.message };
  throw err;
}

/** parseDay reads a YYYY-MM-DD date (UTC midnight), or null. */
function parseDay(s: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return null;
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isFinite(t) ? t : null;
}

/** cmkRoutes: Advanced → Security → Customer managed key (Owner and Admins: settings permissions). */
export function cmkRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const cmk = deps.cmk;

  const keyPage = async (c: AppContext, mode: "add" | "rotate", values: Record<string, string>, errors: Record<string, string>, test?: { ok: boolean; text: string }, status: 200 | 400 = 200) =>
    page(
      c,
      mode === "add" ? "Add customer managed key" : "Rotate customer managed key",
      <section class="card">
        <h1>{mode === "add" ? "Add key" : "Rotate key"}</h1>
        <p class="hint">
          {mode === "add"
            ? "The key is tested with a wrap/unwrap round trip before it is enrolled. Then choose the services it protects and the licensed users."
            : "The new key is tested, becomes the active key, and every data key wrapped by the current key is rewrapped under it online. Keep the old key available until the rotation job has finished."}
        </p>
        <KeyForm c={c} action={`${CMK_BASE}/${mode}`} providers={cmk.providers()} values={values} errors={errors} submit={mode === "add" ? "Add key" : "Rotate key"} test={test} />
        <p><a href={CMK_BASE}>Back</a></p>
      </section>,
      status,
    );

  app.get("/", allow("settings:view"), async (c) => {
    const actor = actorOf(c);
    const o = cmk.overview(actor.accountId);
    let recipients: { id: string; email: string }[] = [];
    try {
      recipients = await cmk.recipients(actor.accountId);
    } catch {
      recipients = [];
    }
    return page(c, "Customer managed key", <Overview c={c} o={o} editable={can(actor, "settings:edit")} recipients={recipients} notice={NOTICES[c.req.query("done") ?? ""]} />);
  });

  for (const mode of ["add", "rotate"] as const) {
    app.get(`/${mode}`, allow("settings:edit"), (c) => {
      const o = cmk.overview(actorOf(c).accountId);
      return keyPage(c, mode, { provider: o.activeKey?.provider ?? cmk.providers()[0] ?? "", keyRef: "", replicas: "" }, {});
    });
    app.post(`/${mode}`, allow("settings:edit"), async (c) => {
      const actor = actorOf(c);
      const body = await readForm(c);
      const values = { provider: formText(body, "provider"), keyRef: formText(body, "keyRef"), replicas: formText(body, "replicas") };
      let spec;
      try {
        spec = parseKeySpec(values.provider, values.keyRef, values.replicas);
      } catch (err) {
        return keyPage(c, mode, values, fieldErrors(err), undefined, 400);
      }
      if (formText(body, "action") === "test") {
        const h = await cmk.testKey(actor, spec);
        return keyPage(c, mode, values, {}, { ok: h.ok, text: h.ok ? h.detail : (h.providerMessage ?? h.detail) }, h.ok ? 200 : 400);
      }
      try {
        if (mode === "add") {
          await cmk.addKey(actor, spec);
          return seeOther(c, `${CMK_BASE}?done=added`);
        }
        const job = await cmk.rotate(actor, spec);
        return seeOther(c, `${CMK_BASE}/jobs/${job.id}`);
      } catch (err) {
        return keyPage(c, mode, values, fieldErrors(err), undefined, 400);
      }
    });
  }

  app.post("/services", allow("settings:edit"), async (c) => {
    await cmk.setServices(actorOf(c), formList(await readForm(c), "services"));
    return seeOther(c, `${CMK_BASE}?done=services`);
  });
  app.post("/options", allow("settings:edit"), async (c) => {
    const body = await readForm(c);
    await cmk.setOptions(actorOf(c), { fallback: formText(body, "fallback") === "1", dropMeetings: formText(body, "dropMeetings") === "1" });
    return seeOther(c, `${CMK_BASE}?done=options`);
  });
  app.post("/recipients", allow("settings:edit"), async (c) => {
    const actor = actorOf(c);
    const email = formText(await readForm(c), "email");
    try {
      await cmk.addRecipient(actor, email);
    } catch (err) {
      const e = fieldErrors(err);
      return page(c, "Customer managed key", <section class="card"><h1>Notification recipients</h1><Notice kind="error">{e.email ?? Object.values(e)[0]}</Notice><p><a href={CMK_BASE}>Back</a></p></section>, 400);
    }
    return seeOther(c, `${CMK_BASE}?done=recipient`);
  });
  app.post("/recipients/:id/delete", allow("settings:edit"), async (c) => {
    await cmk.removeRecipient(actorOf(c), c.req.param("id"));
    return seeOther(c, `${CMK_BASE}?done=recipient`);
  });
  app.post("/check", allow("settings:edit"), async (c) => {
    await cmk.checkNow(actorOf(c).accountId);
    return seeOther(c, `${CMK_BASE}?done=checked`);
  });
  app.post("/deprovision", allow("settings:edit"), async (c) => {
    const actor = actorOf(c);
    const body = await readForm(c);
    if (formText(body, "action") === "cancel") await cmk.scheduleDeprovision(actor, null);
    else {
      const at = parseDay(formText(body, "date"));
      if (at === null) throw new AppError("invalid_input", "Enter the deprovisioning date as YYYY-MM-DD.", { date: "Enter a date." });
      await cmk.scheduleDeprovision(actor, at);
    }
    return seeOther(c, `${CMK_BASE}?done=deprovision`);
  });

  app.get("/jobs/:id", allow("settings:view"), (c) => {
    const job = cmk.job(actorOf(c).accountId, c.req.param("id"));
    return page(c, "Key job", <section class="card"><h1>Key job</h1><JobProgress job={job} /><p><a href={`${CMK_BASE}/jobs/${job.id}`}>Refresh</a> · <a href={CMK_BASE}>Back</a></p></section>);
  });
  app.get("/jobs/:id/progress", allow("settings:view"), (c) => c.html(<JobProgress job={cmk.job(actorOf(c).accountId, c.req.param("id"))} />));
  app.post("/jobs/:id/resume", allow("settings:edit"), async (c) => {
    const job = await cmk.resumeJob(actorOf(c), c.req.param("id"));
    return seeOther(c, `${CMK_BASE}/jobs/${job.id}`);
  });

  app.get("/licences", allow("settings:view"), async (c) => {
    const actor = actorOf(c);
    const licensed = cmk.overview(actor.accountId).licensed;
    const users = await deps.auth.users.list(actor.accountId);
    const editable = can(actor, "settings:edit");
    return page(
      c,
      "Customer managed key licences",
      <section class="card">
        <h1>Licences</h1>
        {c.req.query("done") && <Notice>Licences saved.</Notice>}
        <p class="hint">Content that belongs to a licensed user (their profile, TOTP secret, chat messages, recordings) is wrapped by your key when its service is chosen; other users' content by the server key. Account-wide content (operation log, meeting metadata without an owner) follows the service choice alone.</p>
        <form method="post" action={`${CMK_BASE}/licences`} class="checks">
          <Csrf c={c} />
          <table>
            <thead><tr><th>Licence</th><th>Name</th><th>E-mail</th><th>Status</th></tr></thead>
            <tbody>
              {users.map((u) => (
                <tr>
                  <td><input type="checkbox" name="users" value={u.id} checked={licensed.has(u.id)} disabled={!editable} aria-label={`Licence for ${u.name}`} /></td>
                  <td>{u.name}</td>
                  <td>{u.email}</td>
                  <td>{u.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {editable && <button type="submit">Save licences</button>}
        </form>
        <p><a href={CMK_BASE}>Back</a></p>
      </section>,
    );
  });
  app.post("/licences", allow("settings:edit"), async (c) => {
    await cmk.setLicences(actorOf(c), formList(await readForm(c), "users"));
    return seeOther(c, `${CMK_BASE}/licences?done=1`);
  });

  app.get("/usage", allow("settings:view"), (c) => {
    const actor = actorOf(c);
    const q = (k: string): string => (c.req.query(k) ?? "").trim();
    const since = q("since") ? parseDay(q("since")) : null;
    const until = q("until") ? parseDay(q("until")) : null;
    if ((q("since") && since === null) || (q("until") && until === null)) throw new AppError("invalid_input", "Enter dates as YYYY-MM-DD.");
    const filter = {
      accountId: actor.accountId, since: since ?? undefined, until: until !== null ? until + 86_400_000 : undefined,
      dataClass: q("class") || undefined, op: q("op") || undefined, outcome: q("outcome") || undefined,
    };
    if (q("format") === "csv") {
      return c.body(keyUsageCsv(cmk.usage(filter)), 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="key-usage.csv"' });
    }
    const rows = cmk.usage({ ...filter, limit: 500 });
    const qs = new URLSearchParams({ ...Object.fromEntries(["since", "until", "class", "op", "outcome"].map((k) => [k, q(k)])), format: "csv" });
    const opt = (name: string, values: string[], labels?: Record<string, string>) => (
      <div>
        <label for={`f-${name}`}>{name === "class" ? "Data class" : name === "op" ? "Operation" : "Outcome"}</label>
        <select id={`f-${name}`} name={name}>
          <option value="">any</option>
          {values.map((v) => <option value={v} selected={q(name) === v}>{labels?.[v] ?? v}</option>)}
        </select>
      </div>
    );
    return page(
      c,
      "Key usage report",
      <section class="card">
        <h1>Key usage report</h1>
        <p class="hint">Every wrap and unwrap of your account's data keys: data class, purpose, the user whose content it was, key, outcome. Unwrapped keys are cached in memory for a few minutes, so each line stands for a cache miss.</p>
        <form method="get" action={`${CMK_BASE}/usage`} class="filters">
          <div><label for="f-since">From</label><input id="f-since" type="date" name="since" value={q("since")} /></div>
          <div><label for="f-until">Until</label><input id="f-until" type="date" name="until" value={q("until")} /></div>
          {opt("class", Object.keys(CLASS_LABELS))}
          {opt("op", ["wrap", "unwrap"])}
          {opt("outcome", ["ok", "unreachable", "denied"])}
          <div><button type="submit">Filter</button></div>
        </form>
        <p><a href={`${CMK_BASE}/usage?${qs.toString()}`} data-testid="cmk-usage-csv">Export CSV</a> · <a href={CMK_BASE}>Back</a></p>
        <table data-testid="cmk-usage">
          <thead><tr>{[0, 2, 3, 4, 5, 6, 7, 9].map((i) => <th>{KEY_USAGE_COLUMNS[i]}</th>)}</tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td>{fmtTime(r.at)}</td><td>{r.op}</td><td>{r.dataClass}</td><td>{r.purpose}</td><td>{r.userId ?? ""}</td><td>{r.slot}</td><td><code>{r.provider}</code></td>
                <td>{r.outcome}{r.detail && <p class="hint">{r.detail}</p>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 500 && <p class="hint">Showing the newest 500; narrow the filter or export CSV for all.</p>}
      </section>,
    );
  });

  app.all("*", () => {
    throw notFound("There is no page at this address.");
  });
  return app;
}
