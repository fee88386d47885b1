import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { auditActions, createTestApp, lastAudit, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;

beforeEach(async () => {
  t = await createTestApp();
  owner = await t.setup();
});
afterEach(() => t.cleanup());

const FORM = { topic: "Budget review", description: "Q1 numbers", start: "2026-01-05T09:30", duration: "45", recurrence: "none", count: "" };

async function schedule(s: Signed, fields: Record<string, string> = {}): Promise<{ id: string; number: string; passcode: string; dial: string; link: string }> {
  const res = await s.browser.postForm("/meetings", { ...FORM, ...fields });
  if (res.status !== 303) throw new Error(`schedule: ${res.status} ${await res.text()}`);
  const id = res.headers.get("location")!.split("/")[2]!.split("?")[0]!;
  const m = (await t.meetings.deps.repo.get(s.accountId, id))!;
  return { id, number: m.number, passcode: m.passcode, dial: m.dialPasscode, link: `https://conclave.test/j/${m.number}?pwd=${m.linkToken}` };
}

describe("/meetings", () => {
  test("the navigation links to Meetings; the list starts empty with schedule and instant actions", async () => {
    const res = await owner.browser.get("/meetings");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('href="/meetings"');
    expect(html).toContain("No upcoming meetings.");
    expect(html).toContain('action="/meetings/instant"');
  });

  test("scheduling shows the meeting with its formatted ID, passcodes, join link and invitation; stored sealed; audited", async () => {
    const m = await schedule(owner);
    expect(m.number).toMatch(/^[1-9]\d{9,10}$/);
    expect(m.passcode).toMatch(/^[A-Za-z2-9]{8}$/);
    expect(m.dial).toMatch(/^\d{8}$/);
    const html = await (await owner.browser.get(`/meetings/${m.id}?done=created`)).text();
    const formatted = m.number.length === 11 ? `${m.number.slice(0, 3)} ${m.number.slice(3, 7)} ${m.number.slice(7)}` : `${m.number.slice(0, 3)} ${m.number.slice(3, 6)} ${m.number.slice(6)}`;
    expect(html).toContain(formatted);
    expect(html).toContain(m.passcode);
    expect(html).toContain(m.dial);
    expect(html).toContain(m.link.replace("&", "&amp;"));
    expect(html).toContain("is inviting you to a Conclave meeting.");
    expect(html).toContain("2026-01-05 09:30 UTC (45 minutes)");
    const list = await (await owner.browser.get("/meetings")).text();
    expect(list).toContain("Budget review");
    const raw = JSON.stringify(t.db.$client.query("SELECT * FROM meetings").all());
    for (const secret of ["Budget review", "Q1 numbers", m.passcode, m.dial, m.link.split("pwd=")[1]!]) expect(raw).not.toContain(secret);
    const a = lastAudit(t, "meeting.create");
    expect(a.targetId).toBe(m.id);
    expect(a.details).toMatchObject({ kind: "scheduled", number: m.number, after: { topic: "Budget review" } });
  });

  test("bad input names what to fix and stores nothing", async () => {
    const res = await owner.browser.postForm("/meetings", { ...FORM, topic: " ", start: "tomorrow", duration: "3", recurrence: "weekly", count: "" });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("Enter a topic.");
    expect(html).toContain("Enter the start as a date and time (UTC)");
    expect(html).toContain("between 5 and 1440");
    expect(html).toContain("number of occurrences between 2 and 100");
    const bad = await owner.browser.postForm("/meetings", { ...FORM, start: "2025-01-01T10:00", recurrence: "yearly", "meeting.screen_share": "everyone" });
    const b = await bad.text();
    expect(bad.status).toBe(400);
    expect(b).toContain("The start time is in the past");
    expect(b).toContain("Choose how the meeting repeats");
    expect(b).toContain("Who can share screen must be one of: host, all.");
    expect(t.count("meetings")).toBe(0);
  });

  test("per-meeting overrides apply unless an administrator locked the setting", async () => {
    const m = await schedule(owner, { "meeting.waiting_room": "false", "meeting.allowed_domains": "a.example" });
    const html = await (await owner.browser.get(`/meetings/${m.id}`)).text();
    expect(html).toMatch(/waiting room<\/th><td>Off/);
    expect(html).toMatch(/allowed domains<\/th><td>a\.example/);
    // lock the waiting room on at account level
    const lock = await owner.browser.postForm("/admin/settings", { key: "meeting.waiting_room", value: "true", locked: "1" });
    expect(lock.status).toBe(303);
    const after = await (await owner.browser.get(`/meetings/${m.id}`)).text();
    expect(after).toMatch(/waiting room<\/th><td>On<span class="badge">locked/);
    const form = await (await owner.browser.get("/meetings/new")).text();
    expect(form).toMatch(/<select id="f-meeting\.waiting_room" name="meeting\.waiting_room" disabled/);
    const refused = await owner.browser.postForm("/meetings", { ...FORM, "meeting.waiting_room": "false" });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("is locked by the account and cannot be changed for this meeting.");
  });

  test("an instant meeting starts at once: the owner lands on the meeting page as host", async () => {
    const res = await owner.browser.postForm("/meetings/instant");
    expect(res.status).toBe(303);
    const loc = res.headers.get("location")!;
    expect(loc).toMatch(/^\/j\/\d{10,11}$/);
    const page = await owner.browser.get(loc);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('<main id="conclave-meeting"');
    expect(html).toContain('data-host="true"');
    expect(html).toContain(`data-display-name="${owner.name}"`);
    expect(html).toContain('data-name-editable="false"');
    expect(html).toContain(`data-token-url="${loc}/token"`);
    expect(html).toContain('<script type="module" src="/static/client.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/static/app.css"/>');
    expect(html).toContain("<noscript>");
    expect(auditActions(t, owner.accountId)).toContain("meeting.create");
  });

  test("the .ics download is a valid iCalendar file with the join link", async () => {
    const m = await schedule(owner, { topic: "Plan; Q1, \\ and more", recurrence: "weekly", count: "6" });
    const res = await owner.browser.get(`/meetings/${m.id}/invite.ics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="meeting-${m.number}.ics"`);
    const ics = await res.text();
    for (const line of ics.split("\r\n")) expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(75);
    const lines = ics.replace(/\r\n[ \t]/g, "").split("\r\n");
    expect(lines).toEqual(expect.arrayContaining(["BEGIN:VCALENDAR", "BEGIN:VEVENT", `UID:${m.id}@conclave.test`, "DTSTAMP:20260101T000000Z", "DTSTART:20260105T093000Z", "DURATION:PT45M", "RRULE:FREQ=WEEKLY;COUNT=6", "SUMMARY:Plan\\; Q1\\, \\\\ and more", "END:VEVENT", "END:VCALENDAR"]));
    expect(lines.find((l) => l.startsWith("DESCRIPTION:"))).toContain(m.link);
  });

  test("edit changes the meeting and is audited; delete removes it (404 afterwards) and is audited", async () => {
    const m = await schedule(owner);
    const edit = await owner.browser.get(`/meetings/${m.id}/edit`);
    expect(await edit.text()).toContain('value="Budget review"');
    const res = await owner.browser.postForm(`/meetings/${m.id}`, { ...FORM, topic: "Renamed", duration: "30" });
    expect(res.status).toBe(303);
    expect(await (await owner.browser.get(`/meetings/${m.id}`)).text()).toContain("Renamed");
    expect(lastAudit(t, "meeting.update").details).toMatchObject({ before: { topic: "Budget review" }, after: { topic: "Renamed", durationMinutes: 30 } });
    const bad = await owner.browser.postForm(`/meetings/${m.id}`, { ...FORM, topic: "" });
    expect(bad.status).toBe(400);
    expect((await t.meetings.deps.repo.get(owner.accountId, m.id))!.topic).toBe("Renamed");
    expect((await owner.browser.postForm(`/meetings/${m.id}/delete`)).status).toBe(303);
    expect((await owner.browser.get(`/meetings/${m.id}`)).status).toBe(404);
    expect(lastAudit(t, "meeting.delete").targetId).toBe(m.id);
    // the link of a deleted meeting leads nowhere special
    const guest = t.browser();
    expect((await guest.get(m.link.slice("https://conclave.test".length))).headers.get("location")).toBe(`/j/${m.number}?link=invalid`);
  });

  test("another account's meeting, or a colleague's, is 404 for every page and action", async () => {
    const m = await schedule(owner);
    const other = await t.createAccount({ organisation: "Org B", email: "owner@b.example" });
    const colleague = await t.inviteAndActivate(owner, { email: "col@a.example", name: "Col League" });
    for (const s of [other, colleague]) {
      expect((await s.browser.get(`/meetings/${m.id}`)).status).toBe(404);
      expect((await s.browser.get(`/meetings/${m.id}/edit`)).status).toBe(404);
      expect((await s.browser.get(`/meetings/${m.id}/invite.ics`)).status).toBe(404);
      expect((await s.browser.postForm(`/meetings/${m.id}`, { ...FORM, topic: "Hijacked" })).status).toBe(404);
      expect((await s.browser.postForm(`/meetings/${m.id}/delete`)).status).toBe(404);
      expect(await (await s.browser.get("/meetings")).text()).not.toContain("Budget review");
    }
    expect((await t.meetings.deps.repo.get(owner.accountId, m.id))!.topic).toBe("Budget review");
  });

  test("a hostile topic and description are rendered inert everywhere", async () => {
    const evil = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;
    const m = await schedule(owner, { topic: evil, description: evil });
    for (const path of ["/meetings", `/meetings/${m.id}`, `/meetings/${m.id}/edit`, `/j/${m.number}`]) {
      const html = await (await owner.browser.get(path)).text();
      expect(html).not.toContain("<script>alert(1)");
      expect(html).not.toContain("<img src=x");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
  });

  test("pages need a signed-in user", async () => {
    const anon = t.browser();
    const res = await anon.get("/meetings");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/signin?next=%2Fmeetings");
  });
});

describe("attendance on the meeting page", () => {
  test("shows who joined, when, from where and with what, escaped", async () => {
    const m = await schedule(owner, { "meeting.waiting_room": "false", "meeting.join_before_host": "true" });
    const room = t.meetings.live.room(m.id);
    const v = room.join({ meetingId: m.id, accountId: owner.accountId, displayName: "<b>Gus</b>", userId: null, internal: false, host: false, ip: "198.51.100.23", device: "Mozilla/5.0 TestBrowser", identity: "guest:g" });
    if (v.outcome !== "joined") throw new Error();
    t.meetings.live.stats(m.id, v.participantId, { rttMs: 21 });
    room.leave(v.participantId);
    await t.meetings.live.settled();
    const html = await (await owner.browser.get(`/meetings/${m.id}`)).text();
    expect(html).toContain("<h2>Attendance</h2>");
    expect(html).toContain("&lt;b&gt;Gus&lt;/b&gt;");
    expect(html).toContain("198.51.100.23");
    expect(html).toContain("Mozilla/5.0 TestBrowser");
    expect(html).toContain("rttMs 21");
    expect(html).toContain("(left)");
  });
});
