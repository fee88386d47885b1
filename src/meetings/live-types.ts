/**
 * The contract between the meetings domain and the signalling layer: what a live meeting
 * looks like to the WebSocket server. src/meetings implements it (room state machine, join
 * tokens, metadata, audit); src/signaling consumes it and maps RoomEffects to protocol messages.
 * Nothing here knows about WebSockets or media.
 */
import type { EndReason, MeetingInfo, ParticipantInfo, Role, WaitingInfo } from "../shared/signaling.ts";

/** JoinGrant is a verified join token: who joins which meeting, decided by the join page. */
export interface JoinGrant {
  /** internal meeting id (not the dialable number) */
  meetingId: string;
  accountId: string;
  displayName: string;
  /** the signed-in user, if any */
  userId: string | null;
  /** authenticated member of the meeting's account */
  internal: boolean;
  /** the meeting's host (its owner) */
  host: boolean;
  /** client address and user agent when the token was issued (for the dashboard) */
  ip: string;
  device: string;
  /**
   * who this is, for "a removed participant cannot rejoin" and "one seat per person":
   * "user:<id>" for signed-in users, "guest:<random>" bound to the guest's browser (join cookie).
   * Absent (hand-made grants in tests): derived from userId, else unique per grant.
   */
  identity?: string;
  /** lower-case e-mail domain of the signed-in user (allowed-domains rule); null for guests */
  domain?: string | null;
}

/** JoinVerdict is the outcome of presenting a grant (or a resume secret) to a live room. */
export type JoinVerdict =
  | { outcome: "joined"; participantId: string; resume: string; effects: RoomEffect[] }
  | { outcome: "waiting"; participantId: string; reason: "waiting_room" | "host_absent"; effects: RoomEffect[] }
  | { outcome: "refused"; reason: EndReason; message: string };

/** Audience of an effect. */
export type EffectTarget = { to: "participant"; id: string } | { to: "hosts" } | { to: "all"; except?: string };

/**
 * RoomEffect is something the signalling layer must do after a room change: tell someone,
 * start or stop forwarding media, or close a connection.
 */
export type RoomEffect =
  | { kind: "participant.joined"; target: EffectTarget; participant: ParticipantInfo }
  | { kind: "participant.updated"; target: EffectTarget; participant: ParticipantInfo }
  | { kind: "participant.left"; target: EffectTarget; participantId: string }
  | { kind: "waiting.updated"; target: EffectTarget; waiting: WaitingInfo[] }
  | { kind: "meeting.updated"; target: EffectTarget; meeting: MeetingInfo }
  /** a waiting participant was let in: send welcome, then set up media */
  /** resume: the admitted participant's resume secret for welcome.resume (signalling needs it; the waiting verdict has none) */
  | { kind: "admitted"; participantId: string; resume?: string }
  | { kind: "muted"; participantId: string; by: string }
  | { kind: "video.stopped"; participantId: string; by: string }
  /** stop (false) or resume (true) forwarding one source of a participant */
  | { kind: "forward"; participantId: string; source: "mic" | "camera" | "screen"; on: boolean }
  /** tell the participant why, then close their connection and media */
  | { kind: "ended"; participantId: string; reason: EndReason; message: string };

/** HostAction is every host control the protocol carries. */
export type HostAction =
  | { type: "admit"; participantId: string }
  | { type: "deny"; participantId: string }
  | { type: "admitAll" }
  | { type: "mute"; participantId: string }
  | { type: "muteAll" }
  | { type: "stopVideo"; participantId: string }
  | { type: "remove"; participantId: string }
  | { type: "lock"; locked: boolean }
  | { type: "cohost"; participantId: string; cohost: boolean }
  | { type: "end" };

/** ActionResult is a host action's outcome. */
export type ActionResult = { ok: true; effects: RoomEffect[] } | { ok: false; code: "not_allowed" | "no_such_participant"; message: string };

/** LiveRoom is one running meeting's participants, waiting room and host state (in memory). */
export interface LiveRoom {
  readonly meetingId: string;
  readonly accountId: string;
  /** join presents a fresh grant; resume takes back a dropped seat with the secret from welcome. */
  join(grant: JoinGrant): JoinVerdict;
  resume(secret: string): JoinVerdict;
  /** the connection dropped without "leave": keep the seat for the resume window. */
  disconnected(participantId: string): RoomEffect[];
  leave(participantId: string): RoomEffect[];
  setMediaState(participantId: string, state: { mic: boolean; camera: boolean; screen: boolean }): RoomEffect[];
  setHand(participantId: string, raised: boolean): RoomEffect[];
  /** whether this participant may publish a screen share now */
  canShareScreen(participantId: string): boolean;
  act(actorId: string, action: HostAction): ActionResult;
  /** snapshot for welcome */
  info(): MeetingInfo;
  participant(id: string): (ParticipantInfo & { role: Role }) | null;
  participants(): ParticipantInfo[];
  waiting(): WaitingInfo[];
  /** admitted participants whose media may be forwarded, by source (false while host-muted until they unmute) */
  forwarding(participantId: string, source: "mic" | "camera" | "screen"): boolean;
  readonly ended: boolean;
}

/** MeetingsLive is what the signalling layer needs from the meetings domain. */
export interface MeetingsLive {
  /** verifyJoinToken checks a join token (signature, expiry, audience, single use). */
  verifyJoinToken(token: string): Promise<JoinGrant | null>;
  /** room returns the live room of a meeting, creating it (meeting started) on first join. */
  room(meetingId: string): LiveRoom;
  /** roomByResume finds the room that issued a resume secret. */
  roomByResume(secret: string): LiveRoom | null;
  /** chat validates and records a chat message (sealed under the account's chat key); null if it cannot be stored. */
  chat(meetingId: string, participantId: string, text: string): Promise<{ id: string; at: number } | { error: string }>;
  /** stats records a participant's connection summary for the dashboard. */
  stats(meetingId: string, participantId: string, summary: Record<string, number>): void;
  /**
   * subscribe delivers effects that no signalling call returned: seats dropped when their
   * 60 s resume window passes, settings edited on the meeting page while people wait or are in
   * (admissions, meeting.updated), meetings ended by the server (deleted, keys unavailable).
   * Carry them out like the effects returned by calls. Returns an unsubscribe function.
   * (Optional so test doubles need not implement it; the real service always does.)
   */
  subscribe?(listener: (meetingId: string, effects: RoomEffect[]) => void): () => void;
}
