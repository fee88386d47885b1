// Paces the synthetic media of every publisher (30 fps video with keyframe bursts, 50 pps Opus,
// phases spread so frames do not all leave at once) and records what subscribers receive:
// per-packet latency (receive time − embedded send time, one clock) and counts for loss.

import type { PublisherPeer } from "./peers.ts";
import { buildAudioPacket, buildVideoPacket, stampPacket, tagAt, tagOffset, type AudioProfile, type VideoProfile, type VideoPacketKind } from "./synthetic.ts";
import { H264_PT, OPUS_PT } from "./synthetic.ts";

interface Stream {
  pub: PublisherPeer;
  kind: "audio" | "video";
  id: number;
  ssrc: number;
  seq: number;
  timestamp: number;
  counter: number;
  frame: number;
  nextMs: number;
  intervalMs: number;
  /** sent packets with their send time, kept only inside a measurement window */
  sent: number;
}

/** Traffic sends every publisher's media on a timer. */
export class Traffic {
  private readonly streams: Stream[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  /** skipped counts frames / audio packets never sent because the generator was more than 1 s behind. */
  skipped = 0;
  /** sendFailures counts packets a track refused (not open). */
  sendFailures = 0;
  /** counting is true inside a measurement window (sent packets are counted per stream). */
  private counting = false;

  constructor(
    private readonly video: VideoProfile,
    private readonly audio: AudioProfile,
  ) {}

  /** add starts pacing a publisher's audio and video (with a random phase). */
  add(pub: PublisherPeer): void {
    const now = performance.now();
    const frameMs = 1000 / this.video.fps;
    const audioMs = 1000 / this.audio.packetsPerSecond;
    const base = { pub, seq: Math.floor(Math.random() * 60000), timestamp: Math.floor(Math.random() * 2 ** 31), counter: 0, frame: 0, sent: 0 };
    this.streams.push({ ...base, kind: "video", id: pub.ids.videoStream, ssrc: pub.ids.videoSsrc, nextMs: now + Math.random() * frameMs, intervalMs: frameMs });
    this.streams.push({ ...base, kind: "audio", id: pub.ids.audioStream, ssrc: pub.ids.audioSsrc, nextMs: now + Math.random() * audioMs, intervalMs: audioMs });
  }

  /** start runs the pacing loop (every 2 ms, sending whatever is due). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), 2);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** beginWindow resets the per-stream sent counters and starts counting. */
  beginWindow(): void {
    for (const s of this.streams) s.sent = 0;
    this.counting = true;
  }

  /** endWindow stops counting and returns packets sent per stream id during the window. */
  endWindow(): Map<number, number> {
    this.counting = false;
    return new Map(this.streams.map((s) => [s.id, s.sent]));
  }

  private tick(): void {
    const now = performance.now();
    for (const s of this.streams) {
      // After a stall, send everything that fell due (the offered load stays the planned one,
      // only burstier); more than 1 s behind, skip ahead instead of flooding.
      if (now - s.nextMs > 1000) {
        this.skipped += Math.floor((now - s.nextMs) / s.intervalMs);
        s.nextMs = now;
      }
      while (s.nextMs <= now) {
        if (s.kind === "video") this.sendFrame(s);
        else this.sendAudio(s);
        s.nextMs += s.intervalMs;
      }
    }
  }

  private sendFrame(s: Stream): void {
    const v = this.video;
    const framesPerKey = Math.max(1, Math.round((v.keyframeIntervalMs / 1000) * v.fps));
    const keyframe = s.frame % framesPerKey === 0;
    const kinds: VideoPacketKind[] = [];
    if (keyframe) {
      kinds.push("stap");
      const n = Math.max(2, v.keyframePackets - 1);
      for (let i = 0; i < n; i++) kinds.push(i === 0 ? "fu-start" : i === n - 1 ? "fu-end" : "fu-middle");
    } else if (v.packetsPerFrame === 1) kinds.push("single");
    else for (let i = 0; i < v.packetsPerFrame; i++) kinds.push(i === 0 ? "fu-start" : i === v.packetsPerFrame - 1 ? "fu-end" : "fu-middle");
    kinds.forEach((kind, i) => {
      const pkt = buildVideoPacket(kind, keyframe, v.packetBytes, { payloadType: H264_PT, sequence: s.seq++, timestamp: s.timestamp, ssrc: s.ssrc, marker: i === kinds.length - 1 }, s.id, s.counter++);
      this.send(s, pkt);
    });
    s.timestamp = (s.timestamp + Math.round(90000 / v.fps)) >>> 0;
    s.frame++;
  }

  private sendAudio(s: Stream): void {
    const pkt = buildAudioPacket(this.audio.packetBytes, { payloadType: OPUS_PT, sequence: s.seq++, timestamp: s.timestamp, ssrc: s.ssrc, marker: false }, s.id, s.counter++);
    s.timestamp = (s.timestamp + Math.round(48000 / this.audio.packetsPerSecond)) >>> 0;
    this.send(s, pkt);
  }

  private send(s: Stream, pkt: Uint8Array): void {
    const track = s.kind === "video" ? s.pub.video : s.pub.audio;
    // node-datachannel aborts the process on a send to a track that is not open.
    if (!track.isOpen()) {
      this.sendFailures++;
      return;
    }
    stampPacket(pkt, tagOffset(pkt), performance.now());
    track.sendMessageBinary(Buffer.from(pkt.buffer, pkt.byteOffset, pkt.byteLength));
    if (this.counting) s.sent++;
  }
}

/** WindowResult is what the recorder saw for packets sent inside one measurement window. */
export interface WindowResult {
  /** packets received whose embedded send time lies in the window */
  received: number;
  latenciesMs: Float64Array;
}

/** Recorder collects receptions: total count always, and latency samples inside a window. */
export class Recorder {
  /** every tagged RTP packet received, ever */
  total = 0;
  /** packets without a readable tag (RTCP is not counted here) */
  untagged = 0;
  private windowStart = Number.POSITIVE_INFINITY;
  private windowEnd = Number.NEGATIVE_INFINITY;
  private lat = new Float64Array(1 << 20);
  private n = 0;

  /** scratch decodes the big-endian float64 send time without allocating (GC pauses would show up as latency). */
  private readonly scratch = new Float64Array(1);
  private readonly scratchBytes = new Uint8Array(this.scratch.buffer);

  /** sink is the callback subscribers call for each decrypted packet; it allocates nothing. */
  readonly sink = (packet: Uint8Array): void => {
    const now = performance.now();
    if (packet.length < 2 || (packet[1]! >= 192 && packet[1]! <= 223)) return; // RTCP
    const at = tagAt(packet);
    if (at < 0) {
      this.untagged++;
      return;
    }
    this.total++;
    const b = this.scratchBytes;
    for (let i = 0; i < 8; i++) b[i] = packet[at + 19 - i]!; // big-endian on the wire, little-endian here
    const sentMs = this.scratch[0]!;
    if (sentMs < this.windowStart || sentMs >= this.windowEnd) return;
    if (this.n === this.lat.length) {
      const bigger = new Float64Array(this.lat.length * 2);
      bigger.set(this.lat);
      this.lat = bigger;
    }
    this.lat[this.n++] = now - sentMs;
  };

  /** open starts recording packets sent from `startMs` (performance.now()) on. */
  open(startMs: number): void {
    this.n = 0;
    this.windowStart = startMs;
    this.windowEnd = Number.POSITIVE_INFINITY;
  }

  /** close stops accepting packets sent at or after `endMs`; packets sent before it still count until collect(). */
  close(endMs: number): void {
    this.windowEnd = endMs;
  }

  /** collect returns the window's figures and stops recording. */
  collect(): WindowResult {
    const result = { received: this.n, latenciesMs: this.lat.slice(0, this.n) };
    this.windowStart = Number.POSITIVE_INFINITY;
    this.windowEnd = Number.NEGATIVE_INFINITY;
    return result;
  }
}
