// Just enough SDP reading to answer a browser's offer with libdatachannel: per m= section its
// mid, kind, direction, announced SSRCs (RTX / FEC SSRCs left out), codecs and header
// extensions, and the codec the server picks for it. Tolerant of CRLF or LF; never throws.

import type { MediaKind } from "./tracks.ts";

/** Codec is one rtpmap (+ fmtp) of an m= section. */
export interface SdpCodec {
  payloadType: number;
  /** Encoding name as written ("H264", "VP8", "opus", "rtx", ...). */
  name: string;
  clockRate: number;
  fmtp: string;
}

/** SdpMedia is one m= section of an offer. */
export interface SdpMedia {
  kind: MediaKind | "application" | "other";
  mid: string;
  /** 0 means rejected / stopped. */
  port: number;
  direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
  /** Media SSRCs in order of appearance (the first is the primary; RTX/FEC SSRCs removed). */
  ssrcs: number[];
  codecs: SdpCodec[];
  /** URI → extension id. */
  extensions: Map<string, number>;
}

/** AUDIO_LEVEL_URI is the RFC 6464 client-to-mixer audio level header extension. */
export const AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/** parseSdpMedia splits an SDP description into its m= sections. */
export function parseSdpMedia(sdp: string): SdpMedia[] {
  const out: SdpMedia[] = [];
  let cur: SdpMedia | null = null;
  const secondary = new Set<number>();
  const finish = (m: SdpMedia | null): void => {
    if (m) m.ssrcs = m.ssrcs.filter((s) => !secondary.has(s));
  };
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith("m=")) {
      finish(cur);
      secondary.clear();
      const [kind = "", port = "0"] = line.slice(2).split(" ");
      cur = {
        kind: kind === "audio" || kind === "video" || kind === "application" ? kind : "other",
        mid: "",
        port: Number.parseInt(port, 10) || 0,
        direction: "sendrecv",
        ssrcs: [],
        codecs: [],
        extensions: new Map(),
      };
      out.push(cur);
      continue;
    }
    if (!cur || !line.startsWith("a=")) continue;
    const attr = line.slice(2);
    const colon = attr.indexOf(":");
    const key = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? "" : attr.slice(colon + 1);
    switch (key) {
      case "mid":
        cur.mid = value.trim();
        break;
      case "sendrecv":
      case "sendonly":
      case "recvonly":
      case "inactive":
        cur.direction = key;
        break;
      case "rtpmap": {
        const m = /^(\d+) ([^/\s]+)\/(\d+)/.exec(value);
        if (m) cur.codecs.push({ payloadType: Number(m[1]), name: m[2]!, clockRate: Number(m[3]), fmtp: "" });
        break;
      }
      case "fmtp": {
        const m = /^(\d+) (.*)$/.exec(value);
        const c = m ? cur.codecs.find((x) => x.payloadType === Number(m[1])) : undefined;
        if (c && m) c.fmtp = m[2]!.trim();
        break;
      }
      case "extmap": {
        const m = /^(\d+)(?:\/\w+)? (\S+)/.exec(value);
        if (m) cur.extensions.set(m[2]!, Number(m[1]));
        break;
      }
      case "ssrc": {
        const s = Number.parseInt(value, 10);
        if (Number.isFinite(s) && s >= 0 && s <= 0xffffffff && !cur.ssrcs.includes(s)) cur.ssrcs.push(s);
        break;
      }
      case "ssrc-group": {
        // FID (RTX) and FEC-FR groups: every SSRC after the first is a repair stream.
        const [semantics, ...ssrcs] = value.trim().split(/\s+/);
        if (semantics === "FID" || semantics === "FEC-FR") for (const s of ssrcs.slice(1)) secondary.add(Number(s));
        break;
      }
    }
  }
  finish(cur);
  return out;
}

/** ChosenCodec is the codec the server answers with for one m= section. */
export interface ChosenCodec {
  codec: "H264" | "VP8" | "opus";
  payloadType: number;
  clockRate: number;
  fmtp: string;
}

function fmtpParams(fmtp: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of fmtp.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().toLowerCase());
  }
  return out;
}

/** isConstrainedBaseline tells whether an H.264 fmtp is constrained baseline with packetization-mode 1. */
export function isConstrainedBaseline(fmtp: string): boolean {
  const p = fmtpParams(fmtp);
  if (p.get("packetization-mode") !== "1") return false;
  const pli = p.get("profile-level-id") ?? "42000a";
  if (!/^[0-9a-f]{6}$/.test(pli)) return false;
  const profile = pli.slice(0, 2);
  const iop = Number.parseInt(pli.slice(2, 4), 16);
  // RFC 6184 / H.264 Annex A: constrained baseline = baseline (0x42) with constraint_set1, or main (0x4d) with set0+set1.
  return (profile === "42" && (iop & 0x40) !== 0) || (profile === "4d" && (iop & 0xc0) === 0xc0);
}

/** chooseCodec picks Opus for audio; for video H.264 constrained baseline (42e01f first), else VP8; null if none offered. */
export function chooseCodec(m: SdpMedia): ChosenCodec | null {
  const pick = (c: SdpCodec, codec: ChosenCodec["codec"]): ChosenCodec => ({ codec, payloadType: c.payloadType, clockRate: c.clockRate, fmtp: c.fmtp });
  if (m.kind === "audio") {
    const opus = m.codecs.find((c) => c.name.toLowerCase() === "opus" && c.clockRate === 48000);
    return opus ? pick(opus, "opus") : null;
  }
  if (m.kind !== "video") return null;
  const h264 = m.codecs.filter((c) => c.name.toUpperCase() === "H264" && isConstrainedBaseline(c.fmtp));
  const best = h264.find((c) => (fmtpParams(c.fmtp).get("profile-level-id") ?? "").startsWith("42e0")) ?? h264[0];
  if (best) return pick(best, "H264");
  const vp8 = m.codecs.find((c) => c.name.toUpperCase() === "VP8");
  return vp8 ? pick(vp8, "VP8") : null;
}

/** isSending tells whether the offerer sends on this m= section. */
export function isSending(m: SdpMedia): boolean {
  return m.port !== 0 && (m.direction === "sendonly" || m.direction === "sendrecv");
}
