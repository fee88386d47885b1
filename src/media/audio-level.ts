// RFC 6464 client-to-mixer audio level, read from an RTP header extension (RFC 8285 one-byte or
// two-byte form) without touching the payload; and a small loudest-speaker tracker on top.

import type { RtpHeader } from "./rtp.ts";

/** readAudioLevel returns the level in -dBov (0 loudest … 127 silence) carried under extension id, or null. */
export function readAudioLevel(packet: Uint8Array, h: RtpHeader, id: number): number | null {
  if (h.extensionProfile === null || id <= 0) return null;
  let p = h.extensionStart;
  const end = h.extensionEnd;
  if (h.extensionProfile === 0xbede) {
    while (p < end) {
      const b = packet[p]!;
      if (b === 0) {
        p++; // padding
        continue;
      }
      const eid = b >> 4;
      const len = (b & 0x0f) + 1;
      if (eid === 15) return null;
      if (p + 1 + len > end) return null;
      if (eid === id) return packet[p + 1]! & 0x7f;
      p += 1 + len;
    }
    return null;
  }
  if ((h.extensionProfile & 0xfff0) === 0x1000) {
    while (p + 1 < end) {
      const eid = packet[p]!;
      if (eid === 0) {
        p++;
        continue;
      }
      const len = packet[p + 1]!;
      if (p + 2 + len > end) return null;
      if (eid === id) return len >= 1 ? packet[p + 2]! & 0x7f : null;
      p += 2 + len;
    }
  }
  return null;
}

/** SpeakerTrackerOptions tunes how quickly a speaker is picked. */
export interface SpeakerTrackerOptions {
  /** Levels above this -dBov count as silence (default 60 ≈ quiet room noise). */
  silence?: number;
  /** Exponential smoothing factor per packet for the loudness (default 0.1). */
  smoothing?: number;
}

/** SpeakerTracker keeps a smoothed loudness per speaker and names the loudest. */
export class SpeakerTracker {
  private readonly loudness = new Map<string, number>();
  private readonly silence: number;
  private readonly alpha: number;

  constructor(opts: SpeakerTrackerOptions = {}) {
    this.silence = opts.silence ?? 60;
    this.alpha = opts.smoothing ?? 0.1;
  }

  /** push records one packet's level (-dBov) for a speaker. */
  push(speaker: string, level: number): void {
    const loud = Math.max(0, this.silence - level);
    const prev = this.loudness.get(speaker) ?? 0;
    this.loudness.set(speaker, prev + this.alpha * (loud - prev));
  }

  /** forget drops a speaker (left, or muted). */
  forget(speaker: string): void {
    this.loudness.delete(speaker);
  }

  /** loudest names the loudest speaker above silence, decaying everyone so that silence wins when nobody speaks. */
  loudest(): string | null {
    let best: string | null = null;
    let bestLoud = 1;
    for (const [s, l] of this.loudness) {
      if (l > bestLoud) {
        best = s;
        bestLoud = l;
      }
      this.loudness.set(s, l * 0.5); // no packets since last time → fades out
    }
    return best;
  }
}
