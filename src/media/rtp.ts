// RTP (RFC 3550 §5.1) header parsing and rewriting, without decoding the payload.
// Every reader is bounds-checked: hostile or truncated input yields null, never a throw.

/** RtpHeader is a parsed RTP fixed header plus the byte ranges of what follows it. */
export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** Header extension profile (0xBEDE one-byte, 0x100x two-byte), or null without extension. */
  extensionProfile: number | null;
  /** Byte range [extensionStart, extensionEnd) of the extension data (after its 4-byte header). */
  extensionStart: number;
  extensionEnd: number;
  /** Byte range [payloadStart, payloadEnd) of the payload, padding excluded. */
  payloadStart: number;
  payloadEnd: number;
  paddingLength: number;
}

/** RTP_HEADER_MIN is the size of the fixed RTP header in bytes. */
export const RTP_HEADER_MIN = 12;

/** isRtcpPacket tells RTCP from RTP on a muxed port (RFC 5761 §4: second byte 192–223). */
export function isRtcpPacket(buf: Uint8Array): boolean {
  if (buf.length < 2) return false;
  const pt = buf[1]!;
  return pt >= 192 && pt <= 223;
}

/** parseRtp parses an RTP header; malformed input (wrong version, bad lengths) returns null. */
export function parseRtp(buf: Uint8Array): RtpHeader | null {
  if (buf.length < RTP_HEADER_MIN) return null;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >> 6;
  if (version !== 2) return null;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let offset = RTP_HEADER_MIN + csrcCount * 4;
  if (offset > buf.length) return null;
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(view.getUint32(RTP_HEADER_MIN + i * 4));
  let extensionProfile: number | null = null;
  let extensionStart = offset;
  let extensionEnd = offset;
  if (extension) {
    if (offset + 4 > buf.length) return null;
    extensionProfile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    extensionStart = offset + 4;
    extensionEnd = extensionStart + words * 4;
    if (extensionEnd > buf.length) return null;
    offset = extensionEnd;
  }
  let paddingLength = 0;
  if (padding) {
    if (buf.length <= offset) return null;
    paddingLength = buf[buf.length - 1]!;
    if (paddingLength === 0 || offset + paddingLength > buf.length) return null;
  }
  return {
    version,
    padding,
    extension,
    csrcCount,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    csrcs,
    extensionProfile,
    extensionStart,
    extensionEnd,
    payloadStart: offset,
    payloadEnd: buf.length - paddingLength,
    paddingLength,
  };
}

/** RtpRewrite says what to change: the new SSRC, offsets added mod 2^16 / 2^32, maybe the PT. */
export interface RtpRewrite {
  ssrc: number;
  seqOffset: number;
  tsOffset: number;
  payloadType?: number;
}

/** rewriteRtp returns a copy of an RTP packet with SSRC, sequence, timestamp (and PT) rewritten; null if malformed. */
export function rewriteRtp(buf: Uint8Array, rw: RtpRewrite): Uint8Array | null {
  const h = parseRtp(buf);
  if (h === null) return null;
  const out = buf.slice();
  writeRtpFields(out, {
    ssrc: rw.ssrc,
    sequence: (h.sequence + rw.seqOffset) & 0xffff,
    timestamp: (h.timestamp + rw.tsOffset) >>> 0,
    payloadType: rw.payloadType,
  });
  return out;
}

/** RtpFields are absolute header values to write in place. */
export interface RtpFields {
  ssrc: number;
  sequence: number;
  timestamp: number;
  payloadType?: number;
}

/** writeRtpFields overwrites SSRC, sequence, timestamp (and PT) of an RTP packet in place; the caller has parsed it. */
export function writeRtpFields(buf: Uint8Array, f: RtpFields): void {
  if (buf.length < RTP_HEADER_MIN) throw new RangeError("writeRtpFields: buffer shorter than an RTP header");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (f.payloadType !== undefined) buf[1] = (buf[1]! & 0x80) | (f.payloadType & 0x7f);
  view.setUint16(2, f.sequence & 0xffff);
  view.setUint32(4, f.timestamp >>> 0);
  view.setUint32(8, f.ssrc >>> 0);
}

/** buildRtp assembles a plain RTP packet (no CSRC, no extension); used by tests and generators. */
export function buildRtp(f: RtpFields & { marker?: boolean; payload: Uint8Array }): Uint8Array {
  const out = new Uint8Array(RTP_HEADER_MIN + f.payload.length);
  out[0] = 0x80;
  out[1] = (f.marker ? 0x80 : 0) | ((f.payloadType ?? 0) & 0x7f);
  writeRtpFields(out, { ...f, payloadType: undefined });
  out.set(f.payload, RTP_HEADER_MIN);
  return out;
}
