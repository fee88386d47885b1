import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { auditActions, createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import type { Actor } from "../accounts/actor.ts";
import type { JoinGrant, RoomEffect } from "./live-types.ts";
import { editMeeting, formOf, scheduleMeeting, type MeetingForm } from "./meetings.ts";

let t: TestApp;
let owner: Signed;
let actor: Actor;

function actorOf(s: Signed): Actor {
  return { accountId: s.accountId, userId: s.userId, label: `${s.name} <${s.email}>`, roleId: "r", roleKind: "owner", permissions: new Set(), ip: "192.0.2.10", userAgent: "test" };
}
const form = (over: Partial<MeetingForm> = {}): MeetingForm => ({ topic: "Quarterly review", description: "Numbers", start: "2026-01-02T10:00", duration: "60", recurrence: "none", count: "", settings: {}, ...over });

beforeEach(async () => {
  t = await createTestApp();
  owner = await t.setup();
  actor = actorOf(owner);
});
afterEach(() => t.cleanup());

function grant(meetingId: string, over: Partial<JoinGrant> = {}): JoinGrant {
  return { meetingId, accountId: owner.accountId, displayName: "Gus Guest", userId: null, internal: false, host: false, ip: "198.51.100.7", device: "Firefox", identity: "guest:abc", domain: null, ...over };
}
const hostGrant = (meetingId: string) => grant(meetingId, { displayName: owner.name, userId: owner.userId, internal: true, host: true, identity: `user:${owner.userId}`, domain: "a.example" });

describe("meetings live", () => {
  test("join tokens verify once, and only for an existing meeting of the same account", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form());
    const live = t.meetings.live;
    const token = await live.issueJoinToken(grant(m.id));
    expect(await live.verifyJoinToken(token)).toMatchObject({ meetingId: m.id, displayName: "Gus Guest", identity: "guest:abc" });
    expect(await live.verifyJoinToken(token)).toBeNull();
    expect(await live.verifyJoinToken(await live.issueJoinToken(grant(m.id, { accountId: "another-account" })))).toBeNull();
    expect(await live.verifyJoinToken(await live.issueJoinToken(grant("no-such-meeting")))).toBeNull();
  });

  test("a meeting starts on first join, records attendance sealed, audits host actions, and ends when everyone leaves", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form());
    const live = t.meetings.live;
    await live.verifyJoinToken(await live.issueJoinToken(hostGrant(m.id)));
    const room = live.room(m.id);
    expect(room.info().topic).toBe("Quarterly review");
    const h = room.join(hostGrant(m.id));
    if (h.outcome !== "joined") throw new Error("host not in");
    const g = room.join(grant(m.id));
    expect(g.outcome).toBe("waiting");
    if (g.outcome !== "waiting") throw new Error();
    const res = room.act(h.participantId, { type: "admit", participantId: g.participantId });
    expect(res.ok).toBe(true);
    live.stats(m.id, g.participantId, { rttMs: 12, packetsLost: 3, bogus: Number.NaN });
    room.leave(g.participantId);
    room.leave(h.participantId);
    await live.settled();
    const rows = await t.meetings.deps.repo.attendance(owner.accountId, m.id);
    expect(rows.map((r) => [r.name, r.ip, r.device, r.host, r.joinedAt !== null, r.leftAt !== null, r.leftReason])).toEqual([
      [owner.name, "198.51.100.7", "Firefox", true, true, true, "left"],
      ["Gus Guest", "198.51.100.7", "Firefox", false, true, true, "left"],
    ]);
    expect(rows[1]!.stats).toEqual({ rttMs: 12, packetsLost: 3 });
    const raw = JSON.stringify(t.db.$client.query("SELECT * FROM meeting_participants").all());
    expect(raw).not.toContain("Gus Guest");
    expect(raw).not.toContain("198.51.100.7");
    expect(auditActions(t, owner.accountId)).toEqual(expect.arrayContaining(["meeting.create", "meeting.start", "meeting.admit", "meeting.end"]));
    expect(t.db.$client.query("SELECT status FROM meetings WHERE id = ?").get(m.id)).toEqual({ status: "ended" });
    expect(live.liveMeetingIds()).toEqual([]);
  });

  test("chat is stored sealed under the chat key; non-participants and bad text are refused", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form({ settings: { "meeting.waiting_room": "false" } }));
    const live = t.meetings.live;
    const room = live.room(m.id);
    const h = room.join(hostGrant(m.id));
    if (h.outcome !== "joined") throw new Error();
    const sent = await live.chat(m.id, h.participantId, "  hello <script>alert(1)</script>  ");
    expect(sent).toMatchObject({ id: expect.any(String), at: t.clock.now() });
    expect(await live.chat(m.id, "stranger", "hi")).toEqual({ error: "You are not in this meeting." });
    expect(await live.chat(m.id, h.participantId, "   ")).toEqual({ error: "A chat message cannot be empty." });
    expect(await live.chat(m.id, h.participantId, "abc\u202Eevil")).toMatchObject({ error: expect.stringContaining("override") });
    expect(await live.chat(m.id, h.participantId, "x".repeat(2001))).toMatchObject({ error: expect.stringContaining("2000") });
    expect(await t.meetings.deps.repo.chat(owner.accountId, m.id)).toEqual([{ id: (sent as { id: string }).id, participantId: h.participantId, at: t.clock.now(), text: "hello <script>alert(1)</script>" }]);
    expect(JSON.stringify(t.db.$client.query("SELECT * FROM meeting_chat").all())).not.toContain("hello");
    const cls = t.db.$client.query("SELECT DISTINCT data_class AS c FROM data_keys WHERE account_id = ?").all(owner.accountId) as { c: string }[];
    expect(cls.map((x) => x.c)).toEqual(expect.arrayContaining(["chat", "meeting_metadata"]));
  });

  test("editing the meeting while people wait re-checks them (waiting room switched off admits)", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form());
    const live = t.meetings.live;
    const seen: RoomEffect[] = [];
    live.subscribe((id, fx) => id === m.id && seen.push(...fx));
    const room = live.room(m.id);
    room.join(hostGrant(m.id));
    const g = room.join(grant(m.id));
    if (g.outcome !== "waiting") throw new Error();
    await editMeeting(t.meetings.deps, actor, m.id, { ...formOf(m), topic: "Renamed", settings: { "meeting.waiting_room": "false" } });
    await Bun.sleep(0);
    await live.settled();
    expect(seen).toContainEqual(expect.objectContaining({ kind: "admitted", participantId: g.participantId }));
    expect(seen).toContainEqual(expect.objectContaining({ kind: "meeting.updated", meeting: expect.objectContaining({ topic: "Renamed" }) }));
    expect(room.participants()).toHaveLength(2);
  });

  test("the gate refuses joins, and ending an account's meetings tells everyone why", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form({ settings: { "meeting.waiting_room": "false" } }));
    const live = t.meetings.live;
    const seen: RoomEffect[] = [];
    live.subscribe((_id, fx) => seen.push(...fx));
    const room = live.room(m.id);
    const h = room.join(hostGrant(m.id));
    if (h.outcome !== "joined") throw new Error();
    live.setGate((acc) => (acc === owner.accountId ? { ok: false, message: "The account's encryption keys are unavailable." } : { ok: true }));
    expect(room.join(grant(m.id))).toEqual({ outcome: "refused", reason: "keys_unavailable", message: "The account's encryption keys are unavailable." });
    expect(live.endAccountMeetings(owner.accountId, "keys_unavailable", "Keys unavailable: the meeting was ended.")).toBe(1);
    expect(seen).toContainEqual({ kind: "ended", participantId: h.participantId, reason: "keys_unavailable", message: "Keys unavailable: the meeting was ended." });
    expect(live.liveMeetingIds(owner.accountId)).toEqual([]);
  });

  test("a dropped seat resumes by secret through roomByResume; after the window the sweep drops it", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form({ settings: { "meeting.waiting_room": "false", "meeting.join_before_host": "true" } }));
    const live = t.meetings.live;
    const seen: RoomEffect[] = [];
    live.subscribe((_id, fx) => seen.push(...fx));
    const room = live.room(m.id);
    room.join(hostGrant(m.id));
    const g = room.join(grant(m.id));
    if (g.outcome !== "joined") throw new Error();
    room.disconnected(g.participantId);
    expect(live.roomByResume(g.resume)).toBe(room);
    expect(live.roomByResume("nope")).toBeNull();
    t.clock.advance(61_000);
    live.sweep();
    expect(seen).toContainEqual({ kind: "participant.left", target: { to: "all", except: g.participantId }, participantId: g.participantId });
    expect(live.roomByResume(g.resume)).toBeNull();
  });

  test("host actions by a participant are refused and not audited", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form({ settings: { "meeting.waiting_room": "false", "meeting.join_before_host": "true" } }));
    const room = t.meetings.live.room(m.id);
    const g = room.join(grant(m.id));
    if (g.outcome !== "joined") throw new Error();
    expect(room.act(g.participantId, { type: "lock", locked: true })).toMatchObject({ ok: false, code: "not_allowed" });
    expect(auditActions(t, owner.accountId)).not.toContain("meeting.lock");
  });
});

describe("key rotation", () => {
  test("keys reencrypt re-seals meeting metadata, attendance and chat under the new keys", async () => {
    const { reencryptRetired } = await import("../keys/reencrypt.ts");
    const m = await scheduleMeeting(t.meetings.deps, actor, form({ settings: { "meeting.waiting_room": "false" } }));
    const room = t.meetings.live.room(m.id);
    const h = room.join(hostGrant(m.id));
    if (h.outcome !== "joined") throw new Error();
    await t.meetings.live.chat(m.id, h.participantId, "secret plans");
    await t.meetings.live.settled();
    const before = JSON.stringify(t.db.$client.query("SELECT topic_sealed, passcode_sealed FROM meetings").all());
    await t.keys.rotate(owner.accountId, "meeting_metadata");
    await t.keys.rotate(owner.accountId, "chat");
    const r = await reencryptRetired(t.db, t.codec);
    expect(r).toMatchObject({ remaining: 0 });
    expect(r.reencrypted).toBeGreaterThanOrEqual(5 + 3 + 1);
    expect(JSON.stringify(t.db.$client.query("SELECT topic_sealed, passcode_sealed FROM meetings").all())).not.toBe(before);
    const again = (await t.meetings.deps.repo.get(owner.accountId, m.id))!;
    expect([again.topic, again.passcode]).toEqual([m.topic, m.passcode]);
    expect((await t.meetings.deps.repo.chat(owner.accountId, m.id)).map((c) => c.text)).toEqual(["secret plans"]);
    expect((await t.meetings.deps.repo.attendance(owner.accountId, m.id)).map((a) => a.name)).toEqual([owner.name]);
  });
});

describe("settings changed on the admin pages", () => {
  test("reach a running meeting: authenticated-only switched on refuses waiting guests", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form());
    const live = t.meetings.live;
    const seen: RoomEffect[] = [];
    live.subscribe((_id, fx) => seen.push(...fx));
    const room = live.room(m.id);
    room.join(hostGrant(m.id));
    const g = room.join(grant(m.id));
    if (g.outcome !== "waiting") throw new Error();
    live.refreshPolicies();
    expect(seen).toEqual([]);
    const res = await owner.browser.postForm("/admin/settings", { key: "meeting.authenticated_only", value: "true" });
    expect(res.status).toBe(303);
    live.refreshPolicies();
    expect(seen).toContainEqual(expect.objectContaining({ kind: "ended", participantId: g.participantId, reason: "denied" }));
    expect(room.waiting()).toEqual([]);
  });
});

describe("removal", () => {
  test("a removed participant stays out when the meeting is started again", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form({ settings: { "meeting.waiting_room": "false" } }));
    const live = t.meetings.live;
    const room = live.room(m.id);
    const h = room.join(hostGrant(m.id));
    const g = room.join(grant(m.id));
    if (h.outcome !== "joined" || g.outcome !== "joined") throw new Error();
    expect(room.act(h.participantId, { type: "remove", participantId: g.participantId }).ok).toBe(true);
    expect(room.act(h.participantId, { type: "end" }).ok).toBe(true);
    const again = live.room(m.id);
    expect(again).not.toBe(room);
    expect(again.join(hostGrant(m.id)).outcome).toBe("joined");
    expect(again.join(grant(m.id))).toMatchObject({ outcome: "refused", reason: "removed" });
    expect(auditActions(t, owner.accountId)).toEqual(expect.arrayContaining(["meeting.remove", "meeting.end_for_all", "meeting.end"]));
  });
});

describe("account deletion", () => {
  test("deleting an account removes its meetings, attendance and chat and ends its running meetings", async () => {
    const { terminateAccount } = await import("../accounts/account-deletion.ts");
    const m = await scheduleMeeting(t.meetings.deps, actor, form({ settings: { "meeting.waiting_room": "false" } }));
    const room = t.meetings.live.room(m.id);
    const h = room.join(hostGrant(m.id));
    if (h.outcome !== "joined") throw new Error();
    await t.meetings.live.chat(m.id, h.participantId, "bye");
    await t.meetings.live.settled();
    expect(t.meetings.live.endAccountMeetings(owner.accountId, "ended", "The account was deleted.")).toBe(1);
    terminateAccount(t.auth, owner.accountId, (a) => t.keys.shred(a), "test");
    for (const table of ["meetings", "meeting_participants", "meeting_chat"]) expect(t.count(table)).toBe(0);
  });
});

describe("rooms nobody got into", () => {
  test("a refused first join leaves no running meeting; a waiting participant who drops is recorded as gone", async () => {
    const m = await scheduleMeeting(t.meetings.deps, actor, form());
    const live = t.meetings.live;
    live.setGate(() => ({ ok: false, message: "no" }));
    expect(live.room(m.id).join(hostGrant(m.id)).outcome).toBe("refused");
    expect(live.liveMeetingIds()).toEqual([]);
    live.setGate(undefined);
    const room = live.room(m.id);
    const g = room.join(grant(m.id));
    if (g.outcome !== "waiting") throw new Error();
    expect(live.liveMeetingIds()).toEqual([m.id]);
    room.disconnected(g.participantId);
    await live.settled();
    const rows = await t.meetings.deps.repo.attendance(owner.accountId, m.id);
    expect(rows.map((r) => [r.joinedAt, r.leftReason])).toEqual([[null, "left_waiting_room"]]);
    expect(live.liveMeetingIds()).toEqual([]);
  });
});
