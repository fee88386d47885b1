// One browser's signalling connection: hello (join token or resume secret) within a deadline,
// then the waiting room or the meeting; every frame parsed strictly, rate-limited, and handled
// without ever throwing into the WebSocket server. Media (the pub and sub peer connections)
// lives in a MediaSession named after the participant.

import type { HostAction, LiveRoom, MeetingsLive, RoomEffect } from "../meetings/live-types.ts";
import { MediaError, type MediaSession } from "../media/session.ts";
import type { MediaServer } from "../media/media-server.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/logger.ts";
import { PROTOCOL_VERSION, type ClientMessage, type ErrorCode, type ServerMessage } from "../shared/signaling.ts";
import { parseClientMessage } from "./parse.ts";
import type { Peer, Registry } from "./registry.ts";

/** Close codes the server uses (see PROTOCOL.md). */
export const CLOSE = { normal: 1000, policy: 1008, tooLarge: 1009, internal: 1011, badToken: 4001, helloTimeout: 4002, badVersion: 4003 } as const;

/** Limits bound what one connection may do. */
export interface Limits {
  helloTimeoutMs: number;
  /** bad frames (malformed, not allowed now, rate-limited) tolerated before closing with 1008. */
  maxBadMessages: number;
  /** token bucket: sustained messages per second and burst size. */
  ratePerSecond: number;
  burst: number;
}

/** ConnectionDeps are the collaborators of every connection. */
export interface ConnectionDeps {
  meetings: MeetingsLive;
  media: MediaServer;
  registry: Registry;
  log: Logger;
  clock: Clock;
  limits: Limits;
}

/** Socket is the part of a WebSocket a connection uses. */
export interface Socket {
  send(text: string): void;
  close(code: number, reason: string): void;
}

const HOST_ACTIONS: Record<string, (m: ClientMessage) => HostAction> = {
  "host.admit": (m) => ({ type: "admit", participantId: (m as { participantId: string }).participantId }),
  "host.deny": (m) => ({ type: "deny", participantId: (m as { participantId: string }).participantId }),
  "host.admitAll": () => ({ type: "admitAll" }),
  "host.mute": (m) => ({ type: "mute", participantId: (m as { participantId: string }).participantId }),
  "host.muteAll": () => ({ type: "muteAll" }),
  "host.stopVideo": (m) => ({ type: "stopVideo", participantId: (m as { participantId: string }).participantId }),
  "host.remove": (m) => ({ type: "remove", participantId: (m as { participantId: string }).participantId }),
  "host.lock": (m) => ({ type: "lock", locked: (m as { locked: boolean }).locked }),
  "host.cohost": (m) => ({ type: "cohost", participantId: (m as { participantId: string }).participantId, cohost: (m as { cohost: boolean }).cohost }),
  "host.end": () => ({ type: "end" }),
};

/** Connection is one signalling WebSocket and, once admitted, its participant's media. */
export class Connection implements Peer {
  meetingId = "";
  participantId = "";
  private phase: "hello" | "verifying" | "waiting" | "joined" | "closed" = "hello";
  private room: LiveRoom | null = null;
  private session: MediaSession | null = null;
  private bad = 0;
  private tokens: number;
  private refilledAt: number;
  private lastRateError = 0;
  private helloTimer: ReturnType<typeof setTimeout> | null;
  /** set once the room no longer needs to hear about this socket closing (left, ended, replaced). */
  private detached = false;
  private pubQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly deps: ConnectionDeps,
  ) {
    this.tokens = deps.limits.burst;
    this.refilledAt = deps.clock.now();
    this.helloTimer = setTimeout(() => this.fail("bad_message", "no hello within the time limit", CLOSE.helloTimeout), deps.limits.helloTimeoutMs);
  }

  get admitted(): boolean {
    return this.phase === "joined";
  }

  /** onFrame handles one WebSocket frame; never throws. */
  onFrame(frame: string | Uint8Array): void {
    if (this.phase === "closed") return;
    try {
      if (!this.takeToken()) return;
      const r = parseClientMessage(frame);
      if (!r.ok) {
        if (r.code === "too_large") return this.fail("too_large", r.message, CLOSE.tooLarge);
        return this.refuse("bad_message", r.message, r.ref);
      }
      this.dispatch(r.message).catch((e: unknown) => this.internal(e, r.message.type));
    } catch (e) {
      this.internal(e, "frame");
    }
  }

  /** onClose runs when the socket closed, for whatever reason; never throws. */
  onClose(): void {
    const wasOpen = this.phase !== "closed";
    this.phase = "closed";
    if (this.helloTimer) clearTimeout(this.helloTimer);
    try {
      this.stopMedia();
      if (wasOpen && this.room && !this.detached) {
        this.detached = true;
        this.deps.registry.remove(this);
        this.deps.registry.apply(this.room, this.room.disconnected(this.participantId));
      } else {
        this.deps.registry.remove(this);
      }
    } catch (e) {
      this.deps.log.error("signalling close handler failed", { error: e as Error });
    }
  }

  /** send writes one message if the socket is open. */
  send(m: ServerMessage): void {
    if (this.phase === "closed") return;
    try {
      this.socket.send(JSON.stringify(m));
    } catch {
      // the socket is closing; onClose follows
    }
  }

  /** admit is the room's "admitted" effect for this waiting connection: welcome, then media. */
  admit(resume: string | undefined): void {
    if (this.phase !== "waiting" || !this.room) return;
    this.enter(this.room, resume ?? "");
  }

  /** end tells the participant why and closes cleanly (the room already knows). */
  end(m: Extract<ServerMessage, { type: "ended" }>): void {
    this.detached = true;
    this.send(m);
    this.close(CLOSE.normal, m.reason);
  }

  /** setForwarding switches a source of this participant on or off at the media server. */
  setForwarding(source: "mic" | "camera" | "screen", on: boolean): void {
    if (this.session) this.deps.media.setForwarding(this.participantId, source, on);
  }

  /** liveRoom is the room this connection joined or waits for. */
  liveRoom(): LiveRoom | null {
    return this.room;
  }

  /** pushStats hands the media statistics to the meetings domain (dashboard). */
  pushStats(): void {
    if (!this.session || !this.room) return;
    this.deps.meetings.stats(this.meetingId, this.participantId, this.session.summary());
  }

  private async dispatch(m: ClientMessage): Promise<void> {
    if (m.type === "hello") return this.hello(m);
    if (m.type === "ping") return this.send({ type: "pong", t: m.t });
    if (this.phase === "hello" || this.phase === "verifying") return this.refuse("not_joined", "send hello first", m.type);
    const room = this.room!;
    if (m.type === "leave") return this.leave(room);
    if (this.phase !== "joined") return this.refuse("not_joined", "you are in the waiting room; only ping and leave are possible", m.type);
    const pid = this.participantId;
    switch (m.type) {
      case "pub.offer":
        this.pubQueue = this.pubQueue.then(() => this.pubOffer(room, m)).catch((e: unknown) => this.internal(e, m.type));
        return;
      case "sub.answer":
        try {
          this.session?.applySubAnswer(m.sdp);
        } catch (e) {
          this.refuse("media_failed", e instanceof MediaError ? e.message : "the answer could not be applied", m.type, false);
        }
        return;
      case "ice":
        this.session?.addRemoteCandidate(m.pc, m.candidate, m.mid);
        return;
      case "media.state":
        return this.apply(room, room.setMediaState(pid, { mic: m.mic, camera: m.camera, screen: m.screen }));
      case "hand":
        return this.apply(room, room.setHand(pid, m.raised));
      case "chat.send":
        return this.chat(room, m.text);
      default: {
        const toAction = HOST_ACTIONS[m.type];
        if (!toAction) return this.refuse("bad_message", `unexpected message ${m.type}`, m.type);
        const res = room.act(pid, toAction(m));
        if (!res.ok) return this.refuse(res.code, res.message, m.type, false);
        this.apply(room, res.effects);
      }
    }
  }

  private async hello(m: Extract<ClientMessage, { type: "hello" }>): Promise<void> {
    if (this.phase !== "hello") return this.refuse("bad_message", "hello was already sent", "hello");
    if (m.v !== PROTOCOL_VERSION) return this.fail("bad_version", `protocol version ${m.v} is not supported; this server speaks ${PROTOCOL_VERSION}`, CLOSE.badVersion);
    this.phase = "verifying";
    let room: LiveRoom | null;
    let verdict;
    if (m.token !== undefined) {
      const grant = await this.deps.meetings.verifyJoinToken(m.token);
      if (this.phase !== "verifying") return; // closed meanwhile
      if (!grant) return this.fail("bad_token", "the join token is invalid, expired or already used; open the meeting link again", CLOSE.badToken);
      room = this.deps.meetings.room(grant.meetingId);
      verdict = room.join(grant);
    } else {
      room = this.deps.meetings.roomByResume(m.resume!);
      if (!room) return this.fail("bad_token", "the resume secret is unknown or expired; join again", CLOSE.badToken);
      verdict = room.resume(m.resume!);
    }
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    if (verdict.outcome === "refused") {
      this.detached = true;
      this.send({ type: "ended", reason: verdict.reason, message: verdict.message });
      return this.close(CLOSE.normal, verdict.reason);
    }
    this.room = room;
    this.meetingId = room.meetingId;
    this.participantId = verdict.participantId;
    const replaced = this.deps.registry.add(this);
    if (replaced) (replaced as Connection).supersede();
    if (verdict.outcome === "waiting") {
      this.phase = "waiting";
      this.send({ type: "waiting", reason: verdict.reason });
      this.deps.log.info("participant waiting", { meeting: this.meetingId, participant: this.participantId });
    } else {
      this.enter(room, verdict.resume);
    }
    this.apply(room, verdict.effects);
  }

  /** supersede closes an older connection of a participant who came back on a new one. */
  private supersede(): void {
    this.detached = true;
    this.stopMedia();
    this.send({ type: "ended", reason: "replaced", message: "you joined from another connection" });
    this.close(CLOSE.normal, "replaced");
  }

  private enter(room: LiveRoom, resume: string): void {
    this.phase = "joined";
    const self = room.participant(this.participantId);
    if (!self) return this.fail("internal", "the meeting does not know this participant", CLOSE.internal);
    const isHost = self.role === "host" || self.role === "cohost";
    this.send({
      type: "welcome",
      self,
      meeting: room.info(),
      participants: room.participants().filter((p) => p.id !== this.participantId),
      waiting: isHost ? room.waiting() : [],
      resume,
    });
    this.deps.log.info("participant joined", { meeting: this.meetingId, participant: this.participantId });
    this.startMedia(room);
  }

  private startMedia(room: LiveRoom): void {
    const media = this.deps.media;
    media.closeSession(this.participantId); // a resumed seat gets fresh connections
    this.session = media.createSession(this.participantId, this.meetingId, {
      onSubOffer: (sdp, tracks) =>
        this.send({ type: "sub.offer", sdp, tracks: tracks.map((t) => ({ mid: t.mid, participantId: t.publisher, source: t.label as "mic" | "camera" | "screen" })) }),
      onError: (message) => this.send({ type: "error", code: "media_failed", message }),
    });
    for (const source of ["mic", "camera", "screen"] as const) media.setForwarding(this.participantId, source, room.forwarding(this.participantId, source));
  }

  private stopMedia(): void {
    if (!this.session) return;
    try {
      this.pushStats();
    } catch (e) {
      this.deps.log.warn("could not record connection statistics", { error: e as Error });
    }
    if (this.deps.media.session(this.participantId) === this.session) this.deps.media.closeSession(this.participantId);
    this.session = null;
  }

  private async pubOffer(room: LiveRoom, m: Extract<ClientMessage, { type: "pub.offer" }>): Promise<void> {
    if (!this.session || this.phase !== "joined") return;
    const labels = new Map<string, string>();
    let screenRefused = false;
    for (const t of m.tracks) {
      if (t.source === "screen" && !room.canShareScreen(this.participantId)) screenRefused = true;
      else labels.set(t.mid, t.source);
    }
    try {
      const { answer, refused } = await this.session.applyPubOffer(m.sdp, labels);
      // The answer first, then what of it is not forwarded.
      this.send({ type: "pub.answer", sdp: answer });
      if (screenRefused) this.refuse("not_allowed", "screen sharing is not allowed for you in this meeting; the screen track is not forwarded", m.type, false);
      for (const why of refused) this.refuse("media_failed", why, m.type, false);
    } catch (e) {
      this.refuse("media_failed", e instanceof MediaError ? e.message : "the offer could not be applied", m.type, false);
    }
  }

  private async chat(room: LiveRoom, text: string): Promise<void> {
    const self = room.participant(this.participantId);
    if (!self) return;
    const res = await this.deps.meetings.chat(this.meetingId, this.participantId, text);
    if ("error" in res) return this.refuse("not_allowed", res.error, "chat.send", false);
    this.deps.registry.broadcast(this.meetingId, { type: "chat", id: res.id, from: { id: self.id, name: self.name }, text, at: res.at });
  }

  private leave(room: LiveRoom): void {
    this.detached = true;
    this.stopMedia();
    this.deps.registry.remove(this);
    this.apply(room, room.leave(this.participantId));
    this.close(CLOSE.normal, "left");
  }

  private apply(room: LiveRoom, effects: readonly RoomEffect[]): void {
    this.deps.registry.apply(room, effects);
  }

  private takeToken(): boolean {
    const { ratePerSecond, burst } = this.deps.limits;
    const now = this.deps.clock.now();
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) / 1000) * ratePerSecond);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    // One error per second at most: a flood must not make the server send a flood.
    if (now - this.lastRateError >= 1000) {
      this.lastRateError = now;
      this.refuse("rate_limited", `too many messages; at most ${ratePerSecond} per second`);
    } else this.countBad();
    return false;
  }

  /** refuse sends an error and keeps the connection; protocol abuse (countAsBad) closes it after maxBadMessages. */
  private refuse(code: ErrorCode, message: string, ref?: string, countAsBad = true): void {
    this.send(ref === undefined ? { type: "error", code, message } : { type: "error", code, message, ref });
    if (countAsBad) this.countBad();
  }

  private countBad(): void {
    if (++this.bad >= this.deps.limits.maxBadMessages) this.fail("bad_message", `${this.bad} bad messages; closing`, CLOSE.policy);
  }

  private fail(code: ErrorCode, message: string, closeCode: number): void {
    if (this.phase === "closed") return;
    this.send({ type: "error", code, message });
    this.close(closeCode, code);
  }

  private internal(e: unknown, what: string): void {
    this.deps.log.error("signalling handler failed", { what, meeting: this.meetingId, participant: this.participantId, error: e as Error });
    this.send({ type: "error", code: "internal", message: "the server could not handle that message", ref: what });
  }

  private close(code: number, reason: string): void {
    if (this.phase === "closed") return;
    try {
      this.socket.close(code, reason);
    } catch {
      // already closing
    }
  }
}
