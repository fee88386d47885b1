import { describe, expect, test } from "bun:test";
import type { ParticipantInfo, ServerMessage } from "../shared/signaling.ts";
import { initialState, isHost, MAX_CHAT_ENTRIES, nameOf, reduce, type MeetingState } from "./state.ts";

const person = (id: string, extra: Partial<ParticipantInfo> = {}): ParticipantInfo => ({ id, name: id.toUpperCase(), role: "participant", internal: false, mic: true, camera: true, screen: false, hand: false, ...extra });
const meeting = { topic: "Standup", locked: false, screenShare: "all" as const, muteOnEntry: false };

function run(s: MeetingState, ...ms: ServerMessage[]): { state: MeetingState; notices: string[] } {
  const notices: string[] = [];
  for (const m of ms) {
    const r = reduce(s, m, 1000);
    s = r.state;
    notices.push(...r.notices.map((n) => n.text));
  }
  return { state: s, notices };
}

const welcome = (self = person("me"), others = [person("a")]): ServerMessage => ({ type: "welcome", self, meeting, participants: [self, ...others], waiting: [], resume: "R" });

describe("reduce", () => {
  test("welcome puts us in the meeting, without ourselves in the others' list", () => {
    const { state, notices } = run(initialState(), welcome());
    expect(state.phase).toBe("in");
    expect(state.self?.id).toBe("me");
    expect(state.participants.map((p) => p.id)).toEqual(["a"]);
    expect(state.resume).toBe("R");
    expect(notices).toEqual(["You joined Standup."]);
  });
  test("waiting, then admitted", () => {
    const w = run(initialState(), { type: "waiting", reason: "waiting_room" });
    expect(w.state.phase).toBe("waiting");
    expect(w.state.waitingReason).toBe("waiting_room");
    expect(w.notices[0]).toContain("waiting room");
    expect(run(w.state, welcome()).state.phase).toBe("in");
  });
  test("a welcome after a drop says Reconnected", () => {
    const s = { ...run(initialState(), welcome()).state, phase: "reconnecting" as const };
    expect(run(s, welcome()).notices).toEqual(["Reconnected."]);
  });
  test("joins, updates and leaves keep the list in order and announce them", () => {
    const { state, notices } = run(
      initialState(),
      welcome(),
      { type: "participant.joined", participant: person("b") },
      { type: "participant.updated", participant: person("a", { hand: true }) },
      { type: "participant.updated", participant: person("b", { screen: true }) },
      { type: "participant.left", participantId: "a" },
    );
    expect(state.participants).toEqual([person("b", { screen: true })]);
    expect(notices.slice(1)).toEqual(["B joined.", "A raised their hand.", "B is sharing their screen.", "A left."]);
  });
  test("an update about ourselves changes self (a co-host promotion shows host controls)", () => {
    const { state, notices } = run(initialState(), welcome(), { type: "participant.updated", participant: person("me", { role: "cohost" }) });
    expect(isHost(state)).toBe(true);
    expect(state.participants.map((p) => p.id)).toEqual(["a"]);
    expect(notices).toContain("You are now a co-host.");
  });
  test("the waiting list tells hosts who arrived", () => {
    const host = person("me", { role: "host" });
    const { state, notices } = run(initialState(), welcome(host), { type: "waiting.updated", waiting: [{ id: "w1", name: "Wanda", internal: false, since: 1 }] }, { type: "waiting.updated", waiting: [] });
    expect(state.waiting).toEqual([]);
    expect(notices).toContain("Wanda is in the waiting room.");
  });
  test("chat is appended once, marked as ours when we sent it, and bounded", () => {
    let s = run(initialState(), welcome()).state;
    const r = run(s, { type: "chat", id: "1", from: { id: "me", name: "ME" }, text: "hi", at: 1 }, { type: "chat", id: "2", from: { id: "a", name: "A" }, text: "yo", at: 2 }, { type: "chat", id: "2", from: { id: "a", name: "A" }, text: "yo", at: 2 });
    expect(r.state.chat.map((c) => [c.id, c.mine])).toEqual([
      ["1", true],
      ["2", false],
    ]);
    expect(r.notices).toEqual(["A: yo"]);
    s = r.state;
    for (let i = 0; i < MAX_CHAT_ENTRIES + 10; i++) s = reduce(s, { type: "chat", id: `x${i}`, from: { id: "a", name: "A" }, text: "t", at: i }).state;
    expect(s.chat.length).toBe(MAX_CHAT_ENTRIES);
    expect(s.chat.at(-1)!.id).toBe(`x${MAX_CHAT_ENTRIES + 9}`);
  });
  test("muted and video.stopped switch our own state off and say who did it", () => {
    const { state, notices } = run(initialState(), welcome(), { type: "muted", by: "Hank" }, { type: "video.stopped", by: "Hank" });
    expect(state.self).toMatchObject({ mic: false, camera: false });
    expect(notices.slice(1)).toEqual(["Hank muted your microphone.", "Hank stopped your video."]);
  });
  test("ended keeps the reason and forgets the resume secret", () => {
    const { state, notices } = run(initialState(), welcome(), { type: "ended", reason: "removed", message: "" });
    expect(state.phase).toBe("ended");
    expect(state.ended).toEqual({ reason: "removed", message: "" });
    expect(state.resume).toBeNull();
    expect(notices.at(-1)).toContain("removed you");
  });
  test("speaker messages are stamped with the time they arrived", () => {
    const { state } = run(initialState(), welcome(), { type: "speaker", participantId: "a" });
    expect(state.speaker).toBe("a");
    expect(state.speakerAt).toBe(1000);
    expect(run(state, { type: "participant.left", participantId: "a" }).state.speaker).toBeNull();
  });
  test("the lock state change is announced", () => {
    const { notices, state } = run(initialState(), welcome(), { type: "meeting.updated", meeting: { ...meeting, locked: true } });
    expect(state.meeting?.locked).toBe(true);
    expect(notices).toContain("The meeting is now locked.");
  });
  test("errors are announced with the server's text, or a default", () => {
    expect(run(initialState(), { type: "error", code: "rate_limited", message: "" }).notices).toEqual(["Slow down: too many messages."]);
    expect(run(initialState(), { type: "error", code: "not_allowed", message: "Only hosts can share." }).notices).toEqual(["Only hosts can share."]);
  });
  test("nameOf finds ourselves and others", () => {
    const s = run(initialState(), welcome()).state;
    expect(nameOf(s, "me")).toBe("ME");
    expect(nameOf(s, "a")).toBe("A");
    expect(nameOf(s, "zz")).toBeNull();
  });
});
