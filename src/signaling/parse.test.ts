import { describe, expect, test } from "bun:test";
import { MAX_CHAT_CHARS, MAX_MESSAGE_BYTES, type ClientMessage } from "../shared/signaling.ts";
import { parseClientMessage } from "./parse.ts";

const SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

function ok(m: unknown): ClientMessage {
  const r = parseClientMessage(JSON.stringify(m));
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.message;
}

function refused(frame: string | Uint8Array): string {
  const r = parseClientMessage(frame);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.message)}`);
  expect(r.code).toBe("bad_message");
  return r.message;
}

const refuse = (m: unknown): string => refused(JSON.stringify(m));

describe("parseClientMessage accepts every message type", () => {
  const valid: ClientMessage[] = [
    { type: "hello", v: 1, token: "abc.def" },
    { type: "hello", v: 1, resume: "r-123" },
    { type: "pub.offer", sdp: SDP, tracks: [{ mid: "0", source: "mic" }, { mid: "1", source: "camera" }, { mid: "2", source: "screen" }] },
    { type: "pub.offer", sdp: SDP, tracks: [] },
    { type: "sub.answer", sdp: SDP },
    { type: "ice", pc: "pub", candidate: "candidate:1 1 UDP 2122317823 127.0.0.1 40000 typ host", mid: "0" },
    { type: "ice", pc: "sub", candidate: "", mid: "video-1" },
    { type: "media.state", mic: true, camera: false, screen: false },
    { type: "hand", raised: true },
    { type: "chat.send", text: "héllo\nworld 👋 שלום" },
    { type: "host.admit", participantId: "p_1" },
    { type: "host.deny", participantId: "p-2" },
    { type: "host.admitAll" },
    { type: "host.mute", participantId: "abc" },
    { type: "host.muteAll" },
    { type: "host.stopVideo", participantId: "abc" },
    { type: "host.remove", participantId: "abc" },
    { type: "host.lock", locked: true },
    { type: "host.cohost", participantId: "abc", cohost: false },
    { type: "host.end" },
    { type: "leave" },
    { type: "ping", t: 12.5 },
  ];
  for (const m of valid) test(`${m.type} ${JSON.stringify(m).slice(0, 60)}`, () => expect(ok(m)).toEqual(m));
});

describe("parseClientMessage refuses malformed frames with a message that says what to fix", () => {
  test("not JSON, not an object, no type, unknown type", () => {
    expect(refused("{nope")).toContain("not valid JSON");
    expect(refused("")).toContain("not valid JSON");
    expect(refused("[1,2]")).toContain("JSON object");
    expect(refused("null")).toContain("JSON object");
    expect(refused('"hello"')).toContain("JSON object");
    expect(refuse({ v: 1 })).toContain('"type"');
    expect(refuse({ type: 5 })).toContain('"type"');
    expect(refuse({ type: "host.nuke" })).toContain('unknown message type "host.nuke"');
    expect(refuse({ type: "toString" })).toContain("unknown message type");
    expect(refuse({ type: "hasOwnProperty" })).toContain("unknown message type");
  });

  test("binary frames", () => {
    expect(refused(new Uint8Array([123, 125]))).toContain("binary");
  });

  test("unknown fields are refused", () => {
    expect(refuse({ type: "leave", now: true })).toContain('unknown field "now"');
    expect(refuse({ type: "hand", raised: true, extra: 1 })).toContain('unknown field "extra"');
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: [{ mid: "0", source: "mic", ssrc: 1 }] })).toContain('unknown field "ssrc"');
  });

  test("prototype-pollution keys anywhere are refused", () => {
    expect(refused('{"type":"leave","__proto__":{"admin":true}}')).toContain("__proto__");
    expect(refused('{"type":"pub.offer","sdp":"v=0","tracks":[{"__proto__":{"x":1}}]}')).toContain("__proto__");
    expect(refused('{"type":"hand","raised":true,"constructor":{"prototype":{}}}')).toContain("constructor");
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  test("hello", () => {
    expect(refuse({ type: "hello", v: "1", token: "t" })).toContain("v must be an integer");
    expect(refuse({ type: "hello", v: 1.5, token: "t" })).toContain("v must be an integer");
    expect(refuse({ type: "hello", v: 1 })).toContain("exactly one of token or resume");
    expect(refuse({ type: "hello", v: 1, token: "a", resume: "b" })).toContain("exactly one of token or resume");
    expect(refuse({ type: "hello", v: 1, token: 42 })).toContain("token must be a string");
    expect(refuse({ type: "hello", v: 1, token: "" })).toContain("token must not be empty");
    expect(refuse({ type: "hello", v: 1, token: "x".repeat(5000) })).toContain("longer than");
  });

  test("pub.offer and sub.answer", () => {
    expect(refuse({ type: "pub.offer", sdp: "hello", tracks: [] })).toContain("starting with v=0");
    expect(refuse({ type: "pub.offer", sdp: SDP })).toContain("tracks must be an array");
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: {} })).toContain("tracks must be an array");
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: ["0"] })).toContain("tracks[0] must be an object");
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: [{ mid: "0", source: "webcam" }] })).toContain("source must be one of");
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: [{ mid: "a b", source: "mic" }] })).toContain("mid must be a media id");
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: [{ mid: "0", source: "mic" }, { mid: "0", source: "camera" }] })).toContain("listed twice");
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: [{ mid: "0", source: "mic" }, { mid: "1", source: "mic" }] })).toContain("listed twice");
    expect(refuse({ type: "pub.offer", sdp: SDP, tracks: ["0", "1", "2", "3"].map((mid) => ({ mid, source: "mic" })) })).toContain("more than 3");
    expect(refuse({ type: "sub.answer", sdp: 7 })).toContain("sdp must be a string");
    expect(refuse({ type: "sub.answer" })).toContain("sdp must be a string");
  });

  test("ice", () => {
    expect(refuse({ type: "ice", pc: "both", candidate: "", mid: "0" })).toContain('"pub" or "sub"');
    expect(refuse({ type: "ice", pc: "pub", candidate: null, mid: "0" })).toContain("candidate must be a string");
    expect(refuse({ type: "ice", pc: "pub", candidate: "x".repeat(2000), mid: "0" })).toContain("longer than");
    expect(refuse({ type: "ice", pc: "pub", candidate: "", mid: "" })).toContain("mid must be a media id");
  });

  test("booleans, ids and numbers", () => {
    expect(refuse({ type: "media.state", mic: "true", camera: false, screen: false })).toContain("mic must be true or false");
    expect(refuse({ type: "media.state", mic: true, camera: false })).toContain("screen must be true or false");
    expect(refuse({ type: "hand", raised: 1 })).toContain("raised must be true or false");
    expect(refuse({ type: "host.lock" })).toContain("locked must be true or false");
    expect(refuse({ type: "host.cohost", participantId: "a" })).toContain("cohost must be true or false");
    expect(refuse({ type: "host.mute", participantId: "<script>" })).toContain("participantId must be an id");
    expect(refuse({ type: "host.remove", participantId: "" })).toContain("participantId must be an id");
    expect(refuse({ type: "host.admit", participantId: ["a"] })).toContain("participantId must be an id");
    expect(refuse({ type: "host.stopVideo" })).toContain("participantId must be an id");
    expect(refuse({ type: "host.deny", participantId: "x".repeat(65) })).toContain("participantId must be an id");
    expect(refuse({ type: "ping", t: "now" })).toContain("t must be a finite number");
    expect(refused('{"type":"ping","t":1e999}')).toContain("t must be a finite number");
  });

  test("chat text: empty, too long, control characters, bidi overrides, lone surrogates", () => {
    expect(refuse({ type: "chat.send", text: "   " })).toContain("must not be empty");
    expect(refuse({ type: "chat.send", text: 5 })).toContain("text must be a string");
    expect(refuse({ type: "chat.send", text: "x".repeat(MAX_CHAT_CHARS + 1) })).toContain(`longer than ${MAX_CHAT_CHARS}`);
    expect(ok({ type: "chat.send", text: "😀".repeat(MAX_CHAT_CHARS) })).toMatchObject({ type: "chat.send" }); // counted in characters, not UTF-16 units
    expect(refuse({ type: "chat.send", text: "bell\u0007" })).toContain("control characters");
    expect(refuse({ type: "chat.send", text: "nul\u0000" })).toContain("control characters");
    expect(refuse({ type: "chat.send", text: "esc\u001b[31m" })).toContain("control characters");
    expect(refuse({ type: "chat.send", text: "c1\u0085" })).toContain("control characters");
    expect(refuse({ type: "chat.send", text: "evil\u202Egnp.exe" })).toContain("control characters");
    expect(refused('{"type":"chat.send","text":"lone \\ud800 surrogate"}')).toContain("control characters");
    expect(ok({ type: "chat.send", text: "<script>alert(1)</script>" })).toMatchObject({ text: "<script>alert(1)</script>" }); // inert when rendered as text
    expect(ok({ type: "chat.send", text: "tab\there\n\u2067isolated\u2069" })).toMatchObject({ type: "chat.send" });
  });

  test("oversized frames are too_large, checked before parsing", () => {
    const big = JSON.stringify({ type: "chat.send", text: "x".repeat(MAX_MESSAGE_BYTES) });
    const r = parseClientMessage(big);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe("too_large");
    // multi-byte characters count in bytes
    const wide = JSON.stringify({ type: "chat.send", text: "é".repeat(MAX_MESSAGE_BYTES / 2) });
    expect(parseClientMessage(wide)).toMatchObject({ ok: false, code: "too_large" });
  });

  test("deep nesting is refused without a stack overflow", () => {
    expect(refused(`{"type":"leave","x":${"[".repeat(5000)}${"]".repeat(5000)}}`)).toContain("nested too deeply");
    expect(refused("[".repeat(20000) + "]".repeat(20000))).toContain("JSON object");
  });

  test("the result carries only validated fields", () => {
    const m = ok({ type: "pub.offer", sdp: SDP, tracks: [{ mid: "0", source: "mic" }] });
    expect(Object.keys(m).sort()).toEqual(["sdp", "tracks", "type"]);
  });
});
