// RTCP compound packet parsing (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb).
// Bounds-checked throughout: a malformed compound packet yields null, never a throw.

/** ReportBlock is one reception report inside an SR or RR. */
export interface ReportBlock {
  ssrc: number;
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed). */
  packetsLost: number;
  highestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

/** SdesChunk is one SSRC's items in an SDES packet (item type → text). */
export interface SdesChunk {
  ssrc: number;
  items: { type: number; text: string }[];
}

/** RtcpPacket is one parsed packet of a compound RTCP packet. */
export type RtcpPacket =
  | {
      kind: "sr";
      ssrc: number;
      ntpSeconds: number;
      ntpFraction: number;
      rtpTimestamp: number;
      packetCount: number;
      octetCount: number;
      reports: ReportBlock[];
    }
  | { kind: "rr"; ssrc: number; reports: ReportBlock[] }
  | { kind: "sdes"; chunks: SdesChunk[] }
  | { kind: "bye"; ssrcs: number[]; reason: string | null }
  | { kind: "nack"; senderSsrc: number; mediaSsrc: number; lost: number[] }
  | { kind: "pli"; senderSsrc: number; mediaSsrc: number }
  | { kind: "fir"; senderSsrc: number; entries: { ssrc: number; seqNr: number }[] }
  | { kind: "remb"; senderSsrc: number; bitrate: number; ssrcs: number[] }
  | { kind: "other"; packetType: number; fmt: number; start: number; end: number };

/** RTCP packet types. */
export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;

const decoder = new TextDecoder("utf-8", { fatal: false });

/** parseRtcp parses a compound RTCP packet into its parts; null if any part is malformed. */
export function parseRtcp(buf: Uint8Array): RtcpPacket[] | null {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RtcpPacket[] = [];
  let off = 0;
  if (buf.length < 4) return null;
  while (off < buf.length) {
    if (off + 4 > buf.length) return null;
    const b0 = buf[off]!;
    if (b0 >> 6 !== 2) return null;
    const count = b0 & 0x1f;
    const pt = buf[off + 1]!;
    const len = (view.getUint16(off + 2) + 1) * 4;
    const end = off + len;
    if (end > buf.length) return null;
    let bodyEnd = end;
    if (b0 & 0x20) {
      // Padding: only the last packet of a compound may carry it (RFC 3550 §6.4.1).
      if (end !== buf.length) return null;
      const pad = buf[end - 1]!;
      if (pad === 0 || off + 4 + pad > end) return null;
      bodyEnd = end - pad;
    }
    const p = parseOne(view, off, bodyEnd, pt, count);
    if (p === null) return null;
    out.push(p);
    off = end;
  }
  return out;
}

function parseOne(v: DataView, off: number, end: number, pt: number, count: number): RtcpPacket | null {
  switch (pt) {
    case RTCP_SR: {
      if (off + 28 + count * 24 > end) return null;
      return {
        kind: "sr",
        ssrc: v.getUint32(off + 4),
        ntpSeconds: v.getUint32(off + 8),
        ntpFraction: v.getUint32(off + 12),
        rtpTimestamp: v.getUint32(off + 16),
        packetCount: v.getUint32(off + 20),
        octetCount: v.getUint32(off + 24),
        reports: readReports(v, off + 28, count),
      };
    }
    case RTCP_RR: {
      if (off + 8 + count * 24 > end) return null;
      return { kind: "rr", ssrc: v.getUint32(off + 4), reports: readReports(v, off + 8, count) };
    }
    case RTCP_SDES:
      return parseSdes(v, off + 4, end, count);
    case RTCP_BYE: {
      let p = off + 4 + count * 4;
      if (p > end) return null;
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(v.getUint32(off + 4 + i * 4));
      let reason: string | null = null;
      if (p < end) {
        const n = v.getUint8(p);
        if (p + 1 + n > end) return null;
        reason = decoder.decode(new Uint8Array(v.buffer, v.byteOffset + p + 1, n));
        p += 1 + n;
      }
      return { kind: "bye", ssrcs, reason };
    }
    case RTCP_RTPFB:
    case RTCP_PSFB:
      return parseFeedback(v, off, end, pt, count);
    default:
      return { kind: "other", packetType: pt, fmt: count, start: off, end };
  }
}

function readReports(v: DataView, off: number, count: number): ReportBlock[] {
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = off + i * 24;
    const lostRaw = v.getUint32(o + 4) & 0xffffff;
    out.push({
      ssrc: v.getUint32(o),
      fractionLost: v.getUint8(o + 4),
      packetsLost: lostRaw & 0x800000 ? lostRaw - 0x1000000 : lostRaw,
      highestSeq: v.getUint32(o + 8),
      jitter: v.getUint32(o + 12),
      lastSr: v.getUint32(o + 16),
      delaySinceLastSr: v.getUint32(o + 20),
    });
  }
  return out;
}

function parseSdes(v: DataView, off: number, end: number, count: number): RtcpPacket | null {
  const chunks: SdesChunk[] = [];
  let p = off;
  for (let c = 0; c < count; c++) {
    if (p + 4 > end) return null;
    const chunk: SdesChunk = { ssrc: v.getUint32(p), items: [] };
    p += 4;
    for (;;) {
      if (p >= end) return null;
      const type = v.getUint8(p);
      if (type === 0) {
        p = (p + 4) & ~3; // null item, then pad to the next 32-bit boundary
        break;
      }
      if (p + 2 > end) return null;
      const n = v.getUint8(p + 1);
      if (p + 2 + n > end) return null;
      chunk.items.push({ type, text: decoder.decode(new Uint8Array(v.buffer, v.byteOffset + p + 2, n)) });
      p += 2 + n;
    }
    chunks.push(chunk);
  }
  return { kind: "sdes", chunks };
}

function parseFeedback(v: DataView, off: number, end: number, pt: number, fmt: number): RtcpPacket | null {
  if (off + 12 > end) return null;
  const senderSsrc = v.getUint32(off + 4);
  const mediaSsrc = v.getUint32(off + 8);
  const fci = off + 12;
  if (pt === RTCP_RTPFB && fmt === 1) {
    const lost: number[] = [];
    for (let p = fci; p + 4 <= end; p += 4) {
      const pid = v.getUint16(p);
      const blp = v.getUint16(p + 2);
      lost.push(pid);
      for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
    }
    return { kind: "nack", senderSsrc, mediaSsrc, lost };
  }
  if (pt === RTCP_PSFB && fmt === 1) return { kind: "pli", senderSsrc, mediaSsrc };
  if (pt === RTCP_PSFB && fmt === 4) {
    const entries: { ssrc: number; seqNr: number }[] = [];
    for (let p = fci; p + 8 <= end; p += 8) entries.push({ ssrc: v.getUint32(p), seqNr: v.getUint8(p + 4) });
    return { kind: "fir", senderSsrc, entries };
  }
  if (pt === RTCP_PSFB && fmt === 15 && fci + 8 <= end && v.getUint32(fci) === 0x52454d42 /* "REMB" */) {
    const n = v.getUint8(fci + 4);
    const exp = v.getUint8(fci + 5) >> 2;
    const mantissa = v.getUint32(fci + 4) & 0x3ffff;
    if (fci + 8 + n * 4 > end) return null;
    const ssrcs: number[] = [];
    for (let i = 0; i < n; i++) ssrcs.push(v.getUint32(fci + 8 + i * 4));
    return { kind: "remb", senderSsrc, bitrate: mantissa * 2 ** exp, ssrcs };
  }
  return { kind: "other", packetType: pt, fmt, start: off, end };
}
