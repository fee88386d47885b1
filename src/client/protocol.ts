/**
 * Parsing of server frames: a frame that is not a well-formed ServerMessage is reported as null
 * (and logged by the caller), never half-applied. Names and chat are cleaned here, once.
 */
import type { EndReason, ErrorCode, ForwardedTrack, MeetingInfo, ParticipantInfo, Role, ServerMessage, WaitingInfo } from "../shared/signaling.ts";
import { cleanChat, displayName } from "./text.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === "string";
const bool = (v: unknown): v is boolean => typeof v === "boolean";
const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

const ROLES: readonly Role[] = ["host", "cohost", "participant"];
const SOURCES = ["mic", "camera", "screen"] as const;
const END_REASONS: readonly EndReason[] = ["removed", "ended", "denied", "locked", "left", "replaced", "keys_unavailable"];

class Bad extends Error {}

function need<T>(ok: boolean, v: T, what: string): T {
  if (!ok) throw new Bad(what);
  return v;
}

function participant(v: unknown): ParticipantInfo {
  if (!isObj(v) || !str(v.id) || !str(v.name) || !ROLES.includes(v.role as Role)) throw new Bad("participant");
  for (const k of ["internal", "mic", "camera", "screen", "hand"] as const) need(bool(v[k]), 0, `participant.${k}`);
  return {
    id: v.id,
    name: displayName(v.name),
    role: v.role as Role,
    internal: v.internal as boolean,
    mic: v.mic as boolean,
    camera: v.camera as boolean,
    screen: v.screen as boolean,
    hand: v.hand as boolean,
  };
}

function waitingList(v: unknown): WaitingInfo[] {
  if (!Array.isArray(v)) throw new Bad("waiting");
  return v.map((w) => {
    if (!isObj(w) || !str(w.id) || !str(w.name) || !bool(w.internal) || !num(w.since)) throw new Bad("waiting entry");
    return { id: w.id, name: displayName(w.name), internal: w.internal, since: w.since };
  });
}

function meeting(v: unknown): MeetingInfo {
  if (!isObj(v) || !str(v.topic) || !bool(v.locked) || !bool(v.muteOnEntry) || (v.screenShare !== "host" && v.screenShare !== "all")) throw new Bad("meeting");
  return { topic: v.topic, locked: v.locked, screenShare: v.screenShare, muteOnEntry: v.muteOnEntry };
}

function tracks(v: unknown): ForwardedTrack[] {
  if (!Array.isArray(v)) throw new Bad("tracks");
  return v.map((t) => {
    if (!isObj(t) || !str(t.mid) || !str(t.participantId) || !SOURCES.includes(t.source as never)) throw new Bad("track");
    return { mid: t.mid, participantId: t.participantId, source: t.source as ForwardedTrack["source"] };
  });
}

function parseObj(m: Obj): ServerMessage {
  switch (m.type) {
    case "welcome":
      if (!str(m.resume) || !Array.isArray(m.participants)) throw new Bad("welcome");
      return { type: "welcome", self: participant(m.self), meeting: meeting(m.meeting), participants: m.participants.map(participant), waiting: m.waiting === undefined ? [] : waitingList(m.waiting), resume: m.resume };
    case "waiting":
      return need(m.reason === "waiting_room" || m.reason === "host_absent", { type: "waiting", reason: m.reason as "waiting_room" | "host_absent" }, "waiting.reason");
    case "pub.answer":
      return need(str(m.sdp), { type: "pub.answer", sdp: m.sdp as string }, "sdp");
    case "sub.offer":
      return need(str(m.sdp), { type: "sub.offer", sdp: m.sdp as string, tracks: tracks(m.tracks) }, "sdp");
    case "ice":
      return need((m.pc === "pub" || m.pc === "sub") && str(m.candidate) && str(m.mid), { type: "ice", pc: m.pc as "pub" | "sub", candidate: m.candidate as string, mid: m.mid as string }, "ice");
    case "participant.joined":
    case "participant.updated":
      return { type: m.type, participant: participant(m.participant) };
    case "participant.left":
      return need(str(m.participantId), { type: "participant.left", participantId: m.participantId as string }, "participantId");
    case "waiting.updated":
      return { type: "waiting.updated", waiting: waitingList(m.waiting) };
    case "meeting.updated":
      return { type: "meeting.updated", meeting: meeting(m.meeting) };
    case "chat": {
      const from = m.from;
      if (!str(m.id) || !isObj(from) || !str(from.id) || !str(from.name) || !str(m.text) || !num(m.at)) throw new Bad("chat");
      return { type: "chat", id: m.id, from: { id: from.id, name: displayName(from.name) }, text: cleanChat(m.text), at: m.at };
    }
    case "muted":
    case "video.stopped":
      return need(str(m.by), { type: m.type, by: displayName(m.by as string) }, "by");
    case "speaker":
      return need(m.participantId === null || str(m.participantId), { type: "speaker", participantId: m.participantId as string | null }, "participantId");
    case "ended":
      return need(END_REASONS.includes(m.reason as EndReason) && str(m.message), { type: "ended", reason: m.reason as EndReason, message: cleanChat(m.message as string) }, "ended");
    case "error":
      return need(str(m.code) && str(m.message), { type: "error", code: m.code as ErrorCode, message: cleanChat(m.message as string), ...(str(m.ref) ? { ref: m.ref } : {}) }, "error");
    case "pong":
      return need(num(m.t), { type: "pong", t: m.t as number }, "t");
    default:
      throw new Bad("type");
  }
}

/** parseServerMessage turns one text frame into a ServerMessage, or null when it is malformed or unknown. */
export function parseServerMessage(frame: string): ServerMessage | null {
  let raw: unknown;
  try {
    raw = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!isObj(raw)) return null;
  try {
    return parseObj(raw);
  } catch (e) {
    if (e instanceof Bad) return null;
    throw e;
  }
}
