/**
 * The meeting as this browser knows it, changed only by `reduce(state, serverMessage)`: a pure
 * function returning the next state and the notices to announce (live region).
 */
import type { EndReason, MeetingInfo, ParticipantInfo, ServerMessage, WaitingInfo } from "../shared/signaling.ts";
import { endText, errorText, waitingText } from "./wording.ts";

/** ChatEntry is one line of the chat log. */
export interface ChatEntry {
  id: string;
  fromId: string;
  fromName: string;
  text: string;
  at: number;
  mine: boolean;
}

/** Phase is where the participant is in the meeting's life cycle. */
export type Phase = "prejoin" | "connecting" | "waiting" | "in" | "reconnecting" | "ended";

/** MeetingState is everything the UI renders. */
export interface MeetingState {
  phase: Phase;
  waitingReason: "waiting_room" | "host_absent" | null;
  self: ParticipantInfo | null;
  meeting: MeetingInfo | null;
  /** everyone else, in join order */
  participants: ParticipantInfo[];
  waiting: WaitingInfo[];
  chat: ChatEntry[];
  speaker: string | null;
  /** when the server last sent a speaker message (ms, caller's clock); 0 = never */
  speakerAt: number;
  ended: { reason: EndReason; message: string } | null;
  resume: string | null;
}

/** Notice is something to announce to screen readers and show briefly. */
export interface Notice {
  kind: "info" | "alert" | "chat";
  text: string;
}

/** MAX_CHAT_ENTRIES bounds the chat log kept in memory. */
export const MAX_CHAT_ENTRIES = 500;

/** initialState is the state before joining. */
export function initialState(): MeetingState {
  return { phase: "prejoin", waitingReason: null, self: null, meeting: null, participants: [], waiting: [], chat: [], speaker: null, speakerAt: 0, ended: null, resume: null };
}

/** isHost tells whether this participant sees host controls. */
export function isHost(s: MeetingState): boolean {
  return s.self?.role === "host" || s.self?.role === "cohost";
}

/** nameOf finds a participant's name (self included). */
export function nameOf(s: MeetingState, id: string): string | null {
  if (s.self?.id === id) return s.self.name;
  return s.participants.find((p) => p.id === id)?.name ?? null;
}

function upsert(list: ParticipantInfo[], p: ParticipantInfo): ParticipantInfo[] {
  const i = list.findIndex((x) => x.id === p.id);
  if (i < 0) return [...list, p];
  const next = list.slice();
  next[i] = p;
  return next;
}

/** Reduction is reduce's result. */
export interface Reduction {
  state: MeetingState;
  notices: Notice[];
}

/** reduce applies one server message; `now` is only used to stamp speaker messages. */
export function reduce(s: MeetingState, m: ServerMessage, now = 0): Reduction {
  const notices: Notice[] = [];
  const out = (state: MeetingState): Reduction => ({ state, notices });
  switch (m.type) {
    case "welcome": {
      const rejoin = s.phase === "reconnecting";
      if (!rejoin) notices.push({ kind: "info", text: `You joined ${m.meeting.topic || "the meeting"}.` });
      else notices.push({ kind: "info", text: "Reconnected." });
      const others = m.participants.filter((p) => p.id !== m.self.id);
      return out({ ...s, phase: "in", waitingReason: null, self: m.self, meeting: m.meeting, participants: others, waiting: m.waiting, resume: m.resume, ended: null, speaker: null });
    }
    case "waiting":
      notices.push({ kind: "info", text: waitingText(m.reason) });
      return out({ ...s, phase: "waiting", waitingReason: m.reason });
    case "participant.joined":
    case "participant.updated": {
      const p = m.participant;
      if (p.id === s.self?.id) {
        if (s.self.role !== p.role && p.role !== "participant") notices.push({ kind: "info", text: p.role === "host" ? "You are now the host." : "You are now a co-host." });
        return out({ ...s, self: p });
      }
      const before = s.participants.find((x) => x.id === p.id);
      if (!before) notices.push({ kind: "info", text: `${p.name} joined.` });
      else if (!before.hand && p.hand) notices.push({ kind: "info", text: `${p.name} raised their hand.` });
      else if (before.role !== p.role && p.role === "cohost") notices.push({ kind: "info", text: `${p.name} is now a co-host.` });
      if (before && !before.screen && p.screen) notices.push({ kind: "info", text: `${p.name} is sharing their screen.` });
      return out({ ...s, participants: upsert(s.participants, p), speaker: s.speaker });
    }
    case "participant.left": {
      const gone = s.participants.find((p) => p.id === m.participantId);
      if (gone) notices.push({ kind: "info", text: `${gone.name} left.` });
      return out({ ...s, participants: s.participants.filter((p) => p.id !== m.participantId), speaker: s.speaker === m.participantId ? null : s.speaker });
    }
    case "waiting.updated": {
      const known = new Set(s.waiting.map((w) => w.id));
      const arrived = m.waiting.filter((w) => !known.has(w.id));
      if (arrived.length === 1) notices.push({ kind: "alert", text: `${arrived[0]!.name} is in the waiting room.` });
      else if (arrived.length > 1) notices.push({ kind: "alert", text: `${arrived.length} people are in the waiting room.` });
      return out({ ...s, waiting: m.waiting });
    }
    case "meeting.updated":
      if (s.meeting && s.meeting.locked !== m.meeting.locked) notices.push({ kind: "info", text: m.meeting.locked ? "The meeting is now locked." : "The meeting is unlocked." });
      return out({ ...s, meeting: m.meeting });
    case "chat": {
      const mine = m.from.id === s.self?.id;
      if (s.chat.some((c) => c.id === m.id)) return out(s);
      if (!mine) notices.push({ kind: "chat", text: `${m.from.name}: ${m.text}` });
      const chat = [...s.chat, { id: m.id, fromId: m.from.id, fromName: m.from.name, text: m.text, at: m.at, mine }];
      return out({ ...s, chat: chat.length > MAX_CHAT_ENTRIES ? chat.slice(chat.length - MAX_CHAT_ENTRIES) : chat });
    }
    case "muted":
      notices.push({ kind: "alert", text: `${m.by} muted your microphone.` });
      return out({ ...s, self: s.self ? { ...s.self, mic: false } : s.self });
    case "video.stopped":
      notices.push({ kind: "alert", text: `${m.by} stopped your video.` });
      return out({ ...s, self: s.self ? { ...s.self, camera: false } : s.self });
    case "speaker":
      return out({ ...s, speaker: m.participantId, speakerAt: now });
    case "ended":
      notices.push({ kind: "alert", text: endText(m.reason, m.message) });
      return out({ ...s, phase: "ended", ended: { reason: m.reason, message: m.message }, resume: null });
    case "error":
      notices.push({ kind: "alert", text: errorText(m.code, m.message) });
      return out(s);
    case "pub.answer":
    case "sub.offer":
    case "ice":
    case "pong":
      return out(s);
  }
}
