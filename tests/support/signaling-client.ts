// A node-datachannel "browser" for Conclave's meeting signalling (src/signaling/PROTOCOL.md):
// it joins over the WebSocket, publishes synthetic Opus + H.264 RTP through real DTLS-SRTP on
// the "pub" connection, answers the server's "sub" offers, and hands every forwarded RTP packet
// to a callback with the track it belongs to. Used by the signalling tests and the benchmark
// (scripts/bench/). Keep this API stable:
//
//   const c = await SignalingClient.connect(url, token, { origin });   // resolves on welcome or waiting
//   await c.publish({ mic: true, camera: true });                     // pub.offer → pub.answer → connected
//   c.onRtp((track, packet, receivedAt) => …);                         // every forwarded RTP packet
//   c.sendRtp("camera", payload, { marker: true });                    // one synthetic packet
//   const stop = c.startSynthetic({ videoFps: 30 });                  // steady synthetic media
//   c.send({ type: "chat.send", text: "hi" }); await c.waitFor("chat");
//   c.close();                                                         // leave + close everything
//
// In a script, call nodeDataChannel.cleanup() once at exit (else it waits ~2 s). Never in a
// test file: bun test runs all files in one process, and peer connections made after cleanup()
// (by a later file) segfault Bun.

import nodeDataChannel from "node-datachannel";
import { PROTOCOL_VERSION, type ClientMessage, type ForwardedTrack, type ServerMessage, type TrackSource } from "../../src/shared/signaling.ts";

const { PeerConnection, Video, Audio, RtcpReceivingSession } = nodeDataChannel;
nodeDataChannel.preload(); // start libdatachannel's threads before the first peer connection
type Pc = InstanceType<typeof PeerConnection>;
type Track = ReturnType<Pc["addTrack"]>;

/** AUDIO_LEVEL_EXT_ID is the header extension id the client offers for RFC 6464 audio levels. */
export const AUDIO_LEVEL_EXT_ID = 1;
/** Payload types the client offers. */
export const CLIENT_PT = { opus: 111, H264: 102, VP8: 96 } as const;

/** ConnectOptions tunes a client. */
export interface ConnectOptions {
  /** Origin header for the upgrade (default: the URL's own origin, as a browser on that page sends). */
  origin?: string;
  /** Resume a seat instead of joining with a token. */
  resume?: string;
  /** Local address for ICE (default 127.0.0.1). */
  bindAddress?: string;
  /** Resolve connect() on welcome only (default: welcome or waiting). */
  untilWelcome?: boolean;
  /** Milliseconds to wait for welcome/waiting (default 10 000). */
  timeoutMs?: number;
}

/** RtpListener receives a forwarded packet, the sub track it came on (null if unknown) and when it arrived (performance.now()). */
export type RtpListener = (track: ForwardedTrack | null, packet: Uint8Array, receivedAt: number) => void;

interface Published {
  track: Track;
  ssrc: number;
  pt: number;
  seq: number;
  ts: number;
}

/** SignalingClient is one simulated participant. */
export class SignalingClient {
  readonly messages: ServerMessage[] = [];
  /** The welcome message, once admitted. */
  welcome: Extract<ServerMessage, { type: "welcome" }> | null = null;
  closeCode: number | null = null;
  closeReason = "";
  /** SSRCs this client announces per source (tests may spoof with them). */
  readonly ssrcs: Record<TrackSource, number> = { mic: 0, camera: 0, screen: 0 };
  private readonly ws: WebSocket;
  private readonly bind: string;
  private pub: Pc | null = null;
  private sub: Pc | null = null;
  private readonly published = new Map<TrackSource, Published>();
  private subTracks = new Map<string, ForwardedTrack>();
  private readonly listeners: RtpListener[] = [];
  private readonly waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  private closedWaiters: (() => void)[] = [];
  private subQueue: Promise<void> = Promise.resolve();
  private readonly keep: Track[] = [];

  private constructor(ws: WebSocket, bind: string) {
    this.ws = ws;
    this.bind = bind;
    ws.onmessage = (ev) => this.onMessage(String(ev.data));
    ws.onclose = (ev) => {
      this.closeCode = ev.code;
      this.closeReason = ev.reason;
      for (const w of this.closedWaiters.splice(0)) w();
    };
  }

  /** open opens the WebSocket without saying hello (for protocol tests). */
  static open(url: string, opts: ConnectOptions = {}): Promise<SignalingClient> {
    const origin = opts.origin ?? new URL(url.replace(/^ws/, "http")).origin;
    // Bun's WebSocket accepts headers and TLS options (the test server's certificate is self-signed).
    const ws = new WebSocket(url, { headers: { Origin: origin }, tls: { rejectUnauthorized: false } } as unknown as string[]);
    const c = new SignalingClient(ws, opts.bindAddress ?? "127.0.0.1");
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(c);
      ws.onerror = () => reject(new Error(`WebSocket to ${url} failed`));
    });
  }

  /** connect opens the socket and says hello with a join token (or opts.resume); resolves on welcome (or waiting). */
  static async connect(url: string, token: string | null, opts: ConnectOptions = {}): Promise<SignalingClient> {
    const c = await SignalingClient.open(url, opts);
    c.send(opts.resume ? { type: "hello", v: PROTOCOL_VERSION, resume: opts.resume } : { type: "hello", v: PROTOCOL_VERSION, token: token ?? "" });
    const first = await c.waitFor((m) => m.type === "welcome" || (!opts.untilWelcome && m.type === "waiting") || m.type === "ended" || m.type === "error", opts.timeoutMs ?? 10_000);
    if (first.type === "error" || first.type === "ended") throw new Error(`join refused: ${JSON.stringify(first)}`);
    return c;
  }

  /** send sends one message (or raw text) on the socket. */
  send(m: ClientMessage | string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof m === "string" ? m : JSON.stringify(m));
  }

  /** waitFor resolves with the first message (already received or future) matching a type or predicate. */
  waitFor<T extends ServerMessage["type"]>(what: T | ((m: ServerMessage) => boolean), timeoutMs = 10_000): Promise<Extract<ServerMessage, { type: T }>> {
    const match = typeof what === "string" ? (m: ServerMessage) => m.type === what : what;
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen as Extract<ServerMessage, { type: T }>);
    return this.waitNext(match, timeoutMs) as Promise<Extract<ServerMessage, { type: T }>>;
  }

  /** waitNext resolves with the next future message matching a predicate. */
  waitNext(match: (m: ServerMessage) => boolean, timeoutMs = 10_000): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const w = { match, resolve: (m: ServerMessage) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out waiting for a message; got ${this.messages.map((m) => m.type).join(", ")}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** closed resolves when the server closed the socket (with closeCode set). */
  closed(timeoutMs = 10_000): Promise<number> {
    if (this.closeCode !== null) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("socket still open")), timeoutMs);
      this.closedWaiters.push(() => (clearTimeout(timer), resolve(this.closeCode!)));
    });
  }

  /** publish offers the chosen sources on the pub connection, declares them on with media.state (unless keepState), and resolves once media can flow. */
  async publish(sources: { mic?: boolean; camera?: boolean; screen?: boolean; videoCodec?: "H264" | "VP8"; keepState?: boolean } = { mic: true, camera: true }): Promise<void> {
    if (!this.pub) this.pub = new PeerConnection(`pub-${Math.random()}`, { iceServers: [], bindAddress: this.bind });
    const pc = this.pub;
    const tracks: { mid: string; source: TrackSource }[] = [];
    const want: TrackSource[] = (["mic", "camera", "screen"] as const).filter((s) => sources[s]);
    for (const source of want) {
      const mid = String(["mic", "camera", "screen"].indexOf(source));
      tracks.push({ mid, source });
      if (this.published.has(source)) continue;
      const ssrc = (Math.random() * 0xfffffff0 + 1) >>> 0;
      let media: InstanceType<typeof Video> | InstanceType<typeof Audio>;
      let pt: number;
      if (source === "mic") {
        const a = new Audio(mid, "SendOnly");
        a.addOpusCodec(CLIENT_PT.opus);
        a.parseSdpLine(`a=extmap:${AUDIO_LEVEL_EXT_ID} urn:ietf:params:rtp-hdrext:ssrc-audio-level`);
        media = a;
        pt = CLIENT_PT.opus;
      } else {
        const v = new Video(mid, "SendOnly");
        if (sources.videoCodec === "VP8") {
          v.addVP8Codec(CLIENT_PT.VP8);
          pt = CLIENT_PT.VP8;
        } else {
          v.addH264Codec(CLIENT_PT.H264, "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1");
          pt = CLIENT_PT.H264;
        }
        media = v;
      }
      media.addSSRC(ssrc, "client", "client-stream", `${source}-track`);
      const track = pc.addTrack(media);
      track.onMessage(() => undefined); // RTCP from the server (RR, PLI)
      this.published.set(source, { track, ssrc, pt, seq: Math.floor(Math.random() * 60000), ts: Math.floor(Math.random() * 1e9) });
      this.ssrcs[source] = ssrc;
    }
    for (const [source, p] of this.published) {
      if (want.includes(source)) continue;
      // Stop: the same mid answered as inactive (a browser stops the transceiver; libdatachannel redescribes).
      const mid = String(["mic", "camera", "screen"].indexOf(source));
      const v = source === "mic" ? new Audio(mid, "Inactive") : new Video(mid, "Inactive");
      if (source === "mic") (v as InstanceType<typeof Audio>).addOpusCodec(CLIENT_PT.opus);
      else (v as InstanceType<typeof Video>).addH264Codec(CLIENT_PT.H264);
      pc.addTrack(v);
      p.track = p.track; // the old handle stays; sendRtp checks the source is published
      this.published.delete(source);
    }
    const offer = await gatherOffer(pc);
    const answerWait = this.waitNext((m) => m.type === "pub.answer" || (m.type === "error" && m.ref === "pub.offer" && m.code === "media_failed"));
    this.send({ type: "pub.offer", sdp: offer, tracks });
    const answer = await answerWait;
    if (answer.type !== "pub.answer") throw new Error(`pub.offer refused: ${JSON.stringify(answer)}`);
    pc.setRemoteDescription(answer.sdp, "answer");
    // The server forwards only the sources a participant declares on (PROTOCOL.md, media.state).
    if (!sources.keepState) this.send({ type: "media.state", mic: !!sources.mic, camera: !!sources.camera, screen: !!sources.screen });
    await until("pub tracks open", () => [...this.published.values()].every((p) => p.track.isOpen()), 10_000);
  }

  /** sendRtp sends one RTP packet on a published source (own SSRC unless ssrc is given); false if not open. */
  sendRtp(source: TrackSource, payload: Uint8Array, opts: { marker?: boolean; ssrc?: number; audioLevel?: number; timestampStep?: number } = {}): boolean {
    const p = this.published.get(source);
    if (!p || !p.track.isOpen()) return false;
    p.seq = (p.seq + 1) & 0xffff;
    p.ts = (p.ts + (opts.timestampStep ?? (source === "mic" ? 960 : 3000))) >>> 0;
    const ext = opts.audioLevel !== undefined ? 8 : 0;
    const b = Buffer.alloc(12 + ext + payload.length);
    b[0] = 0x80 | (ext ? 0x10 : 0);
    b[1] = (opts.marker ? 0x80 : 0) | p.pt;
    b.writeUInt16BE(p.seq, 2);
    b.writeUInt32BE(p.ts, 4);
    b.writeUInt32BE(opts.ssrc ?? p.ssrc, 8);
    if (ext) {
      b.writeUInt16BE(0xbede, 12);
      b.writeUInt16BE(1, 14);
      b[16] = (AUDIO_LEVEL_EXT_ID << 4) | 0; // one byte of data
      b[17] = 0x80 | (opts.audioLevel! & 0x7f);
    }
    b.set(payload, 12 + ext);
    return p.track.sendMessageBinary(b);
  }

  /** startSynthetic sends Opus-sized audio every 20 ms and H.264-like video frames; each payload starts with a type byte then the send time (float64 ms, performance.timeOrigin + now). Returns stop(). */
  startSynthetic(opts: { videoFps?: number; videoPacketsPerFrame?: number; videoPayloadBytes?: number; audioLevel?: number } = {}): () => void {
    const stamp = (first: number, size: number): Uint8Array => {
      const b = new Uint8Array(Math.max(9, size));
      b[0] = first;
      new DataView(b.buffer).setFloat64(1, performance.timeOrigin + performance.now());
      return b;
    };
    const audio = setInterval(() => this.sendRtp("mic", stamp(0xfc, 80), { audioLevel: opts.audioLevel ?? 30 }), 20);
    let frame = 0;
    const video = setInterval(
      () => {
        const n = opts.videoPacketsPerFrame ?? 3;
        // NAL type 5 (IDR) every 30th frame, else 1: enough for an SFU, which never decodes.
        const nal = frame++ % 30 === 0 ? 0x65 : 0x41;
        for (let i = 0; i < n; i++) this.sendRtp("camera", stamp(nal, opts.videoPayloadBytes ?? 1000), { marker: i === n - 1, timestampStep: i === 0 ? 3000 : 0 });
      },
      1000 / (opts.videoFps ?? 30),
    );
    return () => {
      clearInterval(audio);
      clearInterval(video);
    };
  }

  /** onRtp registers a listener for every forwarded RTP packet. */
  onRtp(cb: RtpListener): void {
    this.listeners.push(cb);
  }

  /** forwardedTracks is the track list of the last applied sub offer. */
  forwardedTracks(): ForwardedTrack[] {
    return [...this.subTracks.values()];
  }

  /** close says leave (unless skipLeave, to simulate a dropped network) and closes socket and connections. */
  close(opts: { skipLeave?: boolean } = {}): void {
    if (!opts.skipLeave) this.send({ type: "leave" });
    try {
      this.ws.close();
    } catch {
      // already closed
    }
    this.pub?.close();
    this.sub?.close();
    this.pub = null;
    this.sub = null;
  }

  private onMessage(text: string): void {
    let m: ServerMessage;
    try {
      m = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    this.messages.push(m);
    if (m.type === "welcome") this.welcome = m;
    if (m.type === "sub.offer") this.subQueue = this.subQueue.then(() => this.answerSub(m.sdp, m.tracks)).catch((e: unknown) => console.error("sub offer failed", e));
    if (m.type === "ice" && m.candidate) {
      try {
        (m.pc === "pub" ? this.pub : this.sub)?.addRemoteCandidate(m.candidate, m.mid);
      } catch {
        // candidates before the description: the SDP carries them anyway
      }
    }
    for (const w of [...this.waiters]) {
      if (w.match(m)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  private async answerSub(sdp: string, tracks: ForwardedTrack[]): Promise<void> {
    if (!this.sub) {
      const pc = new PeerConnection(`sub-${Math.random()}`, { iceServers: [], bindAddress: this.bind });
      pc.onTrack((t) => {
        // Keep the JS wrapper alive: once it is garbage-collected its callbacks silently stop.
        this.keep.push(t);
        t.setMediaHandler(new RtcpReceivingSession()); // receiver reports and PLI, as a browser sends
        const mid = t.mid();
        t.onMessage((msg) => {
          const at = performance.now();
          const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
          if (bytes.length < 2 || (bytes[1]! >= 192 && bytes[1]! <= 223)) return; // RTCP
          const info = this.subTracks.get(mid) ?? null;
          for (const l of this.listeners) l(info, bytes, at);
        });
      });
      this.sub = pc;
    }
    this.subTracks = new Map(tracks.map((t) => [t.mid, t]));
    this.sub.setRemoteDescription(sdp, "offer");
    await until("sub answer", () => this.sub?.signalingState() === "stable" && this.sub.gatheringState() === "complete", 5000);
    this.send({ type: "sub.answer", sdp: this.sub!.localDescription()!.sdp });
  }
}

function gatherOffer(pc: Pc): Promise<string> {
  return new Promise((resolve, reject) => {
    pc.setLocalDescription("offer");
    until("offer gathered", () => pc.gatheringState() === "complete", 5000)
      .then(() => resolve(pc.localDescription()!.sdp))
      .catch(reject);
  });
}

/** until polls a condition every 10 ms (bounded), for tests. */
export function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const iv = setInterval(() => {
      if (check()) {
        clearInterval(iv);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(iv);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 10);
  });
}
