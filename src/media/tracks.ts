// The small interfaces through which everything above media (rooms, signalling) and the
// transport below (node-datachannel peers) meet the forwarding core. Nothing here knows of
// meetings, HTTP or storage.

/** MediaKind is the kind of a track. */
export type MediaKind = "audio" | "video";

/** UpTrack is a published track as the router sees it: its publisher, announced SSRCs, and how to ask it for a keyframe. */
export interface UpTrack {
  /** Unique per router. */
  readonly id: string;
  /** The publishing peer: RTP for these SSRCs is accepted only from this peer. */
  readonly peerId: string;
  readonly kind: MediaKind;
  /** SSRCs the publisher announced for this track; the first is the layer forwarded by default. */
  readonly ssrcs: readonly number[];
  /** RTP clock rate (90000 video, 48000 Opus). */
  readonly clockRate: number;
  /** requestKeyframe asks the publisher for a keyframe on one of the track's SSRCs (sends PLI). */
  requestKeyframe(ssrc: number): void;
}

/** DownTrack is one subscriber's copy of an up-track: the server's own SSRC and a way to send. */
export interface DownTrack {
  /** Unique per router. */
  readonly id: string;
  /** The subscribing peer: feedback (PLI, FIR, NACK) for this SSRC is accepted only from it. */
  readonly peerId: string;
  /** The SSRC the server announced to the subscriber for this track. */
  readonly ssrc: number;
  /** Up-track payload type → payload type negotiated with the subscriber; unmapped types pass unchanged. */
  readonly payloadTypes?: ReadonlyMap<number, number>;
  /** send transmits one RTP packet to the subscriber; it must not throw. */
  send(packet: Uint8Array): void;
}
