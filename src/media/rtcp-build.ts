// RTCP builders for the feedback the SFU originates: PLI, FIR, generic NACK and RR.

import { RTCP_PSFB, RTCP_RR, RTCP_RTPFB, type ReportBlock } from "./rtcp.ts";

function header(buf: Uint8Array, countOrFmt: number, pt: number): DataView {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf[0] = 0x80 | (countOrFmt & 0x1f);
  buf[1] = pt;
  v.setUint16(2, buf.length / 4 - 1);
  return v;
}

/** buildPli builds a Picture Loss Indication (RFC 4585 §6.3.1: PT 206, FMT 1). */
export function buildPli(senderSsrc: number, mediaSsrc: number): Uint8Array {
  const buf = new Uint8Array(12);
  const v = header(buf, 1, RTCP_PSFB);
  v.setUint32(4, senderSsrc >>> 0);
  v.setUint32(8, mediaSsrc >>> 0);
  return buf;
}

/** buildFir builds a Full Intra Request (RFC 5104 §4.3.1: PT 206, FMT 4) for one media SSRC. */
export function buildFir(senderSsrc: number, mediaSsrc: number, seqNr: number): Uint8Array {
  const buf = new Uint8Array(20);
  const v = header(buf, 4, RTCP_PSFB);
  v.setUint32(4, senderSsrc >>> 0);
  v.setUint32(8, 0); // media source SSRC is unused in FIR (RFC 5104 §4.3.1.2)
  v.setUint32(12, mediaSsrc >>> 0);
  buf[16] = seqNr & 0xff;
  return buf;
}

/** nackEntries packs lost sequence numbers into (PID, BLP) pairs, greedily in the given order. */
export function nackEntries(lost: readonly number[]): { pid: number; blp: number }[] {
  const out: { pid: number; blp: number }[] = [];
  let cur: { pid: number; blp: number } | null = null;
  for (const raw of lost) {
    const seq = raw & 0xffff;
    if (cur !== null) {
      const d = (seq - cur.pid) & 0xffff;
      if (d === 0) continue;
      if (d <= 16) {
        cur.blp |= 1 << (d - 1);
        continue;
      }
    }
    cur = { pid: seq, blp: 0 };
    out.push(cur);
  }
  return out;
}

/** buildNack builds a generic NACK (RFC 4585 §6.2.1: PT 205, FMT 1) for the lost sequence numbers. */
export function buildNack(senderSsrc: number, mediaSsrc: number, lost: readonly number[]): Uint8Array {
  const entries = nackEntries(lost);
  const buf = new Uint8Array(12 + entries.length * 4);
  const v = header(buf, 1, RTCP_RTPFB);
  v.setUint32(4, senderSsrc >>> 0);
  v.setUint32(8, mediaSsrc >>> 0);
  entries.forEach((e, i) => {
    v.setUint16(12 + i * 4, e.pid);
    v.setUint16(14 + i * 4, e.blp);
  });
  return buf;
}

/** buildRr builds a Receiver Report (RFC 3550 §6.4.2) with up to 31 report blocks. */
export function buildRr(ssrc: number, reports: readonly ReportBlock[]): Uint8Array {
  if (reports.length > 31) throw new RangeError("buildRr: at most 31 report blocks");
  const buf = new Uint8Array(8 + reports.length * 24);
  const v = header(buf, reports.length, RTCP_RR);
  v.setUint32(4, ssrc >>> 0);
  reports.forEach((r, i) => {
    const o = 8 + i * 24;
    v.setUint32(o, r.ssrc >>> 0);
    v.setUint32(o + 4, ((r.fractionLost & 0xff) << 24) | (r.packetsLost & 0xffffff));
    v.setUint32(o + 8, r.highestSeq >>> 0);
    v.setUint32(o + 12, r.jitter >>> 0);
    v.setUint32(o + 16, r.lastSr >>> 0);
    v.setUint32(o + 20, r.delaySinceLastSr >>> 0);
  });
  return buf;
}
