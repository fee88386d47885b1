import { describe, expect, test } from "bun:test";
import { fixedClock } from "../shared/clock.ts";
import type { JoinGrant, JoinVerdict, RoomEffect } from "./live-types.ts";
import { createRoom, RESUME_WINDOW_MS, type Room } from "./room.ts";
import { DEFAULT_POLICY, MESSAGES, type RoomPolicy } from "./room-policy.ts";

const M = "meeting-1";
const A = "account-1";

function grant(name: string, over: Partial<JoinGrant> = {}): JoinGrant {
  return { meetingId: M, accountId: A, displayName: name, userId: null, internal: false, host: false, ip: "192.0.2.1", device: "test", identity: `guest:${name}`, domain: null, ...over };
}
const host = (over: Partial<JoinGrant> = {}) => grant("Hana Host", { userId: "u-host", internal: true, host: true, identity: "user:u-host", domain: "a.example", ...over });
const member = (name: string, over: Partial<JoinGrant> = {}) => grant(name, { userId: `u-${name}`, internal: true, identity: `user:u-${name}`, domain: "a.example", ...over });

function room(policy: Partial<RoomPolicy> = {}, gate?: () => { ok: true } | { ok: false; message: string }): { r: Room; clock: ReturnType<typeof fixedClock> } {
  const clock = fixedClock();
  return { r: createRoom({ meetingId: M, accountId: A, topic: "Weekly sync", policy: { ...DEFAULT_POLICY, ...policy }, clock, gate }), clock };
}

function id(v: JoinVerdict): string {
  if (v.outcome === "refused") throw new Error(`refused: ${v.message}`);
  return v.participantId;
}
const kinds = (fx: RoomEffect[]) => fx.map((f) => f.kind);
const ended = (fx: RoomEffect[]) => fx.filter((f): f is Extract<RoomEffect, { kind: "ended" }> => f.kind === "ended");
const admittedIds = (fx: RoomEffect[]) => fx.filter((f): f is Extract<RoomEffect, { kind: "admitted" }> => f.kind === "admitted").map((f) => f.participantId);

describe("joining", () => {
  test("the host goes straight in; a guest waits in the waiting room and hosts are told", () => {
    const { r } = room();
    const h = r.join(host());
    expect(h.outcome).toBe("joined");
    const g = r.join(grant("Gus"));
    expect(g).toMatchObject({ outcome: "waiting", reason: "waiting_room" });
    if (g.outcome !== "waiting") throw new Error();
    expect(g.effects).toContainEqual({ kind: "waiting.updated", target: { to: "hosts" }, waiting: [{ id: g.participantId, name: "Gus", internal: false, since: expect.any(Number) }] });
    expect(r.participants().map((p) => p.name)).toEqual(["Hana Host"]);
    expect(r.waiting().map((w) => w.name)).toEqual(["Gus"]);
  });

  test("without join-before-host, people wait for the host; when the host arrives they move to the waiting room or in", () => {
    const { r } = room({ waitingRoom: true, internalBypassWaitingRoom: true });
    const g = r.join(grant("Gus"));
    const m = r.join(member("Mia"));
    expect(g).toMatchObject({ outcome: "waiting", reason: "host_absent" });
    expect(m).toMatchObject({ outcome: "waiting", reason: "host_absent" });
    const h = r.join(host());
    if (h.outcome !== "joined") throw new Error();
    expect(admittedIds(h.effects)).toEqual([id(m)]);
    expect(r.waiting().map((w) => w.name)).toEqual(["Gus"]);
    expect(r.participants().map((p) => p.name).sort()).toEqual(["Hana Host", "Mia"]);
  });

  test("with join-before-host and no waiting room, guests go in before the host", () => {
    const { r } = room({ joinBeforeHost: true, waitingRoom: false });
    expect(r.join(grant("Gus")).outcome).toBe("joined");
  });

  test("internal users bypass the waiting room only when that setting is on", () => {
    const off = room().r;
    off.join(host());
    expect(off.join(member("Mia")).outcome).toBe("waiting");
    const on = room({ internalBypassWaitingRoom: true }).r;
    on.join(host());
    expect(on.join(member("Mia")).outcome).toBe("joined");
    expect(on.join(grant("Gus")).outcome).toBe("waiting");
  });

  test("authenticated-only refuses guests with a clear message", () => {
    const { r } = room({ authenticatedOnly: true, joinBeforeHost: true, waitingRoom: false });
    expect(r.join(grant("Gus"))).toEqual({ outcome: "refused", reason: "denied", message: MESSAGES.authenticated });
    expect(r.join(member("Mia")).outcome).toBe("joined");
  });

  test("allowed domains refuse users of other domains, but never the host", () => {
    const { r } = room({ allowedDomains: ["a.example"], joinBeforeHost: true, waitingRoom: false });
    expect(r.join(member("Eve", { domain: "evil.example" }))).toMatchObject({ outcome: "refused", reason: "denied" });
    expect(r.join(grant("Gus"))).toMatchObject({ outcome: "refused", reason: "denied" });
    expect(r.join(member("Mia")).outcome).toBe("joined");
    expect(r.join(host({ domain: "b.example" })).outcome).toBe("joined");
  });

  test("a grant for another meeting is refused", () => {
    const { r } = room();
    expect(r.join(grant("Gus", { meetingId: "other" })).outcome).toBe("refused");
  });

  test("the gate (keys unavailable) refuses joins and resumes", () => {
    let ok = true;
    const { r } = room({}, () => (ok ? { ok: true } : { ok: false, message: "Keys unavailable." }));
    const h = r.join(host());
    if (h.outcome !== "joined") throw new Error();
    ok = false;
    expect(r.join(grant("Gus"))).toEqual({ outcome: "refused", reason: "keys_unavailable", message: "Keys unavailable." });
    r.disconnected(h.participantId);
    expect(r.resume(h.resume)).toMatchObject({ outcome: "refused", reason: "keys_unavailable" });
  });

  test("the same person joining again replaces their older seat", () => {
    const { r } = room({ joinBeforeHost: true, waitingRoom: false });
    const first = id(r.join(member("Mia")));
    const again = r.join(member("Mia"));
    if (again.outcome !== "joined") throw new Error();
    expect(ended(again.effects)).toEqual([{ kind: "ended", participantId: first, reason: "replaced", message: MESSAGES.replaced }]);
    expect(r.participants()).toHaveLength(1);
  });
});

describe("host controls", () => {
  function meeting(policy: Partial<RoomPolicy> = {}) {
    const { r, clock } = room(policy);
    const h = id(r.join(host()));
    return { r, clock, h };
  }

  test("admit lets a waiting guest in: admitted, then joined for the others, and the waiting list shrinks", () => {
    const { r, h } = meeting();
    const g = id(r.join(grant("Gus")));
    const res = r.act(h, { type: "admit", participantId: g });
    if (!res.ok) throw new Error(res.message);
    expect(kinds(res.effects)).toEqual(["admitted", "participant.joined", "waiting.updated"]);
    expect(res.effects[1]).toMatchObject({ target: { to: "all", except: g } });
    expect(r.waiting()).toEqual([]);
    // the admitted effect carries the resume secret the welcome needs
    const resume = (res.effects[0] as { resume?: string }).resume!;
    expect(resume).toMatch(/^[\w-]{32}$/);
    r.disconnected(g);
    expect(r.resume(resume)).toMatchObject({ outcome: "joined", participantId: g });
  });

  test("deny ends a waiting guest's wait; they may ask again", () => {
    const { r, h } = meeting();
    const g = id(r.join(grant("Gus")));
    const res = r.act(h, { type: "deny", participantId: g });
    if (!res.ok) throw new Error();
    expect(ended(res.effects)).toEqual([{ kind: "ended", participantId: g, reason: "denied", message: MESSAGES.denied }]);
    expect(r.join(grant("Gus")).outcome).toBe("waiting");
  });

  test("admit all admits everyone waiting", () => {
    const { r, h } = meeting();
    const ids = ["A", "B", "C"].map((n) => id(r.join(grant(n))));
    const res = r.act(h, { type: "admitAll" });
    if (!res.ok) throw new Error();
    expect(admittedIds(res.effects).sort()).toEqual(ids.sort());
    expect(r.participants()).toHaveLength(4);
  });

  test("participants cannot use host controls; unknown targets are reported", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const g = id(r.join(grant("Gus")));
    expect(r.act(g, { type: "muteAll" })).toMatchObject({ ok: false, code: "not_allowed" });
    expect(r.act(g, { type: "remove", participantId: h })).toMatchObject({ ok: false, code: "not_allowed" });
    expect(r.act(h, { type: "mute", participantId: "nobody" })).toMatchObject({ ok: false, code: "no_such_participant" });
    expect(r.act(h, { type: "admit", participantId: g })).toMatchObject({ ok: false, code: "no_such_participant" });
  });

  test("a removed participant cannot rejoin — same user, or same guest browser identity", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const g = id(r.join(grant("Gus")));
    const m = id(r.join(member("Mia")));
    for (const t of [g, m]) {
      const res = r.act(h, { type: "remove", participantId: t });
      if (!res.ok) throw new Error();
      expect(ended(res.effects)[0]).toMatchObject({ participantId: t, reason: "removed" });
      expect(res.effects).toContainEqual({ kind: "participant.left", target: { to: "all", except: t }, participantId: t });
    }
    expect(r.join(grant("Gus"))).toEqual({ outcome: "refused", reason: "removed", message: MESSAGES.removed });
    expect(r.join(member("Mia", { displayName: "Someone else" }))).toMatchObject({ outcome: "refused", reason: "removed" });
    // a different browser (another guest identity) is someone else
    expect(r.join(grant("Gus", { identity: "guest:other-browser" })).outcome).toBe("joined");
  });

  test("removing someone from the waiting room also bars them", () => {
    const { r, h } = meeting();
    const g = id(r.join(grant("Gus")));
    expect(r.act(h, { type: "remove", participantId: g }).ok).toBe(true);
    expect(r.waiting()).toEqual([]);
    expect(r.join(grant("Gus")).outcome).toBe("refused");
  });

  test("a removed participant's resume secret no longer works", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const v = r.join(grant("Gus"));
    if (v.outcome !== "joined") throw new Error();
    r.disconnected(v.participantId);
    r.act(h, { type: "remove", participantId: v.participantId });
    expect(r.resume(v.resume).outcome).toBe("refused");
  });

  test("mute stops forwarding the mic until the participant unmutes themselves", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const g = id(r.join(grant("Gus")));
    r.setMediaState(g, { mic: true, camera: true, screen: false });
    expect(r.forwarding(g, "mic")).toBe(true);
    const res = r.act(h, { type: "mute", participantId: g });
    if (!res.ok) throw new Error();
    expect(res.effects).toContainEqual({ kind: "forward", participantId: g, source: "mic", on: false });
    expect(res.effects).toContainEqual({ kind: "muted", participantId: g, by: "Hana Host" });
    expect(r.participant(g)?.mic).toBe(false);
    expect(r.forwarding(g, "mic")).toBe(false);
    expect(r.forwarding(g, "camera")).toBe(true);
    const fx = r.setMediaState(g, { mic: true, camera: true, screen: false });
    expect(fx).toContainEqual({ kind: "forward", participantId: g, source: "mic", on: true });
    expect(r.forwarding(g, "mic")).toBe(true);
  });

  test("mute all mutes everyone but hosts and co-hosts", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const a = id(r.join(grant("A")));
    const b = id(r.join(grant("B")));
    r.act(h, { type: "cohost", participantId: b, cohost: true });
    for (const p of [h, a, b]) r.setMediaState(p, { mic: true, camera: false, screen: false });
    const res = r.act(h, { type: "muteAll" });
    if (!res.ok) throw new Error();
    expect(res.effects.filter((f) => f.kind === "muted").map((f) => (f as { participantId: string }).participantId)).toEqual([a]);
    expect([h, a, b].map((p) => r.forwarding(p, "mic"))).toEqual([true, false, true]);
  });

  test("stop video stops forwarding the camera until the participant turns it on again", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const g = id(r.join(grant("Gus")));
    r.setMediaState(g, { mic: false, camera: true, screen: false });
    const res = r.act(h, { type: "stopVideo", participantId: g });
    if (!res.ok) throw new Error();
    expect(res.effects).toContainEqual({ kind: "video.stopped", participantId: g, by: "Hana Host" });
    expect(res.effects).toContainEqual({ kind: "forward", participantId: g, source: "camera", on: false });
    r.setMediaState(g, { mic: false, camera: false, screen: false });
    expect(r.forwarding(g, "camera")).toBe(false);
    r.setMediaState(g, { mic: false, camera: true, screen: false });
    expect(r.forwarding(g, "camera")).toBe(true);
  });

  test("a locked meeting refuses new joins but the host gets in and dropped seats resume", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const v = r.join(grant("Gus"));
    if (v.outcome !== "joined") throw new Error();
    const res = r.act(h, { type: "lock", locked: true });
    if (!res.ok) throw new Error();
    expect(res.effects).toContainEqual({ kind: "meeting.updated", target: { to: "all" }, meeting: { topic: "Weekly sync", locked: true, screenShare: "host", muteOnEntry: false } });
    expect(r.join(grant("Newcomer"))).toEqual({ outcome: "refused", reason: "locked", message: MESSAGES.locked });
    r.disconnected(v.participantId);
    expect(r.resume(v.resume)).toMatchObject({ outcome: "joined", participantId: v.participantId });
    expect(r.join(host()).outcome).toBe("joined");
    r.act(r.participants().find((p) => p.role === "host")!.id, { type: "lock", locked: false });
    expect(r.join(grant("Newcomer")).outcome).toBe("joined");
  });

  test("co-hosts may admit and mute but not end the meeting, name co-hosts, or touch the host", () => {
    const { r, h } = meeting({ waitingRoom: false });
    const c = id(r.join(grant("Cody")));
    expect(r.act(c, { type: "muteAll" })).toMatchObject({ ok: false });
    const res = r.act(h, { type: "cohost", participantId: c, cohost: true });
    if (!res.ok) throw new Error();
    expect(res.effects).toContainEqual({ kind: "waiting.updated", target: { to: "participant", id: c }, waiting: [] });
    expect(r.participant(c)?.role).toBe("cohost");
    expect(r.act(c, { type: "end" })).toMatchObject({ ok: false, code: "not_allowed" });
    expect(r.act(c, { type: "mute", participantId: h })).toMatchObject({ ok: false, code: "not_allowed" });
    expect(r.act(c, { type: "remove", participantId: h })).toMatchObject({ ok: false, code: "not_allowed" });
    const g = id(r.join(grant("Gus")));
    expect(r.act(c, { type: "mute", participantId: g }).ok).toBe(true);
    expect(r.act(c, { type: "cohost", participantId: g, cohost: true })).toMatchObject({ ok: false });
  });

  test("end tells everyone, waiting or in, and the room refuses joins afterwards", () => {
    const { r, h } = meeting();
    const g = id(r.join(grant("Gus")));
    const res = r.act(h, { type: "end" });
    if (!res.ok) throw new Error();
    expect(ended(res.effects).map((e) => [e.participantId, e.reason]).sort()).toEqual([[g, "ended"], [h, "ended"]].sort());
    expect(r.ended).toBe(true);
    expect(r.join(grant("Late")).outcome).toBe("refused");
    expect(r.forwarding(h, "mic")).toBe(false);
  });
});

describe("media and screen share", () => {
  test("mute on entry keeps the mic unforwarded until the participant unmutes", () => {
    const { r } = room({ muteOnEntry: true, waitingRoom: false });
    r.join(host());
    const g = id(r.join(grant("Gus")));
    expect(r.info().muteOnEntry).toBe(true);
    r.setMediaState(g, { mic: false, camera: true, screen: false });
    expect(r.forwarding(g, "mic")).toBe(false);
    r.setMediaState(g, { mic: true, camera: true, screen: false });
    expect(r.forwarding(g, "mic")).toBe(true);
  });

  test("screen share: host only by default; everyone when allowed; switching back stops a participant's share", () => {
    const { r } = room({ waitingRoom: false });
    const h = id(r.join(host()));
    const g = id(r.join(grant("Gus")));
    expect(r.canShareScreen(h)).toBe(true);
    expect(r.canShareScreen(g)).toBe(false);
    r.setMediaState(g, { mic: false, camera: false, screen: true });
    expect(r.participant(g)?.screen).toBe(false);
    const fx = r.update({ policy: { ...r.policy, screenShare: "all" } });
    expect(fx).toContainEqual({ kind: "meeting.updated", target: { to: "all" }, meeting: expect.objectContaining({ screenShare: "all" }) });
    r.setMediaState(g, { mic: false, camera: false, screen: true });
    expect(r.forwarding(g, "screen")).toBe(true);
    const back = r.update({ policy: { ...r.policy, screenShare: "host" } });
    expect(back).toContainEqual({ kind: "forward", participantId: g, source: "screen", on: false });
    expect(back).toContainEqual({ kind: "participant.updated", target: { to: "all" }, participant: expect.objectContaining({ id: g, screen: false }) });
  });

  test("raised hands are shown to all", () => {
    const { r } = room({ waitingRoom: false });
    r.join(host());
    const g = id(r.join(grant("Gus")));
    expect(r.setHand(g, true)).toEqual([{ kind: "participant.updated", target: { to: "all" }, participant: expect.objectContaining({ id: g, hand: true }) }]);
    expect(r.setHand(g, true)).toEqual([]);
  });

  test("waiting participants cannot publish or be forwarded", () => {
    const { r } = room();
    r.join(host());
    const g = id(r.join(grant("Gus")));
    expect(r.setMediaState(g, { mic: true, camera: true, screen: true })).toEqual([]);
    expect(r.forwarding(g, "mic")).toBe(false);
    expect(r.canShareScreen(g)).toBe(false);
  });
});

describe("settings changed while people wait or are inside", () => {
  test("switching the waiting room off admits everyone waiting", () => {
    const { r } = room();
    r.join(host());
    const a = id(r.join(grant("A")));
    const b = id(r.join(grant("B")));
    const fx = r.update({ policy: { ...r.policy, waitingRoom: false } });
    expect(admittedIds(fx).sort()).toEqual([a, b].sort());
    expect(fx).toContainEqual({ kind: "waiting.updated", target: { to: "hosts" }, waiting: [] });
  });

  test("switching the waiting room off while the host is away (no join-before-host) keeps people waiting for the host", () => {
    const { r } = room();
    r.join(grant("A"));
    const fx = r.update({ policy: { ...r.policy, waitingRoom: false } });
    expect(admittedIds(fx)).toEqual([]);
    expect(r.waiting()).toHaveLength(1);
  });

  test("switching join-before-host on admits those waiting for the host (waiting room off)", () => {
    const { r } = room({ waitingRoom: false });
    const a = id(r.join(grant("A")));
    expect(admittedIds(r.update({ policy: { ...r.policy, joinBeforeHost: true } }))).toEqual([a]);
  });

  test("switching authenticated-only on refuses waiting guests; members keep waiting; people inside stay", () => {
    const { r } = room();
    r.join(host());
    const inside = id(r.join(grant("Inside")));
    r.update({ policy: { ...r.policy, waitingRoom: false } });
    r.update({ policy: { ...r.policy, waitingRoom: true } });
    const g = id(r.join(grant("Gus")));
    const m = id(r.join(member("Mia")));
    const fx = r.update({ policy: { ...r.policy, authenticatedOnly: true } });
    expect(ended(fx)).toEqual([{ kind: "ended", participantId: g, reason: "denied", message: MESSAGES.authenticated }]);
    expect(r.waiting().map((w) => w.id)).toEqual([m]);
    expect(r.participant(inside)).not.toBeNull();
    expect(r.join(grant("Gus2"))).toMatchObject({ outcome: "refused", reason: "denied" });
  });

  test("restricting domains refuses waiting people of other domains", () => {
    const { r } = room();
    r.join(host());
    const e = id(r.join(member("Eve", { domain: "evil.example" })));
    const m = id(r.join(member("Mia")));
    const fx = r.update({ policy: { ...r.policy, allowedDomains: ["a.example"] } });
    expect(ended(fx).map((x) => x.participantId)).toEqual([e]);
    expect(r.waiting().map((w) => w.id)).toEqual([m]);
  });

  test("turning internal bypass on admits waiting internal users only", () => {
    const { r } = room();
    r.join(host());
    r.join(grant("Gus"));
    const m = id(r.join(member("Mia")));
    expect(admittedIds(r.update({ policy: { ...r.policy, internalBypassWaitingRoom: true } }))).toEqual([m]);
    expect(r.waiting().map((w) => w.name)).toEqual(["Gus"]);
  });

  test("a changed topic reaches everyone; an unchanged policy sends nothing", () => {
    const { r } = room({ waitingRoom: false });
    r.join(host());
    expect(r.update({ policy: { ...r.policy } })).toEqual([]);
    expect(r.update({ topic: "New topic" })).toEqual([{ kind: "meeting.updated", target: { to: "all" }, meeting: expect.objectContaining({ topic: "New topic" }) }]);
  });

  test("a co-host arriving lets host-absent waiters move on like the host would", () => {
    const { r } = room({ waitingRoom: false });
    const h = id(r.join(host()));
    const c = id(r.join(member("Cody")));
    r.act(h, { type: "cohost", participantId: c, cohost: true });
    r.leave(h);
    const g = id(r.join(grant("Gus")));
    expect(r.participant(g)).not.toBeNull();
    expect(r.participants().map((p) => p.id)).toContain(g);
  });
});

describe("disconnects and resume", () => {
  test("a dropped seat can be resumed within 60 s with the same participant id and a fresh secret", () => {
    const { r, clock } = room({ waitingRoom: false });
    r.join(host());
    const v = r.join(grant("Gus"));
    if (v.outcome !== "joined") throw new Error();
    r.setMediaState(v.participantId, { mic: true, camera: true, screen: false });
    const fx = r.disconnected(v.participantId);
    expect(fx).toContainEqual({ kind: "forward", participantId: v.participantId, source: "mic", on: false });
    expect(r.participants().map((p) => p.id)).toContain(v.participantId);
    clock.advance(RESUME_WINDOW_MS - 1);
    const back = r.resume(v.resume);
    expect(back).toMatchObject({ outcome: "joined", participantId: v.participantId });
    if (back.outcome !== "joined") throw new Error();
    expect(back.resume).not.toBe(v.resume);
    expect(r.resume(v.resume).outcome).toBe("refused");
    expect(r.forwarding(v.participantId, "mic")).toBe(true);
  });

  test("after 60 s the seat is gone: resume refused, others told it left", () => {
    const { r, clock } = room({ waitingRoom: false });
    r.join(host());
    const v = r.join(grant("Gus"));
    if (v.outcome !== "joined") throw new Error();
    r.disconnected(v.participantId);
    expect(r.nextExpiry()).toBe(clock.now() + RESUME_WINDOW_MS);
    clock.advance(RESUME_WINDOW_MS);
    expect(r.resume(v.resume)).toMatchObject({ outcome: "refused" });
    expect(r.expire()).toEqual([{ kind: "participant.left", target: { to: "all", except: v.participantId }, participantId: v.participantId }]);
    expect(r.participant(v.participantId)).toBeNull();
    expect(r.nextExpiry()).toBeNull();
  });

  test("a waiting participant who drops leaves the waiting room at once", () => {
    const { r } = room();
    r.join(host());
    const g = id(r.join(grant("Gus")));
    expect(r.disconnected(g)).toEqual([{ kind: "waiting.updated", target: { to: "hosts" }, waiting: [] }]);
  });

  test("leave tells the others and frees the seat; the room is then empty", () => {
    const { r } = room({ waitingRoom: false, joinBeforeHost: true });
    const g = id(r.join(grant("Gus")));
    const fx = r.leave(g);
    expect(fx).toContainEqual({ kind: "participant.left", target: { to: "all", except: g }, participantId: g });
    expect(r.empty).toBe(true);
  });

  test("endAll with keys unavailable ends every seat with that reason", () => {
    const { r } = room({ waitingRoom: false });
    const h = id(r.join(host()));
    const fx = r.endAll("keys_unavailable", "Keys are unavailable.");
    expect(fx).toContainEqual({ kind: "ended", participantId: h, reason: "keys_unavailable", message: "Keys are unavailable." });
    expect(r.endAll("ended", "again")).toEqual([]);
  });
});
