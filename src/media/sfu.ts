// The forwarding core: RTP from a publisher's up-track to every subscribed down-track, with
// SSRC / sequence / timestamp rewriting; keyframe requests relayed upstream (rate-limited);
// NACKs answered from a per-down-track packet cache. Transports call handleRtp / handleRtcp
// with the id of the peer the bytes came from, so a peer can only ever speak for SSRCs it
// announced itself (SSRC spoofing is dropped and counted).

import type { Clock } from "../shared/clock.ts";
import { PacketCache, type PacketCacheOptions } from "./packet-cache.ts";
import { parseRtcp } from "./rtcp.ts";
import { parseRtp, writeRtpFields } from "./rtp.ts";
import { SequenceRewriter } from "./sequence-rewriter.ts";
import type { DownTrack, UpTrack } from "./tracks.ts";

/** RouterOptions tunes the router; only the clock is required. */
export interface RouterOptions {
  clock: Clock;
  /** Minimum time between keyframe requests sent to one up-track (default 500 ms). */
  keyframeIntervalMs?: number;
  /** Retransmission cache per video down-track (default 256 packets / 384 KiB, about a second of 720p). */
  cache?: PacketCacheOptions;
  /**
   * Retransmission cache per audio down-track; default none: browsers negotiate no NACK for
   * Opus, and a cache per subscriber per audio track was most of the server's memory.
   */
  audioCache?: PacketCacheOptions | null;
  /** Most retransmissions answered for one NACK packet (default 256). */
  maxNackPerPacket?: number;
}

/** RouterStats counts what the router did and what it refused. */
export interface RouterStats {
  forwarded: number;
  malformed: number;
  /** RTP whose SSRC was announced by another peer (or by nobody). */
  spoofed: number;
  /** Feedback naming a down-track SSRC of another peer (or of nobody). */
  foreignFeedback: number;
  /** Packets the sequence rewriter refused (duplicates, too old). */
  rewriterDrops: number;
  keyframeRequests: number;
  keyframeRequestsCoalesced: number;
  retransmitted: number;
  nackMisses: number;
  sendErrors: number;
}

/** AddUpTrackResult says whether an up-track was accepted. */
export type AddUpTrackResult = "ok" | "duplicate_id" | "ssrc_taken";

/** SubscribeResult says whether a subscription was made. */
export type SubscribeResult = "ok" | "no_such_track" | "kind_mismatch" | "ssrc_taken";

interface Down {
  track: DownTrack;
  /** Fixed by the first subscription: a down-track never changes kind (nor clock rate). */
  kind: UpTrack["kind"];
  up: UpTrack | null;
  selectedSsrc: number | null;
  rewriter: SequenceRewriter | null;
  /** null: this down-track keeps nothing for retransmission (audio by default). */
  cache: PacketCache | null;
}

/** Router forwards media between up-tracks and down-tracks; one per media server process or per room. */
export class Router {
  private readonly clock: Clock;
  private readonly keyframeIntervalMs: number;
  private readonly cacheOptions: PacketCacheOptions;
  private readonly audioCacheOptions: PacketCacheOptions | null;
  private readonly maxNack: number;
  private readonly ups = new Map<string, UpTrack>();
  private readonly upBySsrc = new Map<number, UpTrack>();
  private readonly downs = new Map<string, Down>();
  private readonly downBySsrc = new Map<number, Down>();
  private readonly subscribers = new Map<string, Set<Down>>();
  private readonly lastKeyframeRequest = new Map<string, number>();
  /** Counters since the router was built. */
  readonly stats: RouterStats = {
    forwarded: 0,
    malformed: 0,
    spoofed: 0,
    foreignFeedback: 0,
    rewriterDrops: 0,
    keyframeRequests: 0,
    keyframeRequestsCoalesced: 0,
    retransmitted: 0,
    nackMisses: 0,
    sendErrors: 0,
  };

  constructor(opts: RouterOptions) {
    this.clock = opts.clock;
    this.keyframeIntervalMs = opts.keyframeIntervalMs ?? 500;
    this.cacheOptions = opts.cache ?? { maxPackets: 256, maxBytes: 384 * 1024 };
    this.audioCacheOptions = opts.audioCache ?? null;
    this.maxNack = opts.maxNackPerPacket ?? 256;
  }

  /** addUpTrack registers a published track and binds its SSRCs to its publisher. */
  addUpTrack(up: UpTrack): AddUpTrackResult {
    if (this.ups.has(up.id)) return "duplicate_id";
    if (up.ssrcs.some((s) => this.upBySsrc.has(s >>> 0))) return "ssrc_taken";
    this.ups.set(up.id, up);
    for (const s of up.ssrcs) this.upBySsrc.set(s >>> 0, up);
    this.subscribers.set(up.id, new Set());
    return "ok";
  }

  /** removeUpTrack unregisters a track; its subscribers stay, waiting to be moved to another source. */
  removeUpTrack(upId: string): void {
    const up = this.ups.get(upId);
    if (!up) return;
    this.ups.delete(upId);
    for (const s of up.ssrcs) if (this.upBySsrc.get(s >>> 0) === up) this.upBySsrc.delete(s >>> 0);
    for (const d of this.subscribers.get(upId) ?? []) {
      d.up = null;
      d.selectedSsrc = null;
    }
    this.subscribers.delete(upId);
    this.lastKeyframeRequest.delete(upId);
  }

  /** subscribe feeds a down-track from an up-track; for an existing down-track it switches source and keeps its sequence continuous. */
  subscribe(track: DownTrack, upId: string): SubscribeResult {
    const up = this.ups.get(upId);
    if (!up) return "no_such_track";
    let d = this.downs.get(track.id);
    if (d && d.kind !== up.kind) return "kind_mismatch";
    if (!d) {
      if (this.downBySsrc.has(track.ssrc >>> 0)) return "ssrc_taken";
      d = { track, kind: up.kind, up: null, selectedSsrc: null, rewriter: null, cache: this.newCache(up.kind) };
      this.downs.set(track.id, d);
      this.downBySsrc.set(track.ssrc >>> 0, d);
    }
    if (d.up) this.subscribers.get(d.up.id)?.delete(d);
    d.up = up;
    d.selectedSsrc = up.ssrcs[0] ?? null;
    // Clock rate is fixed per kind, so a rewriter survives a source switch.
    d.rewriter ??= new SequenceRewriter({ clockRate: up.clockRate, clock: this.clock });
    this.subscribers.get(up.id)!.add(d);
    if (up.kind === "video" && d.selectedSsrc !== null) this.requestKeyframe(up, d.selectedSsrc);
    return "ok";
  }

  /** selectSsrc picks which of the up-track's SSRCs (simulcast layer) a down-track receives; false if not one of them. */
  selectSsrc(downId: string, ssrc: number): boolean {
    const d = this.downs.get(downId);
    if (!d?.up || !d.up.ssrcs.includes(ssrc)) return false;
    if (d.selectedSsrc !== ssrc) {
      d.selectedSsrc = ssrc;
      if (d.up.kind === "video") this.requestKeyframe(d.up, ssrc);
    }
    return true;
  }

  /** unsubscribe removes a down-track entirely. */
  unsubscribe(downId: string): void {
    const d = this.downs.get(downId);
    if (!d) return;
    if (d.up) this.subscribers.get(d.up.id)?.delete(d);
    this.downs.delete(downId);
    if (this.downBySsrc.get(d.track.ssrc >>> 0) === d) this.downBySsrc.delete(d.track.ssrc >>> 0);
  }

  /** removePeer drops every up-track and down-track belonging to a peer. */
  removePeer(peerId: string): void {
    for (const up of [...this.ups.values()]) if (up.peerId === peerId) this.removeUpTrack(up.id);
    for (const d of [...this.downs.values()]) if (d.track.peerId === peerId) this.unsubscribe(d.track.id);
  }

  /** handleRtp forwards one RTP packet received from a peer; malformed or spoofed packets are dropped and counted. */
  handleRtp(peerId: string, packet: Uint8Array): void {
    const h = parseRtp(packet);
    if (h === null) {
      this.stats.malformed++;
      return;
    }
    const up = this.upBySsrc.get(h.ssrc);
    if (!up || up.peerId !== peerId) {
      this.stats.spoofed++;
      return;
    }
    for (const d of this.subscribers.get(up.id) ?? []) {
      if (d.selectedSsrc !== h.ssrc || !d.rewriter) continue;
      const r = d.rewriter.push(h.ssrc, h.sequence, h.timestamp);
      if (r === null) {
        this.stats.rewriterDrops++;
        continue;
      }
      const out = packet.slice();
      writeRtpFields(out, { ssrc: d.track.ssrc, sequence: r.sequence, timestamp: r.timestamp, payloadType: d.track.payloadTypes?.get(h.payloadType) });
      d.cache?.put(d.track.ssrc, r.sequence, out);
      if (this.send(d, out)) this.stats.forwarded++;
    }
  }

  /** handleRtcp acts on feedback from a subscriber (PLI, FIR, NACK) about its own down-tracks; other RTCP is ignored. */
  handleRtcp(peerId: string, packet: Uint8Array): void {
    const parts = parseRtcp(packet);
    if (parts === null) {
      this.stats.malformed++;
      return;
    }
    for (const p of parts) {
      if (p.kind === "pli") this.onKeyframeFeedback(peerId, p.mediaSsrc);
      else if (p.kind === "fir") for (const e of p.entries) this.onKeyframeFeedback(peerId, e.ssrc);
      else if (p.kind === "nack") this.onNack(peerId, p.mediaSsrc, p.lost);
    }
  }

  private newCache(kind: UpTrack["kind"]): PacketCache | null {
    const opts = kind === "audio" ? this.audioCacheOptions : this.cacheOptions;
    return opts ? new PacketCache(opts) : null;
  }

  private ownDown(peerId: string, ssrc: number): Down | null {
    const d = this.downBySsrc.get(ssrc);
    if (!d || d.track.peerId !== peerId) {
      this.stats.foreignFeedback++;
      return null;
    }
    return d;
  }

  private onKeyframeFeedback(peerId: string, ssrc: number): void {
    const d = this.ownDown(peerId, ssrc);
    if (d?.up && d.selectedSsrc !== null) this.requestKeyframe(d.up, d.selectedSsrc);
  }

  private onNack(peerId: string, ssrc: number, lost: number[]): void {
    const d = this.ownDown(peerId, ssrc);
    if (!d) return;
    for (const seq of lost.slice(0, this.maxNack)) {
      const pkt = d.cache?.get(d.track.ssrc, seq) ?? null;
      if (pkt === null) this.stats.nackMisses++;
      else if (this.send(d, pkt)) this.stats.retransmitted++;
    }
  }

  // At most one request per up-track per keyframeIntervalMs: a PLI storm from many subscribers
  // (or one hostile one) reaches the publisher as a single request.
  private requestKeyframe(up: UpTrack, ssrc: number): void {
    const now = this.clock.now();
    const last = this.lastKeyframeRequest.get(up.id);
    if (last !== undefined && now - last < this.keyframeIntervalMs) {
      this.stats.keyframeRequestsCoalesced++;
      return;
    }
    this.lastKeyframeRequest.set(up.id, now);
    this.stats.keyframeRequests++;
    try {
      up.requestKeyframe(ssrc);
    } catch {
      this.stats.sendErrors++;
    }
  }

  private send(d: Down, packet: Uint8Array): boolean {
    try {
      d.track.send(packet);
      return true;
    } catch {
      this.stats.sendErrors++;
      return false;
    }
  }
}
