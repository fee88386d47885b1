// The media server: one UDP port (ICE UDP mux) for every peer, one Router, and groups of
// sessions in which everyone receives everyone else's published tracks. A group is just a name
// (the signalling layer uses the meeting id); media knows nothing of meetings, HTTP or storage.

import { randomInt } from "node:crypto";
import nodeDataChannel from "node-datachannel";
import type { Clock } from "../shared/clock.ts";
import { SpeakerTracker } from "./audio-level.ts";
import { MediaSession, type PublishedMedia, type SessionEvents, type SessionHost } from "./session.ts";
import { Router, type RouterStats } from "./sfu.ts";

/** MediaServerOptions configures the media server. */
export interface MediaServerOptions {
  /** The UDP port shared by all peers. */
  port: number;
  /** Local address to bind; empty or "0.0.0.0" binds every interface. */
  bindAddress?: string;
  /** Public addresses written into candidates instead of the bound one (1:1 NAT). */
  announcedAddresses?: readonly string[];
  clock: Clock;
  /** The loudest speaker of a group changed (null: nobody speaks). */
  onSpeaker?: (group: string, sessionId: string | null) => void;
  /** How often the loudest speaker is re-evaluated (default 400 ms). */
  speakerIntervalMs?: number;
}

interface Group {
  sessions: Map<string, MediaSession>;
  tracks: Map<string, PublishedMedia>;
  speakers: SpeakerTracker;
  speaker: string | null;
  silentSince: number;
}

/** MediaServer creates participants' media sessions and forwards between them. */
export class MediaServer implements SessionHost {
  readonly router: Router;
  readonly peerOptions: { bindAddress?: string; port: number; announcedAddresses?: readonly string[] };
  private readonly clock: Clock;
  private readonly groups = new Map<string, Group>();
  private readonly sessions = new Map<string, MediaSession>();
  private readonly ssrcs = new Set<number>();
  private readonly onSpeaker?: (group: string, sessionId: string | null) => void;
  private readonly speakerTimer: ReturnType<typeof setInterval> | null;
  private closed = false;

  constructor(opts: MediaServerOptions) {
    // Initialise libdatachannel's threads now: a peer connection made while they are still
    // starting can lose its ICE transport ("Got a remote candidate without ICE transport").
    nodeDataChannel.preload();
    this.clock = opts.clock;
    this.router = new Router({ clock: opts.clock });
    const bind = opts.bindAddress && opts.bindAddress !== "0.0.0.0" ? opts.bindAddress : undefined;
    this.peerOptions = { bindAddress: bind, port: opts.port, announcedAddresses: opts.announcedAddresses };
    this.onSpeaker = opts.onSpeaker;
    this.speakerTimer = opts.onSpeaker ? setInterval(() => this.evaluateSpeakers(), opts.speakerIntervalMs ?? 400) : null;
    this.speakerTimer?.unref?.();
  }

  /** createSession starts a participant's media in a group; it receives every track already published there. */
  createSession(id: string, group: string, events: SessionEvents): MediaSession {
    if (this.closed) throw new Error("media server closed");
    if (this.sessions.has(id)) throw new Error(`media session ${id} exists`);
    const s = new MediaSession(id, group, this, events);
    this.sessions.set(id, s);
    let g = this.groups.get(group);
    if (!g) {
      g = { sessions: new Map(), tracks: new Map(), speakers: new SpeakerTracker(), speaker: null, silentSince: 0 };
      this.groups.set(group, g);
    }
    g.sessions.set(id, s);
    for (const t of g.tracks.values()) s.attach(t);
    return s;
  }

  /** session finds a live session. */
  session(id: string): MediaSession | null {
    return this.sessions.get(id) ?? null;
  }

  /** closeSession stops a participant's media: its tracks leave everyone's sub connection. */
  closeSession(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    for (const upId of s.upIds()) this.unpublish(upId);
    this.sessions.delete(id);
    const g = this.groups.get(s.group);
    if (g) {
      g.sessions.delete(id);
      g.speakers.forget(id);
      if (g.sessions.size === 0) this.groups.delete(s.group);
    }
    this.router.removePeer(id);
    s.close();
  }

  /** setForwarding switches a participant's source on or off (and forgets its loudness when off). */
  setForwarding(id: string, label: string, on: boolean): void {
    const s = this.sessions.get(id);
    if (!s) return;
    s.setForwarding(label, on);
    if (!on) this.groups.get(s.group)?.speakers.forget(id);
  }

  /** publish registers an up-track and attaches it to the group's other sessions; null if its SSRC is taken. */
  publish(session: MediaSession, media: PublishedMedia): string | null {
    const res = this.router.addUpTrack({
      id: media.id,
      peerId: session.id,
      kind: media.kind,
      ssrcs: media.ssrcs,
      clockRate: media.kind === "video" ? 90000 : 48000,
      requestKeyframe: () => media.requestKeyframe(),
    });
    if (res !== "ok") return null;
    const g = this.groups.get(session.group);
    if (!g) return media.id;
    g.tracks.set(media.id, media);
    for (const other of g.sessions.values()) if (other !== session) other.attach(media);
    return media.id;
  }

  /** unpublish removes an up-track and frees its slot in every subscriber's sub connection. */
  unpublish(upId: string): void {
    this.router.removeUpTrack(upId);
    for (const g of this.groups.values()) {
      if (!g.tracks.delete(upId)) continue;
      for (const s of g.sessions.values()) s.detach(upId);
    }
  }

  /** allocateSsrc returns a server SSRC unique in this process. */
  allocateSsrc(): number {
    for (;;) {
      const s = randomInt(1, 0x7fffffff);
      if (!this.ssrcs.has(s)) {
        this.ssrcs.add(s);
        return s;
      }
    }
  }

  /** audioLevel records one audio packet's level for the active-speaker choice. */
  audioLevel(session: MediaSession, level: number): void {
    this.groups.get(session.group)?.speakers.push(session.id, level);
  }

  /** stats are the router's counters. */
  stats(): RouterStats {
    return this.router.stats;
  }

  /** close ends every session (call nodeDataChannel.cleanup() at process exit). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.speakerTimer) clearInterval(this.speakerTimer);
    for (const id of [...this.sessions.keys()]) this.closeSession(id);
  }

  private evaluateSpeakers(): void {
    const now = this.clock.now();
    for (const [name, g] of this.groups) {
      const loudest = g.speakers.loudest();
      if (loudest !== null) g.silentSince = now;
      // Keep the last speaker through short pauses; report silence after 2 s of it.
      const next = loudest ?? (now - g.silentSince > 2000 ? null : g.speaker);
      if (next !== g.speaker) {
        g.speaker = next;
        try {
          this.onSpeaker?.(name, next);
        } catch {
          // a listener's failure must not stop the timer
        }
      }
    }
  }
}

/** cleanupMedia releases libdatachannel's threads; call once at process exit. */
export function cleanupMedia(): void {
  nodeDataChannel.cleanup();
}
