import { describe, expect, test } from "bun:test";
import { isPreferredH264, preferVideoCodecs } from "./codecs.ts";

// The video codecs Chromium 14x lists in RTCRtpSender.getCapabilities("video") on this machine (trimmed).
const CHROMIUM = [
  { mimeType: "video/VP8", clockRate: 90000 },
  { mimeType: "video/rtx", clockRate: 90000 },
  { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f" },
  { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f" },
  { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" },
  { mimeType: "video/VP9", clockRate: 90000, sdpFmtpLine: "profile-id=0" },
  { mimeType: "video/H264", clockRate: 90000, sdpFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f" },
  { mimeType: "video/AV1", clockRate: 90000 },
  { mimeType: "video/red", clockRate: 90000 },
  { mimeType: "video/ulpfec", clockRate: 90000 },
];

describe("preferVideoCodecs", () => {
  test("puts H.264 42e01f packetization-mode=1 first, then VP8, then the rest in the browser's order", () => {
    const out = preferVideoCodecs(CHROMIUM);
    expect(out[0]).toBe(CHROMIUM[4]!);
    expect(out[1]).toBe(CHROMIUM[0]!);
    expect(out.slice(2)).toEqual([CHROMIUM[1]!, CHROMIUM[2]!, CHROMIUM[3]!, CHROMIUM[5]!, CHROMIUM[6]!, CHROMIUM[7]!, CHROMIUM[8]!, CHROMIUM[9]!]);
    expect(out.length).toBe(CHROMIUM.length);
  });
  test("falls back to VP8 first when the browser has no H.264", () => {
    const noH264 = CHROMIUM.filter((c) => c.mimeType !== "video/H264");
    expect(preferVideoCodecs(noH264)[0]!.mimeType).toBe("video/VP8");
  });
  test("does not change the input array", () => {
    const copy = [...CHROMIUM];
    preferVideoCodecs(CHROMIUM);
    expect(CHROMIUM).toEqual(copy);
  });
});

describe("isPreferredH264", () => {
  test("matches fmtp parameters in any order and case", () => {
    expect(isPreferredH264({ mimeType: "video/h264", sdpFmtpLine: "profile-level-id=42E01F; packetization-mode=1" })).toBe(true);
  });
  test("rejects packetization-mode 0, other profiles and missing fmtp", () => {
    expect(isPreferredH264(CHROMIUM[3]!)).toBe(false);
    expect(isPreferredH264(CHROMIUM[6]!)).toBe(false);
    expect(isPreferredH264({ mimeType: "video/H264" })).toBe(false);
  });
});
