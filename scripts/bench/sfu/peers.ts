// The load generator's WebRTC endpoints, on node-datachannel like a browser (ICE, DTLS-SRTP):
// a publisher sends one synthetic Opus and one synthetic H.264 track; a subscriber answers the
// SFU's offer and hands every RTP packet it decrypts to a Recorder.

import nodeDataChannel from "node-datachannel";
import { H264_PT, OPUS_PT } from "./synthetic.ts";

const { PeerConnection, Video, Audio, RtcpReceivingSession } = nodeDataChannel;
/** Pc is a node-datachannel PeerConnection. */
export type Pc = InstanceType<typeof PeerConnection>;
/** Track is a node-datachannel media track. */
export type Track = ReturnType<Pc["addTrack"]>;

const H264_FMTP = "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1";

/** newPc makes a peer connection bound to one local address, without STUN/TURN. */
export function newPc(name: string, bindAddress: string): Pc {
  return new PeerConnection(name, { iceServers: [], bindAddress });
}

/** waitFor polls `check` every 10 ms until it returns a value (bounded). */
export function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      let v: T | undefined | false;
      try {
        v = check();
      } catch (e) {
        reject(e);
        return;
      }
      if (v !== undefined && v !== false) resolve(v);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/** fullDescription resolves with the local SDP once ICE gathering is complete (candidates inline, half-trickle). */
function fullDescription(pc: Pc, timeoutMs = 5000): Promise<string> {
  return waitFor("ICE gathering", () => pc.gatheringState() === "complete" && pc.localDescription()?.sdp, timeoutMs);
}

/** PublisherIds are the SSRCs and stream numbers one publisher uses. */
export interface PublisherIds {
  audioSsrc: number;
  videoSsrc: number;
  audioStream: number;
  videoStream: number;
}

/** PublisherPeer offers sendonly audio (mid "0") and video (mid "1") with fixed SSRCs. */
export class PublisherPeer {
  readonly pc: Pc;
  readonly audio: Track;
  readonly video: Track;

  constructor(
    readonly name: string,
    readonly ids: PublisherIds,
    bindAddress: string,
  ) {
    this.pc = newPc(name, bindAddress);
    const a = new Audio("0", "SendOnly");
    a.addOpusCodec(OPUS_PT);
    a.addSSRC(ids.audioSsrc, name, name, `${name}-mic`);
    this.audio = this.pc.addTrack(a);
    const v = new Video("1", "SendOnly");
    v.addH264Codec(H264_PT, H264_FMTP);
    v.addSSRC(ids.videoSsrc, name, name, `${name}-cam`);
    this.video = this.pc.addTrack(v);
    // Publishers ignore what comes back (receiver reports, PLIs): a real encoder would react to
    // PLIs with a keyframe; the synthetic one sends keyframes on a fixed schedule instead.
    this.audio.onMessage(() => {});
    this.video.onMessage(() => {});
  }

  /** offer creates the offer and resolves with it once candidates are gathered. */
  offer(): Promise<string> {
    this.pc.setLocalDescription();
    return fullDescription(this.pc);
  }

  /** applyAnswer applies the SFU's answer. */
  applyAnswer(sdp: string): void {
    this.pc.setRemoteDescription(sdp, "answer");
  }

  /** ready tells whether both tracks can send (DTLS done). */
  ready(): boolean {
    return this.audio.isOpen() && this.video.isOpen();
  }

  close(): void {
    this.audio.close();
    this.video.close();
    this.pc.close();
  }
}

/** PacketSink receives every RTP/RTCP packet a subscriber decrypts. */
export type PacketSink = (packet: Buffer) => void;

/** SubscriberPeer answers SFU offers (initial and renegotiations) and feeds received packets to a sink. */
export class SubscriberPeer {
  readonly pc: Pc;
  readonly tracks: Track[] = [];
  private descriptions = 0;

  constructor(
    readonly name: string,
    sink: PacketSink,
    bindAddress: string,
  ) {
    this.pc = newPc(name, bindAddress);
    this.pc.onLocalDescription(() => void this.descriptions++);
    this.pc.onTrack((track) => {
      this.tracks.push(track);
      // Receiver reports and NACKs as a browser would send them.
      track.setMediaHandler(new RtcpReceivingSession());
      track.onMessage(sink);
    });
  }

  /** answer applies an SFU offer and resolves with the complete answer. */
  async answer(offerSdp: string): Promise<string> {
    const before = this.descriptions;
    this.pc.setRemoteDescription(offerSdp, "offer");
    await waitFor("local answer", () => this.descriptions > before);
    return fullDescription(this.pc);
  }

  /** openTracks counts the tracks that can carry media. */
  openTracks(): number {
    return this.tracks.filter((t) => t.isOpen()).length;
  }

  close(): void {
    for (const t of this.tracks) t.close();
    this.pc.close();
  }
}

/** cleanupAll releases node-datachannel (else the process lingers ~2 s at exit). */
export function cleanupAll(): void {
  nodeDataChannel.cleanup();
}
