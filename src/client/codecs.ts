/**
 * Codec ordering for setCodecPreferences: H.264 constrained baseline with packetization-mode 1
 * (profile-level-id 42e01f) first, so SIP room systems can take forwarded video without
 * transcoding; VP8 as the fallback; everything else after, in the browser's order.
 */

/** CodecLike is the part of RTCRtpCodec this module reads. */
export interface CodecLike {
  mimeType: string;
  sdpFmtpLine?: string;
}

function fmtp(c: CodecLike): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of (c.sdpFmtpLine ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) m.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().toLowerCase());
  }
  return m;
}

/** isPreferredH264 tells whether a codec is H.264 42e01f with packetization-mode=1. */
export function isPreferredH264(c: CodecLike): boolean {
  if (c.mimeType.toLowerCase() !== "video/h264") return false;
  const p = fmtp(c);
  return p.get("packetization-mode") === "1" && p.get("profile-level-id") === "42e01f";
}

function rank(c: CodecLike): number {
  if (isPreferredH264(c)) return 0;
  if (c.mimeType.toLowerCase() === "video/vp8") return 1;
  return 2;
}

/** preferVideoCodecs returns the codecs reordered H.264 42e01f pm=1, then VP8, then the rest (stable). */
export function preferVideoCodecs<T extends CodecLike>(codecs: readonly T[]): T[] {
  return codecs
    .map((c, i) => ({ c, i, r: rank(c) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.c);
}
