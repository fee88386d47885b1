import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE_URL, createTestApp, ORIGIN, type Browser, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import { createAccountWithOwner } from "../accounts/account-setup.ts";
import { defaults } from "../config/schema.ts";
import { assemble } from "../main.ts";
import { scheduleMeeting } from "../meetings/meetings.ts";
import { captureMailer } from "../notify/mailer.ts";
import { fixedClock } from "../shared/clock.ts";
import { createLogger } from "../shared/logger.ts";

let t: TestApp;
let owner: Signed;

beforeEach(async () => {
  t = await createTestApp();
  owner = await t.setup();
});
afterEach(() => t.cleanup());

const FORM = { topic: "Standup", description: "", start: "2026-01-05T09:30", duration: "30", recurrence: "none", count: "" };

async function schedule(fields: Record<string, string> = {}, by: Signed = owner) {
  const res = await by.browser.postForm("/meetings", { ...FORM, ...fields });
  if (res.status !== 303) throw new Error(`schedule: ${res.status} ${await res.text()}`);
  const id = res.headers.get("location")!.split("/")[2]!.split("?")[0]!;
  const m = (await t.meetings.deps.repo.get(by.accountId, id))!;
  return { ...m, linkPath: `/j/${m.number}?pwd=${m.linkToken}` };
}

/** unknownNumber returns an 11-digit number no meeting has. */
function unknownNumber(): string {
  for (;;) {
    const n = `9${String(Math.floor(Math.random() * 1e10)).padStart(10, "0")}`;
    if (!t.meetings.deps.repo.numberTaken(n)) return n;
  }
}

/** fromAddress posts the join form as a browser at another IP address would. */
async function postJoinFrom(ip: string, fields: Record<string, string>, b: Browser): Promise<Response> {
  const body = new URLSearchParams({ _csrf: await b.csrf(), ...fields });
  const cookie = [...b.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  return t.app.request(`${BASE_URL}/join`, { method: "POST", body: body.toString(), headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, cookie } }, { requestIP: () => ({ address: ip }) });
}

/** comparable drops what differs per request (the request id) from a response. */
async function comparable(res: Response): Promise<{ status: number; headers: [string, string][]; body: string }> {
  const headers = [...res.headers].filter(([k]) => k !== "x-request-id").sort();
  return { status: res.status, headers, body: await res.text() };
}

async function tokenFor(b: Browser, number: string, body: unknown, csrf?: string | null) {
  const headers: Record<string, string> = { "content-type": "application/json", origin: ORIGIN };
  const tok = csrf === undefined ? await b.csrf() : csrf;
  if (tok !== null) headers["x-csrf-token"] = tok;
  const res = await b.request(`/j/${number}/token`, { method: "POST", headers, body: JSON.stringify(body) });
  const json = (res.headers.get("content-type") ?? "").startsWith("application/json") ? ((await res.json()) as { token?: string; error?: string }) : { error: await res.text() };
  return { status: res.status, json };
}

describe("joining by meeting ID", () => {
  test("'no such meeting' and 'wrong passcode' give byte-identical responses", async () => {
    const m = await schedule();
    const guest = t.browser();
    await guest.get("/join");
    const wrong = await comparable(await guest.postForm("/join", { number: m.number, passcode: "WRONG123" }));
    const missing = await comparable(await guest.postForm("/join", { number: unknownNumber(), passcode: "WRONG123" }));
    const garbage = await comparable(await guest.postForm("/join", { number: "12", passcode: "" }));
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain("The meeting ID or passcode is not correct.");
    expect(missing).toEqual(wrong);
    expect(garbage).toEqual(wrong);
    expect(wrong.body).not.toContain(m.number);
  });

  test("the right passcode (web or dial-in form, ID typed with spaces) leads to the meeting page", async () => {
    const m = await schedule();
    for (const pc of [m.passcode, m.dialPasscode]) {
      const guest = t.browser();
      const spaced = `${m.number.slice(0, 3)} ${m.number.slice(3)}`;
      const res = await guest.postForm("/join", { number: spaced, passcode: pc });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`/j/${m.number}`);
      expect(guest.lastSetCookie.join()).toMatch(/__Host-conclave_join=[\w-]{32}; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Lax/);
      const html = await (await guest.get(`/j/${m.number}`)).text();
      expect(html).toContain('data-name-editable="true"');
      expect(html).toContain('data-host="false"');
      expect(html).toContain('data-display-name=""');
    }
  });

  test("without the passcode, /j/:number shows the join form — the same for unknown meetings", async () => {
    const m = await schedule();
    const guest = t.browser();
    const known = await (await guest.get(`/j/${m.number}`)).text();
    expect(known).toContain('action="/join"');
    expect(known).not.toContain("conclave-meeting");
    expect(known).not.toContain("Standup");
    const n = unknownNumber();
    const unknown = await (await guest.get(`/j/${n}`)).text();
    const fmt = (x: string) => `${x.slice(0, 3)} ${x.slice(3, 7)} ${x.slice(7)}`;
    expect(unknown.replace(fmt(n), "N")).toBe(known.replace(m.number.length === 11 ? fmt(m.number) : `${m.number.slice(0, 3)} ${m.number.slice(3, 6)} ${m.number.slice(6)}`, "N"));
    expect((await guest.get("/j/not-a-number")).status).toBe(404);
  });

  test("a meeting without a passcode opens directly", async () => {
    const m = await schedule({ "meeting.passcode_required": "false" });
    const html = await (await t.browser().get(`/j/${m.number}`)).text();
    expect(html).toContain('<main id="conclave-meeting"');
  });
});

describe("attempt budgets", () => {
  test("10 failures from one address → 429 with the time to retry, identical for existing and unknown meetings", async () => {
    const m = await schedule();
    const guest = t.browser();
    await guest.get("/join");
    for (let i = 0; i < 10; i++) {
      const res = await guest.postForm("/join", { number: unknownNumber(), passcode: "nope" });
      expect(res.status).toBe(400);
      // stay clear of the backoff so the budget itself is what stops us
      t.clock.advance(40_000);
    }
    const a = await comparable(await guest.postForm("/join", { number: m.number, passcode: m.passcode }));
    const b = await comparable(await guest.postForm("/join", { number: unknownNumber(), passcode: "nope" }));
    expect(a.status).toBe(429);
    expect(a.body).toMatch(/Too many wrong meeting IDs or passcodes from your network\. Try again at \d\d:\d\d:\d\d UTC\./);
    expect(b).toEqual(a);
    // the join link still works from elsewhere; the same address must wait
    const other = t.browser();
    expect((await postJoinFrom("203.0.113.9", { number: m.number, passcode: m.passcode }, other)).status).toBe(303);
  });

  test("30 failures for one meeting from many addresses → 429 for that meeting ID, whoever asks, existing or not", async () => {
    const m = await schedule();
    const n = unknownNumber();
    const b = t.browser();
    await b.get("/join");
    for (let i = 0; i < 30; i++) {
      expect((await postJoinFrom(`198.51.100.${i}`, { number: m.number, passcode: "bad" }, b)).status).toBe(400);
      expect((await postJoinFrom(`198.51.100.${i}`, { number: n, passcode: "bad" }, b)).status).toBe(400);
    }
    const known = await comparable(await postJoinFrom("192.0.2.77", { number: m.number, passcode: m.passcode }, b));
    const unknown = await comparable(await postJoinFrom("192.0.2.77", { number: n, passcode: "x" }, b));
    expect(known.status).toBe(429);
    expect(known.body).toContain("Too many wrong passcodes were tried for this meeting ID.");
    expect(unknown.body.replace(/\d\d:\d\d:\d\d/, "T")).toBe(known.body.replace(/\d\d:\d\d:\d\d/, "T"));
    // the join link is not subject to the meeting's budget (its token cannot be guessed)
    const linked = t.browser();
    expect((await linked.get(m.linkPath)).status).toBe(303);
  });
});

describe("join links", () => {
  test("the link's token is moved to a server-side pass: 303 to a clean URL with an HttpOnly cookie", async () => {
    const m = await schedule();
    const guest = t.browser();
    const res = await guest.get(m.linkPath);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/j/${m.number}`);
    expect(guest.lastSetCookie.find((c) => c.startsWith("__Host-conclave_join="))).toMatch(/HttpOnly; Secure; SameSite=Lax/);
    expect(guest.lastSetCookie.join()).not.toContain(m.linkToken);
    expect(await (await guest.get(`/j/${m.number}`)).text()).toContain('<main id="conclave-meeting"');
    // the pass belongs to that browser only
    expect(await (await t.browser().get(`/j/${m.number}`)).text()).not.toContain("conclave-meeting");
  });

  test("a wrong link token (or an unknown meeting) sends the browser to the clean URL with a notice", async () => {
    const m = await schedule();
    const guest = t.browser();
    const bad = await guest.get(`/j/${m.number}?pwd=not-the-token`);
    expect(bad.headers.get("location")).toBe(`/j/${m.number}?link=invalid`);
    const n = unknownNumber();
    expect((await guest.get(`/j/${n}?pwd=whatever`)).headers.get("location")).toBe(`/j/${n}?link=invalid`);
    expect(await (await guest.get(`/j/${m.number}?link=invalid`)).text()).toContain("This invitation link is not valid");
  });

  test("the request log never contains the link token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conclave-log-"));
    const lines: string[] = [];
    const config = defaults();
    config.server.data_dir = dir;
    const c = await assemble(config, createLogger({ write: (l) => lines.push(l) }), { clock: fixedClock(), mailer: captureMailer() }, BASE_URL);
    try {
      const { accountId, ownerId } = await createAccountWithOwner(c.auth, { organisation: "Org", ownerName: "Olga", ownerEmail: "olga@a.example", password: "Sturdy-Pass-42", confirm: "Sturdy-Pass-42" }, { label: "test" });
      const actor = { accountId, userId: ownerId, label: "Olga <olga@a.example>", roleId: "r", roleKind: "owner" as const, permissions: new Set<never>(), ip: "", userAgent: "" };
      const m = await scheduleMeeting(c.meetings.deps, actor, { ...FORM, settings: {} });
      const res = await c.app.request(`${BASE_URL}/j/${m.number}?pwd=${m.linkToken}`);
      expect(res.status).toBe(303);
      const all = lines.join("\n");
      expect(all).toContain(`"path":"/j/${m.number}"`);
      expect(all).not.toContain(m.linkToken);
      expect(all).not.toContain("pwd");
    } finally {
      c.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("who may join", () => {
  test("authenticated-only: guests are sent to sign in with a way back; signed-in members get in", async () => {
    const m = await schedule({ "meeting.authenticated_only": "true" });
    const guest = t.browser();
    await guest.get(m.linkPath);
    const res = await guest.get(`/j/${m.number}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/signin?next=%2Fj%2F${m.number}`);
    expect(await tokenFor(guest, m.number, { name: "Gus" })).toEqual({ status: 401, json: { error: "Only signed-in users can join this meeting. Sign in, then join again." } });
    const member = await t.inviteAndActivate(owner, { email: "mia@a.example", name: "Mia Member" });
    await member.browser.get(m.linkPath);
    const html = await (await member.browser.get(`/j/${m.number}`)).text();
    expect(html).toContain('data-display-name="Mia Member"');
    const tok = await tokenFor(member.browser, m.number, { name: "Someone Else" });
    expect(tok.status).toBe(200);
    const g = await t.meetings.live.verifyJoinToken(tok.json.token!);
    expect(g).toMatchObject({ displayName: "Mia Member", userId: member.userId, internal: true, host: false, identity: `user:${member.userId}`, domain: "a.example" });
  });

  test("allowed domains: users of other domains are refused with a clear message; guests must sign in", async () => {
    const m = await schedule({ "meeting.allowed_domains": "a.example" });
    const other = await t.createAccount({ organisation: "Org B", email: "bob@b.example" });
    await other.browser.get(m.linkPath);
    const res = await other.browser.get(`/j/${m.number}`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Only users with an e-mail address at a.example can join this meeting.");
    expect((await tokenFor(other.browser, m.number, {})).status).toBe(403);
    const guest = t.browser();
    await guest.get(m.linkPath);
    expect((await guest.get(`/j/${m.number}`)).headers.get("location")).toBe(`/signin?next=%2Fj%2F${m.number}`);
  });

  test("the meeting's owner gets in without a passcode, as host", async () => {
    const m = await schedule();
    const tok = await tokenFor(owner.browser, m.number, {});
    const g = await t.meetings.live.verifyJoinToken(tok.json.token!);
    expect(g).toMatchObject({ meetingId: m.id, host: true, internal: true, displayName: owner.name, userId: owner.userId });
  });
});

describe("POST /j/:number/token", () => {
  test("a guest who passed gets a single-use token for their validated name, bound to their browser", async () => {
    const m = await schedule();
    const guest = t.browser();
    await guest.get(m.linkPath);
    const res = await tokenFor(guest, m.number, { name: "  Gus Guest  " });
    expect(res.status).toBe(200);
    const g = await t.meetings.live.verifyJoinToken(res.json.token!);
    const identity = g!.identity;
    expect(identity).toMatch(/^guest:[0-9a-f]{32}$/);
    expect(g).toMatchObject({ meetingId: m.id, accountId: owner.accountId, displayName: "Gus Guest", userId: null, internal: false, host: false, domain: null });
    expect(await t.meetings.live.verifyJoinToken(res.json.token!)).toBeNull();
    const again = await t.meetings.live.verifyJoinToken((await tokenFor(guest, m.number, { name: "Other name" })).json.token!);
    expect(again!.identity).toBe(identity);
    // a form body works too
    const form = await guest.request(`/j/${m.number}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, "x-csrf-token": await guest.csrf() }, body: "name=Formy" });
    expect(form.status).toBe(200);
  });

  test("bad names are refused with a message that says what to fix", async () => {
    const m = await schedule();
    const guest = t.browser();
    await guest.get(m.linkPath);
    const cases: [unknown, string][] = [
      ["", "Enter your name as others should see it."],
      ["   ", "Enter your name as others should see it."],
      [42, "Enter your name as others should see it."],
      ["x".repeat(65), "Your name can be at most 64 characters."],
      ["Bob\u202Egnp.exe", "Your name cannot contain text-direction override characters."],
      ["Line\nbreak", "Your name cannot contain control characters such as line breaks or tabs."],
    ];
    for (const [name, error] of cases) expect(await tokenFor(guest, m.number, { name })).toEqual({ status: 400, json: { error } });
    expect((await tokenFor(guest, m.number, { name: "é".repeat(64) })).status).toBe(200);
    const bad = await guest.request(`/j/${m.number}/token`, { method: "POST", headers: { "content-type": "application/json", origin: ORIGIN, "x-csrf-token": await guest.csrf() }, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'The request body is not valid JSON. Send {"name": "Your name"}.' });
  });

  test("without the passcode, without the CSRF header, or for an unknown meeting: refused", async () => {
    const m = await schedule();
    const guest = t.browser();
    await guest.get("/join");
    expect(await tokenFor(guest, m.number, { name: "Gus" })).toEqual({ status: 403, json: { error: "Enter the meeting passcode first: open the join link again or join by meeting ID." } });
    expect((await tokenFor(guest, unknownNumber(), { name: "Gus" })).status).toBe(403);
    await guest.get(m.linkPath);
    expect((await tokenFor(guest, m.number, { name: "Gus" }, null)).status).toBe(403);
  });

  test("a removed guest cannot come back from the same browser", async () => {
    const m = await schedule({ "meeting.waiting_room": "false" });
    const live = t.meetings.live;
    const hostGrant = await live.verifyJoinToken((await tokenFor(owner.browser, m.number, {})).json.token!);
    const room = live.room(m.id);
    const h = room.join(hostGrant!);
    const guest = t.browser();
    await guest.get(m.linkPath);
    const g1 = room.join((await live.verifyJoinToken((await tokenFor(guest, m.number, { name: "Troll" })).json.token!))!);
    if (h.outcome !== "joined" || g1.outcome !== "joined") throw new Error();
    expect(room.act(h.participantId, { type: "remove", participantId: g1.participantId }).ok).toBe(true);
    const again = room.join((await live.verifyJoinToken((await tokenFor(guest, m.number, { name: "Nice Person" })).json.token!))!);
    expect(again).toMatchObject({ outcome: "refused", reason: "removed" });
  });
});
