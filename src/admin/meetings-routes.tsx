import { Hono } from "hono";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, signedIn } from "../http/middleware/guards.ts";
import { formatMeetingNumber } from "../meetings/codes.ts";
import { buildIcs } from "../meetings/ics.ts";
import { meetingSettings, MEETING_SETTING_KEYS, type MeetingSettingKey } from "../meetings/meeting-settings.ts";
import {
  deleteMeeting, editMeeting, emptyForm, formOf, getMeeting, joinUrl, listMeetings, scheduleMeeting, startInstantMeeting, type MeetingForm,
} from "../meetings/meetings.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Attendance, invitationText, MeetingFormView, showValue, whenText } from "./meetings-views.tsx";
import { Csrf, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

/** readMeetingForm reads the schedule/edit form fields. */
function readMeetingForm(body: Record<string, unknown>): MeetingForm {
  const settings: Partial<Record<MeetingSettingKey, string>> = {};
  for (const k of MEETING_SETTING_KEYS) {
    const v = formText(body, k);
    if (k === "meeting.allowed_domains") {
      if (v.trim()) settings[k] = v;
    } else if (v) settings[k] = v;
  }
  return {
    topic: formText(body, "topic"), description: formText(body, "description"), start: formText(body, "start"),
    duration: formText(body, "duration"), recurrence: formText(body, "recurrence") || "none", count: formText(body, "count"), settings,
  };
}

/** meetingsRoutes: my meetings, schedule, instant meeting, details with invitation and .ics, edit, delete. */
export function meetingsRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const md = deps.meetings.deps;
  const settingsFor = (c: AppContext) => {
    const a = actorOf(c);
    return meetingSettings(md.accounts, a.accountId, a.userId, {});
  };
  const ownerName = async (c: AppContext): Promise<string> => {
    const a = actorOf(c);
    return (await md.accounts.users.get(a.accountId, a.userId))?.name ?? a.label;
  };

  const formPage = (c: AppContext, title: string, action: string, form: MeetingForm, errors: Record<string, string> = {}, settings = settingsFor(c)) =>
    page(
      c,
      title,
      <section class="card">
        <h1>{title}</h1>
        <MeetingFormView c={c} action={action} form={form} settings={settings} errors={errors} submit={title === "Schedule a meeting" ? "Schedule" : "Save"} />
      </section>,
      Object.keys(errors).length ? 400 : 200,
    );

  app.use(signedIn());

  app.get("/", async (c) => {
    const list = await listMeetings(md, actorOf(c));
    return page(
      c,
      "Meetings",
      <>
        <section class="card">
          <h1>My meetings</h1>
          {c.req.query("done") === "deleted" && <Notice>The meeting was deleted.</Notice>}
          <div class="actions">
            <a class="button" href="/meetings/new">Schedule a meeting</a>
            <form method="post" action="/meetings/instant">
              <Csrf c={c} />
              <button class="secondary" type="submit">Start an instant meeting</button>
            </form>
            <a href="/join">Join a meeting by ID</a>
          </div>
          <table>
            <thead><tr><th>Topic</th><th>When</th><th>Meeting ID</th><th>Status</th><th></th></tr></thead>
            <tbody>
              {list.map((m) => (
                <tr>
                  <td><a href={`/meetings/${m.id}`}>{m.topic}</a></td>
                  <td>{whenText(m)}</td>
                  <td>{formatMeetingNumber(m.number)}</td>
                  <td>{m.status === "live" ? <span class="badge ok">live</span> : <span class="badge">{m.kind}</span>}</td>
                  <td><a href={`/j/${m.number}`} aria-label={`Start ${m.topic}`}>Start</a></td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.length === 0 && <p class="muted">No upcoming meetings.</p>}
        </section>
      </>,
    );
  });

  app.get("/new", (c) => formPage(c, "Schedule a meeting", "/meetings", emptyForm(md.accounts.clock.now())));
  app.post("/", async (c) => {
    const form = readMeetingForm(await readForm(c));
    try {
      const m = await scheduleMeeting(md, actorOf(c), form);
      return seeOther(c, `/meetings/${m.id}?done=created`);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return formPage(c, "Schedule a meeting", "/meetings", form, e.fields);
      throw e;
    }
  });
  app.post("/instant", async (c) => {
    const m = await startInstantMeeting(md, actorOf(c));
    return seeOther(c, `/j/${m.number}`);
  });

  app.get("/:id", async (c) => {
    const m = await getMeeting(md, actorOf(c), c.req.param("id"));
    const link = joinUrl(md.baseUrl, m);
    const passcode = m.settings["meeting.passcode_required"].value === true;
    return page(
      c,
      m.topic,
      <>
        <section class="card">
          <h1>{m.topic}</h1>
          {c.req.query("done") === "created" && <Notice>The meeting was scheduled. Send the invitation below to the participants.</Notice>}
          {c.req.query("done") === "saved" && <Notice>Saved.</Notice>}
          {m.description && <p>{m.description}</p>}
          <table>
            <tbody>
              <tr><th>When</th><td>{whenText(m)}</td></tr>
              <tr><th>Meeting ID</th><td><code class="copy">{formatMeetingNumber(m.number)}</code></td></tr>
              <tr><th>Passcode</th><td>{passcode ? <code class="copy">{m.passcode}</code> : <span class="muted">not required</span>}</td></tr>
              <tr><th>Dial-in passcode</th><td>{passcode ? <code class="copy">{m.dialPasscode}</code> : <span class="muted">not required</span>}</td></tr>
              <tr><th>Join link</th><td><code class="copy">{link}</code></td></tr>
            </tbody>
          </table>
          <div class="actions">
            <a class="button" href={`/j/${m.number}`}>Start the meeting</a>
            <a class="button secondary" href={`/meetings/${m.id}/invite.ics`}>Download calendar file (.ics)</a>
            <a class="button secondary" href={`/meetings/${m.id}/edit`}>Edit</a>
          </div>
        </section>
        <section class="card">
          <h2>Invitation</h2>
          <label for="invitation">Copy and send this text</label>
          <textarea id="invitation" readonly rows={12}>{invitationText(m, await ownerName(c), link)}</textarea>
        </section>
        <Attendance rows={await md.repo.attendance(m.accountId, m.id)} />
        <section class="card">
          <h2>Security</h2>
          <table>
            <tbody>
              {MEETING_SETTING_KEYS.map((k) => (
                <tr><th>{k.replace("meeting.", "").replaceAll("_", " ")}</th><td>{showValue(k, m.settings[k].value)}{m.settings[k].lockedBy && <span class="badge">locked</span>}</td></tr>
              ))}
            </tbody>
          </table>
          <form method="post" action={`/meetings/${m.id}/delete`} hx-confirm="Delete this meeting? Its invitation link stops working.">
            <Csrf c={c} />
            <div class="actions"><button class="danger" type="submit">Delete meeting</button></div>
          </form>
        </section>
      </>,
    );
  });

  app.get("/:id/invite.ics", async (c) => {
    const m = await getMeeting(md, actorOf(c), c.req.param("id"));
    const link = joinUrl(md.baseUrl, m);
    const ics = buildIcs({
      uid: `${m.id}@${new URL(md.baseUrl).hostname}`, stamp: md.accounts.clock.now(), start: m.startAt, durationMinutes: m.durationMinutes,
      recurrence: m.recurrence, recurrenceCount: m.recurrenceCount, summary: m.topic, description: invitationText(m, await ownerName(c), link), url: link,
    });
    return c.body(ics, 200, { "Content-Type": "text/calendar; charset=utf-8", "Content-Disposition": `attachment; filename="meeting-${m.number}.ics"` });
  });

  app.get("/:id/edit", async (c) => {
    const m = await getMeeting(md, actorOf(c), c.req.param("id"));
    return formPage(c, "Edit meeting", `/meetings/${m.id}`, formOf(m), {}, m.settings);
  });
  app.post("/:id", async (c) => {
    const id = c.req.param("id");
    const form = readMeetingForm(await readForm(c));
    try {
      await editMeeting(md, actorOf(c), id, form);
      return seeOther(c, `/meetings/${id}?done=saved`);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") {
        const m = await getMeeting(md, actorOf(c), id);
        return formPage(c, "Edit meeting", `/meetings/${id}`, form, e.fields, m.settings);
      }
      throw e;
    }
  });
  app.post("/:id/delete", async (c) => {
    await deleteMeeting(md, actorOf(c), c.req.param("id"));
    return seeOther(c, "/meetings?done=deleted");
  });
  return app;
}
