import { describe, expect, test } from "bun:test";
import { parseServerMessage } from "./protocol.ts";

const P = { id: "p1", name: "Ann", role: "participant", internal: false, mic: true, camera: true, screen: false, hand: false };
const M = { topic: "Weekly", locked: false, screenShare: "all", muteOnEntry: false };
const frame = (o: unknown): string => JSON.stringify(o);

describe("parseServerMessage", () => {
  test("parses a welcome", () => {
    const m = parseServerMessage(frame({ type: "welcome", self: P, meeting: M, participants: [P], waiting: [], resume: "r1" }));
    expect(m).toEqual({ type: "welcome", self: P, meeting: M, participants: [P], waiting: [], resume: "r1" } as never);
  });
  test("cleans names and chat text on the way in", () => {
    const m = parseServerMessage(frame({ type: "chat", id: "c1", from: { id: "p2", name: "\u202Eevil" }, text: "hi\u202E\u0000", at: 5 }));
    expect(m).toEqual({ type: "chat", id: "c1", from: { id: "p2", name: "evil" }, text: "hi", at: 5 });
    const j = parseServerMessage(frame({ type: "participant.joined", participant: { ...P, name: "  " } }));
    expect(j).toMatchObject({ participant: { name: "Guest" } });
  });
  test("parses every other message type", () => {
    const ok = [
      { type: "waiting", reason: "waiting_room" },
      { type: "pub.answer", sdp: "v=0" },
      { type: "sub.offer", sdp: "v=0", tracks: [{ mid: "0", participantId: "p2", source: "mic" }] },
      { type: "ice", pc: "sub", candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", mid: "0" },
      { type: "participant.updated", participant: P },
      { type: "participant.left", participantId: "p1" },
      { type: "waiting.updated", waiting: [{ id: "w", name: "W", internal: false, since: 1 }] },
      { type: "meeting.updated", meeting: M },
      { type: "muted", by: "Host" },
      { type: "video.stopped", by: "Host" },
      { type: "speaker", participantId: null },
      { type: "speaker", participantId: "p1" },
      { type: "ended", reason: "removed", message: "Removed by the host" },
      { type: "error", code: "not_allowed", message: "no", ref: "x" },
      { type: "pong", t: 1 },
    ];
    for (const o of ok) expect(parseServerMessage(frame(o)), JSON.stringify(o)).not.toBeNull();
  });
  test("returns null for frames that are not well-formed messages", () => {
    const bad = [
      "not json",
      "[]",
      "null",
      frame({ type: "nope" }),
      frame({ type: "welcome", self: P, meeting: M, participants: "x", resume: "r" }),
      frame({ type: "welcome", self: { ...P, role: "admin" }, meeting: M, participants: [], resume: "r" }),
      frame({ type: "welcome", self: P, meeting: { ...M, screenShare: "everyone" }, participants: [], resume: "r" }),
      frame({ type: "waiting", reason: "because" }),
      frame({ type: "sub.offer", sdp: "v=0", tracks: [{ mid: "0", participantId: "p2", source: "hologram" }] }),
      frame({ type: "ice", pc: "other", candidate: "c", mid: "0" }),
      frame({ type: "participant.joined", participant: { ...P, mic: "yes" } }),
      frame({ type: "chat", id: "c", from: { id: "p" }, text: "t", at: 1 }),
      frame({ type: "ended", reason: "boredom", message: "" }),
      frame({ type: "pong", t: "soon" }),
    ];
    for (const b of bad) expect(parseServerMessage(b), b).toBeNull();
  });
  test("ignores prototype-polluting keys", () => {
    const m = parseServerMessage('{"type":"pong","t":1,"__proto__":{"polluted":true}}');
    expect(m).toEqual({ type: "pong", t: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
