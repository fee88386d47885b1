/**
 * The "pub" peer connection: this browser offers its mic, camera and optional screen (sendonly)
 * and the server answers. Offers are serialised: a change while an offer is outstanding is
 * folded into one follow-up offer.
 */
import { watchConnection } from "./watch-connection.ts";
import type { ClientMessage, PublishedTrack } from "../shared/signaling.ts";
import { preferVideoCodecs } from "./codecs.ts";

/** PublisherEvents connects the publisher to the socket and the session. */
export interface PublisherEvents {
  send(m: ClientMessage): void;
  failed(why: string): void;
}

function preferH264(t: RTCRtpTransceiver): void {
  const caps = typeof RTCRtpSender.getCapabilities === "function" ? RTCRtpSender.getCapabilities("video") : null;
  if (!caps || typeof t.setCodecPreferences !== "function") return;
  try {
    t.setCodecPreferences(preferVideoCodecs(caps.codecs));
  } catch (e) {
    console.warn("conclave: could not set codec preferences", e);
  }
}

/** Publisher owns the pub connection and its three senders. */
export class Publisher {
  readonly pc: RTCPeerConnection;
  private readonly mic: RTCRtpTransceiver;
  private readonly camera: RTCRtpTransceiver;
  private screen: RTCRtpTransceiver | null = null;
  private busy = false;
  private again = false;
  private pendingIce: RTCIceCandidateInit[] = [];
  private closed = false;

  constructor(
    private readonly ev: PublisherEvents,
    tracks: { mic: MediaStreamTrack | null; camera: MediaStreamTrack | null },
  ) {
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) ev.send({ type: "ice", pc: "pub", candidate: e.candidate.candidate, mid: e.candidate.sdpMid ?? "" });
    };
    watchConnection(this.pc, (why) => ev.failed(`sending media: ${why}`), () => this.closed);
    const stream = new MediaStream();
    this.mic = this.pc.addTransceiver(tracks.mic ?? "audio", { direction: "sendonly", streams: [stream] });
    this.camera = this.pc.addTransceiver(tracks.camera ?? "video", { direction: "sendonly", streams: [stream] });
    preferH264(this.camera);
  }

  /** start sends the first offer. */
  start(): void {
    void this.negotiate();
  }

  private published(): PublishedTrack[] {
    const out: PublishedTrack[] = [];
    if (this.mic.mid) out.push({ mid: this.mic.mid, source: "mic" });
    if (this.camera.mid) out.push({ mid: this.camera.mid, source: "camera" });
    if (this.screen?.mid && this.screen.direction !== "stopped") out.push({ mid: this.screen.mid, source: "screen" });
    return out;
  }

  private async negotiate(): Promise<void> {
    if (this.closed) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.again = false;
    try {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.ev.send({ type: "pub.offer", sdp: this.pc.localDescription!.sdp, tracks: this.published() });
    } catch (e) {
      this.busy = false;
      if (!this.closed) this.ev.failed(`could not prepare your media (${(e as Error).message})`);
    }
  }

  /** answered applies the server's answer and sends a follow-up offer if something changed meanwhile. */
  async answered(sdp: string): Promise<void> {
    if (this.closed || this.pc.signalingState !== "have-local-offer") return;
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp });
      for (const c of this.pendingIce.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
    } catch (e) {
      if (!this.closed) this.ev.failed(`the server's answer could not be applied (${(e as Error).message})`);
      return;
    } finally {
      this.busy = false;
    }
    if (this.again) void this.negotiate();
  }

  /** remoteIce adds a server candidate (queued until the answer is applied). */
  async remoteIce(candidate: string, mid: string): Promise<void> {
    const c: RTCIceCandidateInit = { candidate, sdpMid: mid };
    if (!this.pc.remoteDescription) this.pendingIce.push(c);
    else await this.pc.addIceCandidate(c).catch((e: unknown) => console.warn("conclave: bad pub candidate", e));
  }

  /** setMic swaps the microphone track (null = send nothing). */
  setMic(track: MediaStreamTrack | null): Promise<void> {
    return this.mic.sender.replaceTrack(track);
  }

  /** setCamera swaps the camera track (null = send nothing). */
  setCamera(track: MediaStreamTrack | null): Promise<void> {
    return this.camera.sender.replaceTrack(track);
  }

  /** setScreen starts (a track) or stops (null) the screen share; both renegotiate. */
  setScreen(track: MediaStreamTrack | null): void {
    if (track) {
      if (this.screen && this.screen.direction !== "stopped") {
        void this.screen.sender.replaceTrack(track);
        return;
      }
      this.screen = this.pc.addTransceiver(track, { direction: "sendonly", streams: [new MediaStream([track])] });
      preferH264(this.screen);
    } else {
      if (!this.screen || this.screen.direction === "stopped") return;
      void this.screen.sender.replaceTrack(null);
      this.screen.stop();
    }
    void this.negotiate();
  }

  /** senders lists the live RTP senders (for statistics). */
  senders(): RTCRtpSender[] {
    return this.pc.getSenders();
  }

  /** close ends the connection (local tracks are not stopped: they belong to the session). */
  close(): void {
    this.closed = true;
    this.pc.close();
  }
}
