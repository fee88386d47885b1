// Per down-track sequence/timestamp rewriting: whatever source feeds a down-track (a simulcast
// layer, a replacement screen share, a reconnected publisher), the subscriber sees one SSRC with
// continuous sequence numbers and monotonic timestamps.
//
// Sequence numbers are tracked "extended" (not wrapped at 2^16) on both sides. Duplicates are
// detected in the OUTPUT space, so a late packet of a new source can never reuse a sequence
// number already sent for the previous one.

import type { Clock } from "../shared/clock.ts";

/** SequenceRewriterOptions configures one down-track's rewriter. */
export interface SequenceRewriterOptions {
  /** RTP clock rate of the media (90000 for video, 48000 for Opus), for timestamp gaps on a switch. */
  clockRate: number;
  clock: Clock;
  /** How many recent sequence numbers are remembered for duplicate detection (default 1024). */
  window?: number;
}

/** Rewritten is the output sequence number and timestamp for one forwarded packet. */
export interface Rewritten {
  sequence: number;
  timestamp: number;
}

/** RewriterDrop says why push() refused a packet. */
export type RewriterDrop = "duplicate" | "too_old" | "before_switch";

interface Source {
  ssrc: number;
  highestInExt: number;
  /** outExt = inExt + outMinusIn */
  outMinusIn: number;
  tsOffset: number;
  /** Lowest output sequence allowed: below it, packets would collide with the previous source. */
  floorExt: number;
}

/** SequenceRewriter maps (ssrc, seq, ts) of whatever source feeds it onto one continuous output stream. */
export class SequenceRewriter {
  private readonly clockRate: number;
  private readonly clock: Clock;
  private readonly window: number;
  private readonly seen: Float64Array;
  private source: Source | null = null;
  private lastOutExt = -1;
  private lastOutTs = 0;
  private lastOutAt = 0;
  /** Counts of dropped packets by reason. */
  readonly drops: Record<RewriterDrop, number> = { duplicate: 0, too_old: 0, before_switch: 0 };
  /** Reason for the most recent null from push(). */
  lastDrop: RewriterDrop | null = null;

  constructor(opts: SequenceRewriterOptions) {
    this.clockRate = opts.clockRate;
    this.clock = opts.clock;
    this.window = opts.window ?? 1024;
    this.seen = new Float64Array(this.window).fill(-1);
  }

  /** currentSsrc is the SSRC of the source now being forwarded, or null before the first packet. */
  get currentSsrc(): number | null {
    return this.source?.ssrc ?? null;
  }

  /** push maps one packet; null means drop it (duplicate, too old, or older than a source switch). */
  push(ssrc: number, sequence: number, timestamp: number): Rewritten | null {
    let src = this.source;
    let outExt: number;
    if (src === null || src.ssrc !== ssrc) {
      src = this.switchTo(ssrc, sequence, timestamp);
      outExt = sequence + 0x10000 + src.outMinusIn;
    } else {
      const diff = ((sequence - src.highestInExt) << 16) >> 16; // signed 16-bit distance
      const inExt = src.highestInExt + diff;
      if (diff > 0) src.highestInExt = inExt;
      outExt = inExt + src.outMinusIn;
      if (outExt < src.floorExt) return this.drop("before_switch");
      if (outExt <= this.lastOutExt - this.window) return this.drop("too_old");
    }
    const slot = outExt % this.window;
    if (this.seen[slot] === outExt) return this.drop("duplicate");
    this.seen[slot] = outExt;
    const outTs = (timestamp + src.tsOffset) >>> 0;
    if (outExt > this.lastOutExt) {
      this.lastOutExt = outExt;
      this.lastOutTs = outTs;
      this.lastOutAt = this.clock.now();
    }
    this.lastDrop = null;
    return { sequence: outExt & 0xffff, timestamp: outTs };
  }

  private switchTo(ssrc: number, sequence: number, timestamp: number): Source {
    // Extended input counters start one cycle up so that reordered predecessors stay positive.
    const inExt = sequence + 0x10000;
    let outExt: number;
    let outTs: number;
    if (this.lastOutExt < 0) {
      outExt = inExt;
      outTs = timestamp;
    } else {
      outExt = this.lastOutExt + 1;
      const elapsed = Math.max(1, Math.round(((this.clock.now() - this.lastOutAt) * this.clockRate) / 1000));
      outTs = (this.lastOutTs + elapsed) >>> 0;
    }
    this.source = {
      ssrc,
      highestInExt: inExt,
      outMinusIn: outExt - inExt,
      tsOffset: (outTs - timestamp) >>> 0,
      // The first source may receive its own reordered predecessors; later ones must stay above the switch.
      floorExt: this.lastOutExt < 0 ? 0 : outExt,
    };
    return this.source;
  }

  private drop(reason: RewriterDrop): null {
    this.drops[reason]++;
    this.lastDrop = reason;
    return null;
  }
}
