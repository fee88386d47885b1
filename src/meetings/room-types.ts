/**
 * The live room's own interface: LiveRoom (the signalling contract) plus what the meetings
 * service drives. Implemented by createRoom in room.ts.
 */
import type { Clock } from "../shared/clock.ts";
import type { EndReason } from "../shared/signaling.ts";
import type { JoinGrant, LiveRoom, RoomEffect } from "./live-types.ts";
import type { RoomPolicy } from "./room-policy.ts";

/** RoomOptions configure a new live room. */
export interface RoomOptions {
  meetingId: string;
  accountId: string;
  topic: string;
  policy: RoomPolicy;
  clock: Clock;
  /** checked on every join: e.g. the account's keys are unavailable */
  gate?: () => { ok: true } | { ok: false; message: string };
  /** identities removed by a host; shared between successive rooms of one meeting so removal outlives a restart of it */
  removed?: Set<string>;
}

/** Room is a LiveRoom plus what the meetings service drives: settings changes, expiry, forced end. */
export interface Room extends LiveRoom {
  /** update applies a changed topic and/or policy, re-checking everyone waiting. */
  update(change: { topic?: string; policy?: RoomPolicy }): RoomEffect[];
  /** expire drops seats whose resume window has passed. */
  expire(): RoomEffect[];
  /** nextExpiry is when the next dropped seat expires, or null. */
  nextExpiry(): number | null;
  /** endAll ends the meeting for everyone with a reason (host "end", keys unavailable...). */
  endAll(reason: EndReason, message: string): RoomEffect[];
  /** empty: nobody is in, waiting or within a resume window. */
  readonly empty: boolean;
  /** holdsResume tells whether a resume secret belongs to one of this room's seats (it does not take the seat). */
  holdsResume(secret: string): boolean;
  /** seatGrant returns the grant a seat joined with (attendance, audit). */
  seatGrant(id: string): JoinGrant | null;
  readonly policy: RoomPolicy;
}
