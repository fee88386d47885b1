// Synthetic media for the SFU benchmark: H.264 (packetization-mode 1: STAP-A parameter sets,
// FU-A fragments) and Opus RTP packets of realistic sizes, each carrying a tag — a magic
// marker, the stream number, a per-stream packet counter and the send time (float64 ms on the
// generator's performance.now() clock) — that the receiving side finds again after the SFU has
// rewritten SSRC, sequence numbers and header extensions. Pure functions, no I/O.

/** TAG_MAGIC starts every benchmark tag inside a payload. */
export const TAG_MAGIC = 0xc1a7be4c;
/** TAG_BYTES is the tag size: magic (4) + stream (4) + counter (4) + send time (8). */
export const TAG_BYTES = 20;
/** H264_PT and OPUS_PT are the payload types the generator offers (both SFUs accept these). */
export const H264_PT = 102;
export const OPUS_PT = 111;

/** Tag is what a receiver reads back from a forwarded packet. */
export interface Tag {
  stream: number;
  counter: number;
  sentMs: number;
}

/** VideoProfile shapes the synthetic camera: 30 fps, P-frames of a few packets, periodic keyframe bursts. */
export interface VideoProfile {
  fps: number;
  /** RTP packet size in bytes (header included), e.g. 1100. */
  packetBytes: number;
  packetsPerFrame: number;
  keyframePackets: number;
  keyframeIntervalMs: number;
}

/** AudioProfile shapes the synthetic microphone: Opus, one packet per 20 ms. */
export interface AudioProfile {
  packetsPerSecond: number;
  packetBytes: number;
}

/** DEFAULT_VIDEO is ~0.8 Mbit/s of 1,100-byte packets at 30 fps with a 25-packet keyframe every 3 s. */
export const DEFAULT_VIDEO: VideoProfile = { fps: 30, packetBytes: 1100, packetsPerFrame: 3, keyframePackets: 25, keyframeIntervalMs: 3000 };
/** DEFAULT_AUDIO is Opus at 50 packets/s of ~100 bytes. */
export const DEFAULT_AUDIO: AudioProfile = { packetsPerSecond: 50, packetBytes: 100 };

/** videoPacketsPerSecond is the average packet rate of a video profile (keyframes included). */
export function videoPacketsPerSecond(v: VideoProfile): number {
  const framesPerKeyframe = (v.keyframeIntervalMs / 1000) * v.fps;
  return v.fps * v.packetsPerFrame + (v.keyframePackets - v.packetsPerFrame) / (framesPerKeyframe / v.fps);
}

/** RtpFields are the header values of one packet. */
interface RtpFields {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
}

function writeHeader(buf: Uint8Array, view: DataView, f: RtpFields): void {
  buf[0] = 0x80;
  buf[1] = (f.marker ? 0x80 : 0) | f.payloadType;
  view.setUint16(2, f.sequence & 0xffff);
  view.setUint32(4, f.timestamp >>> 0);
  view.setUint32(8, f.ssrc >>> 0);
}

/** writeTag puts a tag at `offset`; the filler after it is left as allocated. */
export function writeTag(view: DataView, offset: number, stream: number, counter: number, sentMs: number): void {
  view.setUint32(offset, TAG_MAGIC);
  view.setUint32(offset + 4, stream >>> 0);
  view.setUint32(offset + 8, counter >>> 0);
  view.setFloat64(offset + 12, sentMs);
}

/** Fixed parts of the synthetic H.264 access units (42e01f constrained baseline, 640x480). */
const SPS = Uint8Array.of(0x67, 0x42, 0xe0, 0x1f, 0x8c, 0x8d, 0x40, 0x50, 0x1e, 0xd0, 0x0f, 0x08, 0x84, 0x6a);
const PPS = Uint8Array.of(0x68, 0xce, 0x3c, 0x80);

/** PacketKind says where the tag sits inside a packet built by buildVideoPacket. */
export type VideoPacketKind = "stap" | "fu-start" | "fu-middle" | "fu-end" | "single";

/**
 * buildVideoPacket makes one H.264 RTP packet of `bytes` bytes: "stap" is a STAP-A with SPS, PPS
 * and an SEI (user data) NAL carrying the tag; the FU-A kinds fragment an IDR (keyframe) or a
 * non-IDR slice, the tag sitting right after the FU header; "single" is one whole slice NAL.
 * The tag's send time is written by stampPacket just before sending.
 */
export function buildVideoPacket(kind: VideoPacketKind, keyframe: boolean, bytes: number, f: RtpFields, stream: number, counter: number): Uint8Array {
  const size = kind === "stap" ? 12 + 1 + 2 + SPS.length + 2 + PPS.length + 2 + 1 + 1 + 1 + 16 + TAG_BYTES : Math.max(bytes, 12 + 2 + TAG_BYTES);
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  writeHeader(buf, view, f);
  const nalType = keyframe ? 5 : 1;
  let off = 12;
  if (kind === "stap") {
    buf[off++] = 0x78; // STAP-A, NRI 3
    view.setUint16(off, SPS.length);
    buf.set(SPS, off + 2);
    off += 2 + SPS.length;
    view.setUint16(off, PPS.length);
    buf.set(PPS, off + 2);
    off += 2 + PPS.length;
    const seiLen = 1 + 1 + 1 + 16 + TAG_BYTES;
    view.setUint16(off, seiLen);
    off += 2;
    buf[off++] = 0x06; // SEI
    buf[off++] = 0x05; // user_data_unregistered
    buf[off++] = 16 + TAG_BYTES; // payload size
    off += 16; // UUID (zeros)
    writeTag(view, off, stream, counter, 0);
    return buf;
  }
  if (kind === "single") {
    buf[off++] = 0x60 | nalType;
  } else {
    buf[off++] = 0x7c; // FU indicator: NRI 3, type 28 (FU-A)
    buf[off++] = (kind === "fu-start" ? 0x80 : kind === "fu-end" ? 0x40 : 0) | nalType;
  }
  writeTag(view, off, stream, counter, 0);
  return buf;
}

/** buildAudioPacket makes one Opus RTP packet of `bytes` bytes (TOC byte, then the tag). */
export function buildAudioPacket(bytes: number, f: RtpFields, stream: number, counter: number): Uint8Array {
  const buf = new Uint8Array(Math.max(bytes, 12 + 1 + TAG_BYTES));
  const view = new DataView(buf.buffer);
  writeHeader(buf, view, f);
  buf[12] = 0x78; // Opus TOC: SILK+CELT hybrid FB 20 ms, one frame
  writeTag(view, 13, stream, counter, 0);
  return buf;
}

/** tagOffset finds the tag inside a packet built above (header is always 12 bytes at the source). */
export function tagOffset(packet: Uint8Array): number {
  return payloadStart(packet) >= 0 ? findMagic(packet, payloadStart(packet)) : -1;
}

/** stampPacket writes the send time into a packet's tag at a known offset. */
export function stampPacket(packet: Uint8Array, offset: number, sentMs: number): void {
  new DataView(packet.buffer, packet.byteOffset, packet.byteLength).setFloat64(offset + 12, sentMs);
}

/** payloadStart skips the RTP fixed header, CSRCs and any header extension; -1 if malformed. */
export function payloadStart(p: Uint8Array): number {
  if (p.length < 12 || p[0]! >> 6 !== 2) return -1;
  let off = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) {
    if (off + 4 > p.length) return -1;
    off += 4 + 4 * ((p[off + 2]! << 8) | p[off + 3]!);
  }
  return off <= p.length ? off : -1;
}

function findMagic(p: Uint8Array, from: number): number {
  const last = Math.min(p.length - TAG_BYTES, from + 64);
  for (let i = from; i <= last; i++) {
    if (p[i] === 0xc1 && p[i + 1] === 0xa7 && p[i + 2] === 0xbe && p[i + 3] === 0x4c) return i;
  }
  return -1;
}

/** tagAt is the offset of the tag inside a forwarded RTP packet, or -1 (no allocation). */
export function tagAt(p: Uint8Array): number {
  const start = payloadStart(p);
  return start < 0 ? -1 : findMagic(p, start);
}

/** readTag finds and decodes the tag of a forwarded RTP packet, or null (RTCP, foreign packets). */
export function readTag(p: Uint8Array): Tag | null {
  if (p.length < 2 || (p[1]! >= 192 && p[1]! <= 223)) return null; // RTCP
  const start = payloadStart(p);
  if (start < 0) return null;
  const at = findMagic(p, start);
  if (at < 0) return null;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return { stream: view.getUint32(at + 4), counter: view.getUint32(at + 8), sentMs: view.getFloat64(at + 12) };
}
