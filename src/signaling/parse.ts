// The strict parser for browser → server signalling frames. Everything a client sends passes
// through parseClientMessage: JSON only, a plain object, a known "type", exactly the fields that
// type has (unknown fields are refused, so a client bug shows at once), each of the right type
// and within its limits. Nothing here throws on any input.

import { MAX_CHAT_CHARS, MAX_MESSAGE_BYTES, type ClientMessage, type PublishedTrack, type TrackSource } from "../shared/signaling.ts";

/** ParseResult is a valid message, or why the frame was refused (code too_large or bad_message). */
export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; code: "too_large" | "bad_message"; message: string; ref?: string };

/** MAX_SDP_CHARS caps an SDP blob (the frame cap applies too). */
export const MAX_SDP_CHARS = 60 * 1024;
/** MAX_TOKEN_CHARS caps a join token or resume secret. */
export const MAX_TOKEN_CHARS = 4096;
/** MAX_PUBLISHED_TRACKS caps the tracks of one pub offer (mic, camera, screen). */
export const MAX_PUBLISHED_TRACKS = 3;

const SOURCES: readonly TrackSource[] = ["mic", "camera", "screen"];
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const MID = /^[A-Za-z0-9_.-]{1,32}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
// C0 controls except TAB and LF, DEL, C1 controls, bidi embeddings/overrides (LRE..RLO), and
// lone surrogates; isolates (U+2066..2069) stay allowed for right-to-left text.
const CHAT_FORBIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E]|\p{Surrogate}/u;

type Fields = Record<string, unknown>;
type Shape = Record<string, (v: unknown, name: string) => string | null>;

class Bad extends Error {}

const str =
  (max: number, min = 1) =>
  (v: unknown, name: string): string | null => {
    if (typeof v !== "string") return `${name} must be a string`;
    if (v.length < min) return `${name} must not be empty`;
    if (v.length > max) return `${name} is longer than ${max} characters`;
    return null;
  };
const bool = (v: unknown, name: string): string | null => (typeof v === "boolean" ? null : `${name} must be true or false`);
const id = (v: unknown, name: string): string | null => (typeof v === "string" && ID.test(v) ? null : `${name} must be an id (1-64 letters, digits, _ or -)`);
const sdp = (v: unknown, name: string): string | null => {
  const e = str(MAX_SDP_CHARS)(v, name);
  if (e) return e;
  return (v as string).startsWith("v=0") ? null : `${name} must be an SDP description starting with v=0`;
};
const optional =
  (check: (v: unknown, name: string) => string | null) =>
  (v: unknown, name: string): string | null =>
    v === undefined ? null : check(v, name);

/** The fields of each message type; a type absent here is unknown. */
const SHAPES: Record<ClientMessage["type"], Shape> = {
  hello: {
    v: (v, n) => (Number.isInteger(v) ? null : `${n} must be an integer`),
    token: optional(str(MAX_TOKEN_CHARS)),
    resume: optional(str(MAX_TOKEN_CHARS)),
  },
  "pub.offer": { sdp, tracks: tracksCheck },
  "sub.answer": { sdp },
  ice: {
    pc: (v, n) => (v === "pub" || v === "sub" ? null : `${n} must be "pub" or "sub"`),
    // An empty candidate means end-of-candidates.
    candidate: str(1024, 0),
    mid: (v, n) => (typeof v === "string" && MID.test(v) ? null : `${n} must be a media id (1-32 letters, digits, _ . or -)`),
  },
  "media.state": { mic: bool, camera: bool, screen: bool },
  hand: { raised: bool },
  "chat.send": { text: chatCheck },
  "host.admit": { participantId: id },
  "host.deny": { participantId: id },
  "host.admitAll": {},
  "host.mute": { participantId: id },
  "host.muteAll": {},
  "host.stopVideo": { participantId: id },
  "host.remove": { participantId: id },
  "host.lock": { locked: bool },
  "host.cohost": { participantId: id, cohost: bool },
  "host.end": {},
  leave: {},
  ping: { t: (v, n) => (typeof v === "number" && Number.isFinite(v) ? null : `${n} must be a finite number`) },
};

function tracksCheck(v: unknown, name: string): string | null {
  if (!Array.isArray(v)) return `${name} must be an array`;
  if (v.length > MAX_PUBLISHED_TRACKS) return `${name} has more than ${MAX_PUBLISHED_TRACKS} entries`;
  const mids = new Set<string>();
  const sources = new Set<string>();
  for (let i = 0; i < v.length; i++) {
    const t: unknown = v[i];
    const at = `${name}[${i}]`;
    if (!isPlainObject(t)) return `${at} must be an object {mid, source}`;
    const extra = Object.keys(t).find((k) => k !== "mid" && k !== "source");
    if (extra !== undefined) return `${at} has an unknown field "${extra.slice(0, 40)}"`;
    if (typeof t.mid !== "string" || !MID.test(t.mid)) return `${at}.mid must be a media id (1-32 letters, digits, _ . or -)`;
    if (typeof t.source !== "string" || !SOURCES.includes(t.source as TrackSource)) return `${at}.source must be one of ${SOURCES.join(", ")}`;
    if (mids.has(t.mid)) return `${at}.mid "${t.mid}" is listed twice`;
    if (sources.has(t.source)) return `${at}.source "${t.source}" is listed twice`;
    mids.add(t.mid);
    sources.add(t.source);
  }
  return null;
}

function chatCheck(v: unknown, name: string): string | null {
  if (typeof v !== "string") return `${name} must be a string`;
  if (v.trim().length === 0) return `${name} must not be empty`;
  if ([...v].length > MAX_CHAT_CHARS) return `${name} is longer than ${MAX_CHAT_CHARS} characters`;
  if (CHAT_FORBIDDEN.test(v)) return `${name} contains control characters`;
  return null;
}

function isPlainObject(v: unknown): v is Fields {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** hostileKey finds a prototype-polluting key anywhere in a parsed JSON value. */
function hostileKey(v: unknown, depth = 0): string | null {
  if (depth > 8) throw new Bad("nested too deeply");
  if (Array.isArray(v)) {
    for (const x of v) {
      const k = hostileKey(x, depth + 1);
      if (k) return k;
    }
    return null;
  }
  if (typeof v === "object" && v !== null) {
    for (const k of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(k)) return k;
      const inner = hostileKey((v as Fields)[k], depth + 1);
      if (inner) return inner;
    }
  }
  return null;
}

/** frameBytes is the UTF-8 size of a text frame (or the size of a binary one). */
export function frameBytes(frame: string | Uint8Array): number {
  return typeof frame === "string" ? Buffer.byteLength(frame, "utf8") : frame.byteLength;
}

/** parseClientMessage validates one WebSocket frame against the protocol; it never throws. */
export function parseClientMessage(frame: string | Uint8Array): ParseResult {
  if (frameBytes(frame) > MAX_MESSAGE_BYTES) return { ok: false, code: "too_large", message: `message larger than ${MAX_MESSAGE_BYTES} bytes` };
  if (typeof frame !== "string") return bad("binary frames are not part of the protocol; send JSON text");
  let raw: unknown;
  try {
    raw = JSON.parse(frame);
  } catch {
    return bad("message is not valid JSON");
  }
  if (!isPlainObject(raw)) return bad("message must be a JSON object");
  try {
    const evil = hostileKey(raw);
    if (evil) return bad(`field name "${evil}" is not allowed`);
  } catch (e) {
    return bad(e instanceof Bad ? `message is ${e.message}` : "message could not be checked");
  }
  const type = raw.type;
  if (typeof type !== "string") return bad('message needs a string "type"');
  if (!Object.hasOwn(SHAPES, type)) return bad(`unknown message type "${type.slice(0, 40)}"`);
  const shape = SHAPES[type as ClientMessage["type"]];
  for (const k of Object.keys(raw)) {
    if (k !== "type" && !Object.hasOwn(shape, k)) return bad(`${type}: unknown field "${k.slice(0, 40)}"`, type);
  }
  for (const [k, check] of Object.entries(shape)) {
    const err = check(raw[k], k);
    if (err) return bad(`${type}: ${err}`, type);
  }
  if (type === "hello" && (raw.token === undefined) === (raw.resume === undefined)) return bad("hello: send exactly one of token or resume", type);
  // Rebuild from the checked fields only: the result never carries anything unvalidated.
  const message: Fields = { type };
  for (const k of Object.keys(shape)) if (raw[k] !== undefined) message[k] = k === "tracks" ? (raw[k] as PublishedTrack[]).map((t) => ({ mid: t.mid, source: t.source })) : raw[k];
  return { ok: true, message: message as ClientMessage };
}

function bad(message: string, ref?: string): ParseResult {
  return ref === undefined ? { ok: false, code: "bad_message", message } : { ok: false, code: "bad_message", message, ref };
}
