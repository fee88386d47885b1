// The server side of one WebRTC peer connection, on node-datachannel: DTLS-SRTP media
// (libdatachannel has no SDES), every peer on one UDP port (ICE UDP mux), tracks added before
// the remote offer is applied so the answer carries the server's own SSRCs. It answers offers
// (the browser's "pub" connection) or makes them (the server's "sub" connection), both
// renegotiable. Received RTP/RTCP goes to a sink tagged with this peer's id; that tag is what
// binds SSRCs to peers.

import nodeDataChannel from "node-datachannel";
import { isRtcpPacket } from "./rtp.ts";
import type { MediaKind } from "./tracks.ts";

const { PeerConnection, Video, Audio, RtcpReceivingSession } = nodeDataChannel;
type Track = ReturnType<InstanceType<typeof PeerConnection>["addTrack"]>;

/** MediaSink receives what a peer's tracks deliver; the Router implements it. */
export interface MediaSink {
  handleRtp(peerId: string, packet: Uint8Array): void;
  handleRtcp(peerId: string, packet: Uint8Array): void;
}

/** MediaPeerOptions configures one server-side peer connection. */
export interface MediaPeerOptions {
  /** Sink tag: the id RTP/RTCP from this peer is attributed to. */
  id: string;
  /** PeerConnection name for libdatachannel's logs (default: id). */
  name?: string;
  sink: MediaSink;
  /** Local address to bind (e.g. "127.0.0.1" in tests, the media interface in production). */
  bindAddress?: string;
  /** The one UDP port shared by all peers (ICE UDP mux). */
  port: number;
  /** Public addresses announced in place of the bound one (servers behind 1:1 NAT). */
  announcedAddresses?: readonly string[];
  /** Trickled local candidates, already rewritten to the announced addresses. */
  onLocalCandidate?: (candidate: string, mid: string) => void;
  onStateChange?: (state: string) => void;
}

/** TrackSpec describes one m= section the server sends or receives, matching the browser's mid. */
export interface TrackSpec {
  mid: string;
  kind: MediaKind;
  payloadType: number;
  /** "H264" (constrained baseline, packetization-mode 1), "VP8" or "opus". */
  codec: "H264" | "VP8" | "opus";
  /** H.264 fmtp to answer with (default: 42e01f, packetization-mode 1). */
  fmtp?: string;
  /** Header extensions to negotiate: URI → id (the offer's ids when answering). */
  extensions?: ReadonlyMap<string, number>;
  /** Extra codecs in the same m= section (a sub slot offers H.264 and VP8). */
  alternatives?: readonly { codec: "H264" | "VP8"; payloadType: number }[];
  /** Answer an m= section the remote does not send on as inactive (default: receive). */
  inactive?: boolean;
}

/** SendTrackSpec adds the server's own SSRC for a down-track. */
export interface SendTrackSpec extends TrackSpec {
  ssrc: number;
  cname: string;
  msid: string;
}

/** TrackHandle is what a caller keeps of a track: send RTP, ask for a keyframe. */
export interface TrackHandle {
  readonly mid: string;
  /** send transmits one RTP packet; false if the track is not open yet (never throws). */
  send(packet: Uint8Array): boolean;
  /** requestKeyframe sends a PLI for the SSRC the track has received RTP from; false if the track is not open. */
  requestKeyframe(): boolean;
  /** isOpen tells whether DTLS-SRTP is up for this track. */
  isOpen(): boolean;
  /** onOpen runs when the track opens (at once if it already is). */
  onOpen(cb: () => void): void;
  /** close ends the track; a later answer rejects its m= section (port 0). */
  close(): void;
}

const H264_PROFILE = "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1";

/** rewriteCandidate replaces the connection address of an ICE host candidate with an announced one. */
export function rewriteCandidate(candidate: string, announced: string): string {
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  const parts = candidate.split(" ");
  if (parts.length < 8 || parts[6] !== "typ" || parts[7] !== "host") return candidate;
  parts[4] = announced;
  return parts.join(" ");
}

/** MediaPeer is one server-side PeerConnection. */
export class MediaPeer {
  readonly id: string;
  private readonly pc: InstanceType<typeof PeerConnection>;
  private readonly sink: MediaSink;
  private readonly announced: readonly string[];
  private readonly tracks: Track[] = [];
  private gatherWaiters: (() => void)[] = [];
  private closed = false;

  constructor(opts: MediaPeerOptions) {
    // libdatachannel's threads must be up before the first peer connection (see MediaServer).
    nodeDataChannel.preload();
    this.id = opts.id;
    this.sink = opts.sink;
    this.announced = opts.announcedAddresses ?? [];
    this.pc = new PeerConnection(opts.name ?? opts.id, {
      iceServers: [],
      bindAddress: opts.bindAddress,
      enableIceUdpMux: true,
      portRangeBegin: opts.port,
      portRangeEnd: opts.port,
    });
    const onCand = opts.onLocalCandidate;
    if (onCand) this.pc.onLocalCandidate((c, mid) => this.announce(c).forEach((x) => onCand(x, mid)));
    if (opts.onStateChange) this.pc.onStateChange(opts.onStateChange);
    this.pc.onGatheringStateChange((state) => {
      if (state !== "complete") return;
      for (const w of this.gatherWaiters.splice(0)) w();
    });
  }

  /** addSendTrack adds (or, for a known mid, redescribes) a sending m= section; returns its handle. */
  addSendTrack(spec: SendTrackSpec): TrackHandle {
    const media = describe(spec, "SendOnly");
    media.addSSRC(spec.ssrc, spec.cname, spec.msid, `${spec.msid}-${spec.mid}`);
    return this.attach(this.pc.addTrack(media), spec.mid, false);
  }

  /** addRecvTrack adds a receiving m= section (call before applyOffer); RTCP receiver reports are attached. */
  addRecvTrack(spec: TrackSpec): TrackHandle {
    return this.attach(this.pc.addTrack(describe(spec, spec.inactive ? "Inactive" : "RecvOnly")), spec.mid, !spec.inactive);
  }

  /** applyOffer applies a remote offer and resolves with the answer once ICE gathering is complete (bounded). */
  async applyOffer(sdp: string, timeoutMs = 2000): Promise<string> {
    this.pc.setRemoteDescription(sdp, "offer");
    await this.gathered(timeoutMs);
    return this.rewriteSdp(this.pc.localDescription()?.sdp ?? "");
  }

  /** createOffer makes a (re)offer for the current tracks, with candidates once gathered (bounded). */
  async createOffer(timeoutMs = 2000): Promise<string> {
    this.pc.setLocalDescription("offer");
    await this.gathered(timeoutMs);
    return this.rewriteSdp(this.pc.localDescription()?.sdp ?? "");
  }

  /** applyAnswer applies the remote answer to our last offer; throws (libdatachannel's message) when it does not fit. */
  applyAnswer(sdp: string): void {
    this.pc.setRemoteDescription(sdp, "answer");
  }

  /** signalingState is "stable" unless an offer is outstanding. */
  signalingState(): string {
    return this.pc.signalingState();
  }

  /** addRemoteCandidate adds a trickled remote candidate. */
  addRemoteCandidate(candidate: string, mid: string): void {
    this.pc.addRemoteCandidate(candidate, mid);
  }

  /** state is the connection state ("new", "connecting", "connected", ...). */
  state(): string {
    return this.pc.state();
  }

  /** rtt is the ICE round-trip time in ms, or null when unknown. */
  rtt(): number | null {
    try {
      const r = this.pc.rtt();
      return r >= 0 ? r : null;
    } catch {
      return null;
    }
  }

  /** close ends the connection and its tracks. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.gatherWaiters.splice(0)) w();
    for (const t of this.tracks) t.close();
    this.pc.close();
  }

  private gathered(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error("peer closed"));
    if (this.pc.gatheringState() === "complete") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("ICE gathering timed out")), timeoutMs);
      this.gatherWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private attach(track: Track, mid: string, receiving: boolean): TrackHandle {
    this.tracks.push(track);
    if (receiving) track.setMediaHandler(new RtcpReceivingSession());
    track.onMessage((msg) => {
      const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      if (isRtcpPacket(bytes)) this.sink.handleRtcp(this.id, bytes);
      else this.sink.handleRtp(this.id, bytes);
    });
    const openers: (() => void)[] = [];
    track.onOpen(() => {
      for (const cb of openers.splice(0)) cb();
    });
    // libdatachannel aborts the process on sends to a track that is not open: always check first.
    return {
      mid,
      send: (packet) => !this.closed && track.isOpen() && track.sendMessageBinary(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength)),
      // Through RtcpReceivingSession: it names the SSRC it has seen RTP from (0 before any RTP).
      // Our own buildPli via sendMessageBinary is not sent on a receive-only track (tried).
      requestKeyframe: () => !this.closed && track.isOpen() && track.requestKeyframe(),
      isOpen: () => !this.closed && track.isOpen(),
      onOpen: (cb) => {
        if (!this.closed && track.isOpen()) cb();
        else openers.push(cb);
      },
      close: () => track.close(),
    };
  }

  private announce(candidate: string): string[] {
    return this.announced.length === 0 ? [candidate] : this.announced.map((a) => rewriteCandidate(candidate, a));
  }

  private rewriteSdp(sdp: string): string {
    if (this.announced.length === 0) return sdp;
    return sdp
      .split(/\r?\n/)
      .flatMap((line) => (line.startsWith("a=candidate:") ? this.announce(line) : [line]))
      .join("\r\n");
  }
}

function describe(spec: TrackSpec, dir: "SendOnly" | "RecvOnly" | "Inactive"): InstanceType<typeof Video> | InstanceType<typeof Audio> {
  let media: InstanceType<typeof Video> | InstanceType<typeof Audio>;
  if (spec.kind === "audio") {
    const a = new Audio(spec.mid, dir);
    a.addOpusCodec(spec.payloadType);
    media = a;
  } else {
    const v = new Video(spec.mid, dir);
    const add = (codec: "H264" | "VP8" | "opus", pt: number, fmtp?: string): void => {
      if (codec === "VP8") v.addVP8Codec(pt);
      else v.addH264Codec(pt, fmtp || H264_PROFILE);
    };
    add(spec.codec, spec.payloadType, spec.fmtp);
    for (const alt of spec.alternatives ?? []) add(alt.codec, alt.payloadType);
    media = v;
  }
  for (const [uri, id] of spec.extensions ?? []) media.parseSdpLine(`a=extmap:${id} ${uri}`);
  return media;
}
