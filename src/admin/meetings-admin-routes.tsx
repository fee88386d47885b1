import { Hono } from "hono";
import type { AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import { formatMeetingNumber } from "../meetings/codes.ts";
import { accountMeetingAttendance, listAccountMeetings } from "../meetings/meetings.ts";
import type { AdminDeps } from "./deps.ts";
import { Attendance, whenText } from "./meetings-views.tsx";
import { fmtTime, page } from "./ui.tsx";

/** meetingsAdminRoutes: every meeting of the account with its attendance, for those who may read the operation log. */
export function meetingsAdminRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const md = deps.meetings.deps;

  app.get("/", allow("audit:view"), async (c) => {
    const list = await listAccountMeetings(md, actorOf(c));
    const live = new Set(deps.meetings.live.liveMeetingIds(actorOf(c).accountId));
    return page(
      c,
      "Meetings of the account",
      <section class="card">
        <h1>Meetings of the account</h1>
        <p class="hint">The latest 200 meetings of all users, with who took part. Passcodes and links are shown only to each meeting's owner.</p>
        <table>
          <thead><tr><th>Topic</th><th>Owner</th><th>Meeting ID</th><th>Scheduled</th><th>Last started</th><th>Status</th><th>Seats</th></tr></thead>
          <tbody>
            {list.map((m) => (
              <tr>
                <td><a href={`/admin/meetings/${m.id}`}>{m.topic}</a></td>
                <td>{m.ownerName}</td>
                <td>{formatMeetingNumber(m.number)}</td>
                <td>{whenText(m)}</td>
                <td>{fmtTime(m.startedAt)}</td>
                <td>{live.has(m.id) ? <span class="badge ok">live</span> : <span class="badge">{m.status}</span>}</td>
                <td>{m.seats}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.length === 0 && <p class="muted">No meetings yet.</p>}
      </section>,
    );
  });

  app.get("/:id", allow("audit:view"), async (c) => {
    const { meeting: m, attendance } = await accountMeetingAttendance(md, actorOf(c), c.req.param("id"));
    return page(
      c,
      m.topic,
      <>
        <section class="card">
          <h1>{m.topic}</h1>
          <table>
            <tbody>
              <tr><th>Owner</th><td>{m.ownerName}</td></tr>
              <tr><th>Meeting ID</th><td>{formatMeetingNumber(m.number)}</td></tr>
              <tr><th>Scheduled</th><td>{whenText(m)}</td></tr>
              <tr><th>Last started</th><td>{fmtTime(m.startedAt)}</td></tr>
              <tr><th>Last ended</th><td>{fmtTime(m.endedAt)}</td></tr>
            </tbody>
          </table>
          <p><a href="/admin/meetings">All meetings</a></p>
        </section>
        <Attendance rows={attendance} />
        {attendance.length === 0 && <section class="card"><p class="muted">Nobody has joined this meeting yet.</p></section>}
      </>,
    );
  });
  return app;
}
