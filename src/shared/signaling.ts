/**
 * The meeting signalling protocol's message shapes, shared by the server (src/signaling/) and
 * the browser client (src/client/). JSON text frames over one WebSocket (wss://HOST/ws/meeting).
 * The full write-up, with sequences, is src/signaling/PROTOCOL.md. Imports nothing.
 *
 * Negotiation uses two peer connections per participant:
 *  - "pub": the browser offers (sendonly mic / camera / optional screen), the server answers.
 *    Starting or stopping a screen share is a new browser offer on the same connection.
 *  - "sub": the server offers (sendonly tracks: everyone else's media), the browser answers.
 *    The server sends a new offer whenever the set of forwarded tracks changes.
 */

/** PROTOCOL_VERSION is sent in hello; the server refuses other versions. */
export const PROTOCOL_VERSION = 1;
/** MAX_MESSAGE_BYTES caps one client frame (SDP offers with three m= sections are ~6 KB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** MAX_CHAT_CHARS caps one chat message. */
export const MAX_CHAT_CHARS = 2000;
/** MAX_NAME_CHARS caps a display name. */
export const MAX_NAME_CHARS = 64;

export type PcName = "pub" | "sub";
export type TrackSource = "mic" | "camera" | "screen";
export type Role = "host" | "cohost" | "participant";

/** PublishedTrack names what one m= section of a pub offer carries. */
export interface PublishedTrack {
  mid: string;
  source: TrackSource;
}

/** ForwardedTrack names what one m= section of a sub offer carries. */
export interface ForwardedTrack {
  mid: string;
  participantId: string;
  source: TrackSource;
}

/** ParticipantInfo is what everybody in the meeting sees of a participant. */
export interface ParticipantInfo {
  id: string;
  name: string;
  role: Role;
  /** true for authenticated members of the meeting's account. */
  internal: boolean;
  mic: boolean;
  camera: boolean;
  screen: boolean;
  hand: boolean;
}

/** WaitingInfo is what hosts see of someone in the waiting room. */
export interface WaitingInfo {
  id: string;
  name: string;
  internal: boolean;
  since: number;
}

/** MeetingInfo is the meeting as the client needs it. */
export interface MeetingInfo {
  topic: string;
  locked: boolean;
  /** who may share their screen */
  screenShare: "host" | "all";
  muteOnEntry: boolean;
}

/** Messages the browser sends. */
export type ClientMessage =
  | { type: "hello"; v: number; token?: string; resume?: string }
  | { type: "pub.offer"; sdp: string; tracks: PublishedTrack[] }
  | { type: "sub.answer"; sdp: string }
  | { type: "ice"; pc: PcName; candidate: string; mid: string }
  | { type: "media.state"; mic: boolean; camera: boolean; screen: boolean }
  | { type: "hand"; raised: boolean }
  | { type: "chat.send"; text: string }
  | { type: "host.admit"; participantId: string }
  | { type: "host.deny"; participantId: string }
  | { type: "host.admitAll" }
  | { type: "host.mute"; participantId: string }
  | { type: "host.muteAll" }
  | { type: "host.stopVideo"; participantId: string }
  | { type: "host.remove"; participantId: string }
  | { type: "host.lock"; locked: boolean }
  | { type: "host.cohost"; participantId: string; cohost: boolean }
  | { type: "host.end" }
  | { type: "leave" }
  | { type: "ping"; t: number };

/** Reasons a participant cannot be (or is no longer) in the meeting. */
export type EndReason = "removed" | "ended" | "denied" | "locked" | "left" | "replaced" | "keys_unavailable";

/** Error codes sent in { type: "error" }. */
export type ErrorCode =
  | "bad_message" // not JSON, unknown type, missing or wrong field
  | "too_large" // frame above MAX_MESSAGE_BYTES (connection closed with 1009)
  | "bad_version"
  | "bad_token" // missing, invalid, expired or already used join token / resume secret
  | "not_joined" // a message that needs admission was sent before it
  | "not_allowed" // host action by a non-host, screen share not allowed...
  | "no_such_participant"
  | "rate_limited"
  | "media_failed" // SDP could not be applied
  | "internal";

/** Messages the server sends. */
export type ServerMessage =
  | {
      type: "welcome";
      self: ParticipantInfo;
      meeting: MeetingInfo;
      participants: ParticipantInfo[];
      /** only for hosts and co-hosts */
      waiting: WaitingInfo[];
      /** send in hello.resume to take this seat back after a network blip (valid ~60 s after a drop) */
      resume: string;
    }
  | { type: "waiting"; reason: "waiting_room" | "host_absent" }
  | { type: "pub.answer"; sdp: string }
  | { type: "sub.offer"; sdp: string; tracks: ForwardedTrack[] }
  | { type: "ice"; pc: PcName; candidate: string; mid: string }
  | { type: "participant.joined"; participant: ParticipantInfo }
  | { type: "participant.updated"; participant: ParticipantInfo }
  | { type: "participant.left"; participantId: string }
  | { type: "waiting.updated"; waiting: WaitingInfo[] }
  | { type: "meeting.updated"; meeting: MeetingInfo }
  | { type: "chat"; id: string; from: { id: string; name: string }; text: string; at: number }
  | { type: "muted"; by: string }
  | { type: "video.stopped"; by: string }
  | { type: "speaker"; participantId: string | null }
  | { type: "ended"; reason: EndReason; message: string }
  | { type: "error"; code: ErrorCode; message: string; ref?: string }
  | { type: "pong"; t: number };
