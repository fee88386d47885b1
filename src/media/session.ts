// One participant's media: a "pub" connection that answers the browser's offers (mic, camera,
// optional screen; renegotiable) and a "sub" connection the server offers (one sendonly m=
// section per forwarded track, renegotiated when tracks come and go). Freed sub slots are reused
// for the next track of the same kind: libdatachannel cannot remove an m= section, and a slot
// keeps its mid and server SSRC for life. Everything is fed through the shared Router.

import { readAudioLevel } from "./audio-level.ts";
import { MediaPeer, type TrackHandle } from "./peer.ts";
import { buildPli } from "./rtcp-build.ts";
import { parseRtp } from "./rtp.ts";
import { AUDIO_LEVEL_URI, chooseCodec, isSending, parseSdpMedia } from "./sdp.ts";
import { SessionStats, type SessionStatsSummary } from "./session-stats.ts";
import type { Router } from "./sfu.ts";
import type { DownTrack, MediaKind } from "./tracks.ts";

/** PublishedMedia is an up-track as the server's groups know it. */
export interface PublishedMedia {
  id: string;
  publisher: string;
  label: string;
  kind: MediaKind;
  codec: "H264" | "VP8" | "opus";
  payloadType: number;
  ssrcs: number[];
  requestKeyframe(): void;
}

/** SubTrack names what one m= section of a sub offer carries. */
export interface SubTrack {
  mid: string;
  publisher: string;
  label: string;
}

/** SessionEvents is how a session talks back to its owner (the signalling layer). */
export interface SessionEvents {
  /** A new sub offer is ready; answer it with applySubAnswer. */
  onSubOffer(sdp: string, tracks: SubTrack[]): void;
  /** Trickled local candidates (the offers and answers already carry them; optional). */
  onCandidate?(pc: "pub" | "sub", candidate: string, mid: string): void;
  onState?(pc: "pub" | "sub", state: string): void;
  /** Something went wrong outside a request (a sub offer could not be made). */
  onError?(message: string): void;
}

/** SessionHost is what a session needs from its MediaServer. */
export interface SessionHost {
  readonly router: Router;
  readonly peerOptions: { bindAddress?: string; port: number; announcedAddresses?: readonly string[] };
  publish(session: MediaSession, media: PublishedMedia): string | null;
  unpublish(upId: string): void;
  allocateSsrc(): number;
  audioLevel(session: MediaSession, level: number): void;
}

/** MediaError is an offer or answer the server cannot use; its message says why. */
export class MediaError extends Error {}

interface Recv {
  mid: string;
  kind: MediaKind;
  codec: "H264" | "VP8" | "opus";
  payloadType: number;
  handle: TrackHandle;
  sending: boolean;
  upId: string | null;
  label: string | null;
  ssrcs: number[];
  levelId: number;
}

interface Slot {
  mid: string;
  kind: MediaKind;
  ssrc: number;
  handle: TrackHandle;
  down: DownTrack;
  payloadTypes: Map<number, number>;
  up: PublishedMedia | null;
}

const SUB_PT = { H264: 102, VP8: 96, opus: 111 } as const;

/** MediaSession is one participant's pub and sub connections. */
export class MediaSession {
  readonly id: string;
  readonly group: string;
  readonly stats = new SessionStats();
  private readonly host: SessionHost;
  private readonly events: SessionEvents;
  private readonly pub: MediaPeer;
  private sub: MediaPeer | null = null;
  private readonly recv = new Map<string, Recv>();
  private readonly bySsrc = new Map<number, Recv>();
  private readonly slots: Slot[] = [];
  private readonly off = new Set<string>();
  private offerInFlight = false;
  private offerDirty = false;
  private offerTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(id: string, group: string, host: SessionHost, events: SessionEvents) {
    this.id = id;
    this.group = group;
    this.host = host;
    this.events = events;
    this.pub = new MediaPeer({
      id,
      name: `${id}:pub`,
      ...host.peerOptions,
      sink: { handleRtp: (peerId, p) => this.onPubRtp(peerId, p), handleRtcp: (peerId, p) => host.router.handleRtcp(peerId, p) },
      onLocalCandidate: (c, mid) => events.onCandidate?.("pub", c, mid),
      onStateChange: (s) => events.onState?.("pub", s),
    });
  }

  /** applyPubOffer answers the browser's (re)offer; labels maps mid → source label of the tracks to forward. */
  async applyPubOffer(sdp: string, labels: ReadonlyMap<string, string>): Promise<{ answer: string; refused: string[] }> {
    if (this.closed) throw new MediaError("session closed");
    const sections = parseSdpMedia(sdp).filter((m) => m.kind === "audio" || m.kind === "video");
    for (const m of sections) if (!m.mid) throw new MediaError("every audio/video m= section needs an a=mid");
    for (const m of sections) {
      const existing = this.recv.get(m.mid);
      if (m.port === 0) continue;
      if (!existing && chooseCodec(m) === null) throw new MediaError(`m= section ${m.mid} offers no supported codec (Opus for audio, H.264 constrained baseline or VP8 for video)`);
    }
    // Stop forwarding what is gone or changed before applying, then apply, then publish what is new.
    for (const m of sections) {
      const r = this.recv.get(m.mid);
      if (!r) continue;
      const label = labels.get(m.mid) ?? null;
      const keep = m.port !== 0 && isSending(m) && r.label === label && sameSsrcs(r.ssrcs, m.ssrcs);
      if (!keep) this.unpublishRecv(r);
      if (m.port === 0) {
        r.handle.close();
        this.recv.delete(m.mid);
      } else if (isSending(m) !== r.sending) {
        r.sending = isSending(m);
        r.handle = this.pub.addRecvTrack({ mid: r.mid, kind: r.kind, codec: r.codec, payloadType: r.payloadType, inactive: !r.sending, extensions: levelExt(r.levelId) });
      }
    }
    for (const m of sections) {
      if (m.port === 0 || this.recv.has(m.mid)) continue;
      const c = chooseCodec(m)!;
      const levelId = m.kind === "audio" ? (m.extensions.get(AUDIO_LEVEL_URI) ?? 0) : 0;
      const spec = { mid: m.mid, kind: m.kind as MediaKind, codec: c.codec, payloadType: c.payloadType, fmtp: c.fmtp, inactive: !isSending(m), extensions: levelExt(levelId) };
      const handle = this.pub.addRecvTrack(spec);
      this.recv.set(m.mid, { mid: m.mid, kind: spec.kind, codec: c.codec, payloadType: c.payloadType, handle, sending: isSending(m), upId: null, label: null, ssrcs: [], levelId });
    }
    let answer: string;
    try {
      answer = await this.pub.applyOffer(sdp);
    } catch (e) {
      throw new MediaError(`the offer could not be applied: ${(e as Error).message}`);
    }
    const refused: string[] = [];
    for (const m of sections) {
      const r = this.recv.get(m.mid);
      const label = labels.get(m.mid);
      if (!r || !r.sending || !label || r.upId !== null) continue;
      if (m.ssrcs.length === 0) {
        refused.push(`${label}: the offer announces no SSRC (a=ssrc) for m= section ${m.mid}`);
        continue;
      }
      r.label = label;
      r.ssrcs = m.ssrcs.slice(0, 1);
      const handle = r.handle;
      const upId = this.host.publish(this, { id: `${this.id}/${label}`, publisher: this.id, label, kind: r.kind, codec: r.codec, payloadType: r.payloadType, ssrcs: r.ssrcs, requestKeyframe: () => void handle.requestKeyframe() });
      if (upId === null) {
        refused.push(`${label}: SSRC ${r.ssrcs[0]} is already in use by another participant; not forwarded`);
        r.ssrcs = [];
        continue;
      }
      r.upId = upId;
      for (const s of r.ssrcs) this.bySsrc.set(s, r);
    }
    return { answer, refused };
  }

  /** applySubAnswer applies the browser's answer to the last sub offer. */
  applySubAnswer(sdp: string): void {
    if (!this.sub || !this.offerInFlight) throw new MediaError("no sub offer is waiting for an answer");
    try {
      this.sub.applyAnswer(sdp);
    } catch (e) {
      throw new MediaError(`the answer could not be applied: ${(e as Error).message}`);
    } finally {
      this.offerInFlight = false;
    }
    for (const s of this.slots) if (s.up?.kind === "video") this.requestKeyframeFor(s);
    if (this.offerDirty) this.scheduleOffer();
  }

  /** addRemoteCandidate adds a trickled browser candidate (an empty one ends the list); false if it was refused. */
  addRemoteCandidate(pc: "pub" | "sub", candidate: string, mid: string): boolean {
    const peer = pc === "pub" ? this.pub : this.sub;
    if (!peer || candidate === "") return peer !== null;
    try {
      peer.addRemoteCandidate(candidate, mid);
      return true;
    } catch {
      return false;
    }
  }

  /** setForwarding switches forwarding of one source label on or off (mute enforcement). */
  setForwarding(label: string, on: boolean): void {
    if (on) this.off.delete(label);
    else this.off.add(label);
  }

  /** forwarding tells whether a label is forwarded. */
  forwarding(label: string): boolean {
    return !this.off.has(label);
  }

  /** publishedLabels lists the labels this session forwards now. */
  publishedLabels(): string[] {
    return [...this.recv.values()].flatMap((r) => (r.upId && r.label ? [r.label] : []));
  }

  /** forwardedTracks lists the sub slots in use. */
  forwardedTracks(): SubTrack[] {
    return this.slots.flatMap((s) => (s.up ? [{ mid: s.mid, publisher: s.up.publisher, label: s.up.label }] : []));
  }

  /** summary is this participant's connection statistics. */
  summary(): SessionStatsSummary {
    return this.stats.summary(this.sub?.rtt() ?? this.pub.rtt());
  }

  /** attach starts forwarding a published track to this session (a free slot of its kind, or a new one). */
  attach(up: PublishedMedia): void {
    if (this.closed || this.slots.some((s) => s.up?.id === up.id)) return;
    const sub = this.ensureSub();
    let slot = this.slots.find((s) => s.up === null && s.kind === up.kind);
    if (!slot) {
      const mid = String(this.slots.length);
      const ssrc = this.host.allocateSsrc();
      const payloadTypes = new Map<number, number>();
      const handle = sub.addSendTrack({
        mid,
        kind: up.kind,
        codec: up.kind === "audio" ? "opus" : "H264",
        payloadType: up.kind === "audio" ? SUB_PT.opus : SUB_PT.H264,
        alternatives: up.kind === "video" ? [{ codec: "VP8", payloadType: SUB_PT.VP8 }] : [],
        ssrc,
        cname: "conclave",
        msid: `conclave-${mid}`,
      });
      const stats = this.stats;
      const down: DownTrack = {
        id: `${this.id}/sub/${mid}`,
        peerId: this.id,
        ssrc,
        payloadTypes,
        send: (p) => {
          if (handle.send(p)) stats.outbound(p.byteLength);
        },
      };
      slot = { mid, kind: up.kind, ssrc, handle, down, payloadTypes, up: null };
      this.slots.push(slot);
      const s = slot;
      handle.onOpen(() => this.requestKeyframeFor(s));
    }
    slot.payloadTypes.clear();
    slot.payloadTypes.set(up.payloadType, SUB_PT[up.codec]);
    slot.up = up;
    this.host.router.subscribe(slot.down, up.id);
    this.scheduleOffer();
  }

  /** detach stops forwarding a track (its publisher left or stopped it); the slot is freed for reuse. */
  detach(upId: string): void {
    const slot = this.slots.find((s) => s.up?.id === upId);
    if (!slot) return;
    slot.up = null;
    this.scheduleOffer();
  }

  /** close ends both connections; the owner (MediaServer.closeSession) unpublishes first. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.offerTimer) clearTimeout(this.offerTimer);
    this.pub.close();
    this.sub?.close();
  }

  /** upIds lists this session's published up-track ids. */
  upIds(): string[] {
    return [...this.recv.values()].flatMap((r) => (r.upId ? [r.upId] : []));
  }

  private unpublishRecv(r: Recv): void {
    if (r.upId) this.host.unpublish(r.upId);
    for (const s of r.ssrcs) {
      this.bySsrc.delete(s);
      this.stats.forget(s);
    }
    r.upId = null;
    r.label = null;
    r.ssrcs = [];
  }

  private onPubRtp(peerId: string, p: Uint8Array): void {
    if (p.length >= 12) {
      const ssrc = ((p[8]! << 24) | (p[9]! << 16) | (p[10]! << 8) | p[11]!) >>> 0;
      const r = this.bySsrc.get(ssrc);
      if (r) {
        this.stats.inbound(ssrc, (p[2]! << 8) | p[3]!, p.byteLength);
        if (r.label !== null && this.off.has(r.label)) {
          this.stats.droppedOff++;
          return;
        }
        if (r.levelId > 0) {
          const h = parseRtp(p);
          const level = h ? readAudioLevel(p, h, r.levelId) : null;
          if (level !== null) this.host.audioLevel(this, level);
        }
      }
    }
    this.host.router.handleRtp(peerId, p);
  }

  private onSubRtcp(peerId: string, p: Uint8Array): void {
    this.stats.feedback(p, (ssrc) => this.slots.some((s) => s.ssrc === ssrc));
    this.host.router.handleRtcp(peerId, p);
  }

  private ensureSub(): MediaPeer {
    if (this.sub) return this.sub;
    this.sub = new MediaPeer({
      id: this.id,
      name: `${this.id}:sub`,
      ...this.host.peerOptions,
      sink: { handleRtp: () => undefined, handleRtcp: (peerId, p) => this.onSubRtcp(peerId, p) },
      onLocalCandidate: (c, mid) => this.events.onCandidate?.("sub", c, mid),
      onStateChange: (s) => this.events.onState?.("sub", s),
    });
    return this.sub;
  }

  private requestKeyframeFor(s: Slot): void {
    if (!s.up || s.kind !== "video") return;
    // Through the router (rate-limited per up-track) and straight to the publisher: a request
    // coalesced away right after subscribe would otherwise leave a new subscriber without a keyframe.
    this.host.router.handleRtcp(this.id, buildPli(0, s.ssrc));
    s.up.requestKeyframe();
  }

  // Offers are batched (changes in one tick make one offer) and serialised (one outstanding).
  private scheduleOffer(): void {
    if (this.closed || !this.sub) return;
    if (this.offerInFlight) {
      this.offerDirty = true;
      return;
    }
    if (this.offerTimer) return;
    this.offerTimer = setTimeout(() => {
      this.offerTimer = null;
      void this.sendOffer();
    }, 0);
  }

  private async sendOffer(): Promise<void> {
    if (this.closed || !this.sub) return;
    this.offerInFlight = true;
    this.offerDirty = false;
    try {
      const sdp = await this.sub.createOffer();
      if (!this.closed) this.events.onSubOffer(sdp, this.forwardedTracks());
    } catch (e) {
      this.offerInFlight = false;
      if (!this.closed) this.events.onError?.(`could not make a media offer: ${(e as Error).message}`);
    }
  }
}

function sameSsrcs(a: readonly number[], b: readonly number[]): boolean {
  return a.length > 0 && a[0] === b[0];
}

function levelExt(id: number): Map<string, number> | undefined {
  return id > 0 ? new Map([[AUDIO_LEVEL_URI, id]]) : undefined;
}
