// Who is connected to which meeting, and how room effects reach them: the map from a
// participant to its socket, audience resolution (one participant, the hosts, everyone admitted),
// and the translation of RoomEffects into protocol messages and media switches.

import type { LiveRoom, RoomEffect } from "../meetings/live-types.ts";
import type { ServerMessage } from "../shared/signaling.ts";

/** Peer is what the registry needs of a connection. */
export interface Peer {
  readonly meetingId: string;
  readonly participantId: string;
  /** admitted (not in the waiting room). */
  readonly admitted: boolean;
  send(m: ServerMessage): void;
  /** admit moves a waiting connection into the meeting (welcome + media). */
  admit(resume: string | undefined): void;
  /** end sends "ended" and closes the connection cleanly. */
  end(m: Extract<ServerMessage, { type: "ended" }>): void;
  /** setForwarding switches one of this participant's sources on or off. */
  setForwarding(source: "mic" | "camera" | "screen", on: boolean): void;
  /** liveRoom is the room this connection is in. */
  liveRoom(): LiveRoom | null;
}

/** Registry indexes live connections by meeting and participant. */
export class Registry {
  private readonly meetings = new Map<string, Map<string, Peer>>();

  /** add registers a connection, returning the one it replaces (same participant), if any. */
  add(p: Peer): Peer | null {
    let m = this.meetings.get(p.meetingId);
    if (!m) {
      m = new Map();
      this.meetings.set(p.meetingId, m);
    }
    const old = m.get(p.participantId) ?? null;
    m.set(p.participantId, p);
    return old === p ? null : old;
  }

  /** remove unregisters a connection (only if it is still the registered one). */
  remove(p: Peer): void {
    const m = this.meetings.get(p.meetingId);
    if (m?.get(p.participantId) !== p) return;
    m.delete(p.participantId);
    if (m.size === 0) this.meetings.delete(p.meetingId);
  }

  /** get finds a participant's connection. */
  get(meetingId: string, participantId: string): Peer | null {
    return this.meetings.get(meetingId)?.get(participantId) ?? null;
  }

  /** roomOf finds a meeting's live room through any of its connections (null: nobody connected). */
  roomOf(meetingId: string): LiveRoom | null {
    for (const p of this.meetings.get(meetingId)?.values() ?? []) {
      const r = p.liveRoom();
      if (r) return r;
    }
    return null;
  }

  /** admitted lists the admitted connections of a meeting. */
  admitted(meetingId: string): Peer[] {
    return [...(this.meetings.get(meetingId)?.values() ?? [])].filter((p) => p.admitted);
  }

  /** count is the number of registered connections. */
  count(): number {
    let n = 0;
    for (const m of this.meetings.values()) n += m.size;
    return n;
  }

  /** broadcast sends a message to every admitted participant of a meeting. */
  broadcast(meetingId: string, m: ServerMessage, except?: string): void {
    for (const p of this.admitted(meetingId)) if (p.participantId !== except) p.send(m);
  }

  /** apply carries out room effects, in order. */
  apply(room: LiveRoom, effects: readonly RoomEffect[]): void {
    for (const e of effects) this.applyOne(room, e);
  }

  private audience(room: LiveRoom, target: Extract<RoomEffect, { target: unknown }>["target"]): Peer[] {
    const id = room.meetingId;
    if (target.to === "participant") {
      const p = this.get(id, target.id);
      return p ? [p] : [];
    }
    if (target.to === "hosts") {
      return this.admitted(id).filter((p) => {
        const role = room.participant(p.participantId)?.role;
        return role === "host" || role === "cohost";
      });
    }
    return this.admitted(id).filter((p) => p.participantId !== target.except);
  }

  private applyOne(room: LiveRoom, e: RoomEffect): void {
    const id = room.meetingId;
    switch (e.kind) {
      case "participant.joined":
        for (const p of this.audience(room, e.target)) p.send({ type: "participant.joined", participant: e.participant });
        return;
      case "participant.updated":
        for (const p of this.audience(room, e.target)) p.send({ type: "participant.updated", participant: e.participant });
        return;
      case "participant.left":
        for (const p of this.audience(room, e.target)) p.send({ type: "participant.left", participantId: e.participantId });
        return;
      case "waiting.updated":
        for (const p of this.audience(room, e.target)) p.send({ type: "waiting.updated", waiting: e.waiting });
        return;
      case "meeting.updated":
        for (const p of this.audience(room, e.target)) p.send({ type: "meeting.updated", meeting: e.meeting });
        return;
      case "admitted":
        this.get(id, e.participantId)?.admit(e.resume);
        return;
      case "muted":
        this.get(id, e.participantId)?.send({ type: "muted", by: e.by });
        return;
      case "video.stopped":
        this.get(id, e.participantId)?.send({ type: "video.stopped", by: e.by });
        return;
      case "forward":
        this.get(id, e.participantId)?.setForwarding(e.source, e.on);
        return;
      case "ended":
        this.get(id, e.participantId)?.end({ type: "ended", reason: e.reason, message: e.message });
        return;
    }
  }
}
