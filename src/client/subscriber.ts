/**
 * The "sub" peer connection: the server offers everyone else's tracks and this browser answers.
 * After each offer the transceivers are matched to (participant, source) through the offer's
 * track list, and the UI is told which track now belongs to whom.
 */
import { watchConnection } from "./watch-connection.ts";
import type { ClientMessage, ForwardedTrack, TrackSource } from "../shared/signaling.ts";

/** RemoteTrack is one forwarded track and whose it is. */
export interface RemoteTrack {
  participantId: string;
  source: TrackSource;
  track: MediaStreamTrack;
  receiver: RTCRtpReceiver;
}

/** SubscriberEvents connects the subscriber to the socket and the session. */
export interface SubscriberEvents {
  send(m: ClientMessage): void;
  /** the full set of remote tracks after an offer was applied */
  tracks(list: RemoteTrack[]): void;
  failed(why: string): void;
}

/** Subscriber owns the sub connection. */
export class Subscriber {
  readonly pc: RTCPeerConnection;
  private queue: Promise<void> = Promise.resolve();
  private pendingIce: RTCIceCandidateInit[] = [];
  private closed = false;

  constructor(private readonly ev: SubscriberEvents) {
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) ev.send({ type: "ice", pc: "sub", candidate: e.candidate.candidate, mid: e.candidate.sdpMid ?? "" });
    };
    watchConnection(this.pc, (why) => ev.failed(`receiving media: ${why}`), () => this.closed);
  }

  /** offered answers a server offer (offers are applied one at a time, in order). */
  offered(sdp: string, tracks: ForwardedTrack[]): Promise<void> {
    this.queue = this.queue.then(() => this.apply(sdp, tracks));
    return this.queue;
  }

  private async apply(sdp: string, tracks: ForwardedTrack[]): Promise<void> {
    if (this.closed) return;
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp });
      for (const c of this.pendingIce.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.ev.send({ type: "sub.answer", sdp: this.pc.localDescription!.sdp });
    } catch (e) {
      if (!this.closed) this.ev.failed(`the server's media offer could not be applied (${(e as Error).message})`);
      return;
    }
    const byMid = new Map(tracks.map((t) => [t.mid, t]));
    const list: RemoteTrack[] = [];
    for (const t of this.pc.getTransceivers()) {
      const f = t.mid === null ? undefined : byMid.get(t.mid);
      if (!f || t.direction === "stopped" || t.currentDirection === "inactive" || t.currentDirection === "stopped") continue;
      list.push({ participantId: f.participantId, source: f.source, track: t.receiver.track, receiver: t.receiver });
    }
    this.ev.tracks(list);
  }

  /** remoteIce adds a server candidate (queued until an offer was applied). */
  async remoteIce(candidate: string, mid: string): Promise<void> {
    const c: RTCIceCandidateInit = { candidate, sdpMid: mid };
    if (!this.pc.remoteDescription) this.pendingIce.push(c);
    else await this.pc.addIceCandidate(c).catch((e: unknown) => console.warn("conclave: bad sub candidate", e));
  }

  /** close ends the connection. */
  close(): void {
    this.closed = true;
    this.pc.close();
  }
}
