// Per-participant connection counters for the dashboard: what came in from the publisher, what
// went out to the subscriber, feedback seen, and loss estimates in both directions.

import { parseRtcp } from "./rtcp.ts";

/** SessionStatsSummary is one participant's connection summary (all numbers, for storage as is). */
export interface SessionStatsSummary extends Record<string, number> {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** NACKs received from this participant's browser (about what it receives). */
  nacksIn: number;
  /** PLIs and FIRs received from this participant's browser. */
  keyframeRequestsIn: number;
  /** RTP dropped because the source was switched off (host mute, stopped video). */
  droppedOff: number;
  /** Estimated loss publisher → server, percent (sequence gaps). */
  lossInPct: number;
  /** Loss server → subscriber reported by the browser's receiver reports, percent (mean of latest per track). */
  lossOutPct: number;
  /** ICE round-trip time in ms (-1 unknown). */
  rttMs: number;
}

interface SeqState {
  base: number;
  highest: number;
  received: number;
}

/** SessionStats accumulates the counters of one session. */
export class SessionStats {
  packetsIn = 0;
  bytesIn = 0;
  packetsOut = 0;
  bytesOut = 0;
  nacksIn = 0;
  keyframeRequestsIn = 0;
  droppedOff = 0;
  private readonly seqs = new Map<number, SeqState>();
  private readonly fractionLost = new Map<number, number>();

  /** inbound counts one RTP packet from the publisher and tracks its sequence for loss. */
  inbound(ssrc: number, sequence: number, bytes: number): void {
    this.packetsIn++;
    this.bytesIn += bytes;
    const s = this.seqs.get(ssrc);
    if (!s) {
      this.seqs.set(ssrc, { base: sequence + 0x10000, highest: sequence + 0x10000, received: 1 });
      return;
    }
    const diff = ((sequence - (s.highest & 0xffff)) << 16) >> 16;
    if (diff > 0) s.highest += diff;
    s.received++;
  }

  /** outbound counts one RTP packet sent to the subscriber. */
  outbound(bytes: number): void {
    this.packetsOut++;
    this.bytesOut += bytes;
  }

  /** feedback reads an RTCP packet from the subscriber: NACKs, PLI/FIR, receiver-report loss. */
  feedback(packet: Uint8Array, ownSsrc: (ssrc: number) => boolean): void {
    for (const p of parseRtcp(packet) ?? []) {
      if (p.kind === "nack") this.nacksIn++;
      else if (p.kind === "pli" || p.kind === "fir") this.keyframeRequestsIn++;
      else if (p.kind === "rr" || p.kind === "sr") for (const r of p.reports) if (ownSsrc(r.ssrc)) this.fractionLost.set(r.ssrc, r.fractionLost);
    }
  }

  /** forget drops the loss state of an SSRC no longer in use. */
  forget(ssrc: number): void {
    this.seqs.delete(ssrc);
    this.fractionLost.delete(ssrc);
  }

  /** summary is a snapshot of the counters. */
  summary(rttMs: number | null): SessionStatsSummary {
    let expected = 0;
    let received = 0;
    for (const s of this.seqs.values()) {
      expected += s.highest - s.base + 1;
      received += s.received;
    }
    const lossIn = expected > 0 ? Math.max(0, (expected - received) / expected) * 100 : 0;
    const fl = [...this.fractionLost.values()];
    const lossOut = fl.length ? (fl.reduce((a, b) => a + b, 0) / fl.length / 256) * 100 : 0;
    return {
      packetsIn: this.packetsIn,
      bytesIn: this.bytesIn,
      packetsOut: this.packetsOut,
      bytesOut: this.bytesOut,
      nacksIn: this.nacksIn,
      keyframeRequestsIn: this.keyframeRequestsIn,
      droppedOff: this.droppedOff,
      lossInPct: Math.round(lossIn * 100) / 100,
      lossOutPct: Math.round(lossOut * 100) / 100,
      rttMs: rttMs ?? -1,
    };
  }
}
