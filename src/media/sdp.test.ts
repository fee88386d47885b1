import { describe, expect, test } from "bun:test";
import { systemClock } from "../shared/clock.ts";
import { readAudioLevel, SpeakerTracker } from "./audio-level.ts";
import { CHROME_PUB_OFFER } from "./fixtures-sdp.ts";
import { MediaServer } from "./media-server.ts";
import { parseRtp } from "./rtp.ts";
import { AUDIO_LEVEL_URI, chooseCodec, isConstrainedBaseline, isSending, parseSdpMedia } from "./sdp.ts";

describe("parseSdpMedia on a captured Chrome offer", () => {
  const [audio, video] = parseSdpMedia(CHROME_PUB_OFFER);

  test("reads mids, directions, the audio-level extension and the primary SSRCs (RTX left out)", () => {
    expect(audio).toMatchObject({ kind: "audio", mid: "0", direction: "sendonly", ssrcs: [4012728468] });
    expect(audio!.extensions.get(AUDIO_LEVEL_URI)).toBe(1);
    expect(video).toMatchObject({ kind: "video", mid: "1", direction: "sendonly", ssrcs: [3284051460] });
    expect(isSending(audio!)).toBe(true);
  });

  test("chooses Opus, and H.264 42e01f packetization-mode 1 over the other H.264 profiles", () => {
    expect(chooseCodec(audio!)).toMatchObject({ codec: "opus", payloadType: 111, clockRate: 48000 });
    const v = chooseCodec(video!)!;
    expect(v.codec).toBe("H264");
    expect(v.payloadType).toBe(108);
    expect(v.fmtp).toContain("profile-level-id=42e01f");
    expect(v.fmtp).toContain("packetization-mode=1");
  });
});

describe("codec choice", () => {
  const media = (lines: string[]) => parseSdpMedia(["v=0", "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98", "a=mid:v", ...lines].join("\r\n"))[0]!;

  test("VP8 when no constrained-baseline H.264 with packetization-mode 1 is offered", () => {
    const m = media(["a=rtpmap:97 H264/90000", "a=fmtp:97 profile-level-id=42e01f;packetization-mode=0", "a=rtpmap:98 H264/90000", "a=fmtp:98 profile-level-id=640032;packetization-mode=1", "a=rtpmap:96 VP8/90000"]);
    expect(chooseCodec(m)).toMatchObject({ codec: "VP8", payloadType: 96 });
  });

  test("nothing usable → null (the offer is refused with a clear error)", () => {
    expect(chooseCodec(media(["a=rtpmap:98 VP9/90000"]))).toBeNull();
    expect(chooseCodec(parseSdpMedia("v=0\r\nm=audio 9 RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n")[0]!)).toBeNull();
  });

  test("constrained baseline detection", () => {
    expect(isConstrainedBaseline("profile-level-id=42e01f;packetization-mode=1")).toBe(true);
    expect(isConstrainedBaseline("profile-level-id=42c01f;packetization-mode=1")).toBe(true);
    expect(isConstrainedBaseline("profile-level-id=42001f;packetization-mode=1")).toBe(false); // plain baseline
    expect(isConstrainedBaseline("profile-level-id=4d001f;packetization-mode=1")).toBe(false); // main
    expect(isConstrainedBaseline("profile-level-id=42e01f")).toBe(false); // mode 0
    expect(isConstrainedBaseline("profile-level-id=zzz;packetization-mode=1")).toBe(false);
  });

  test("garbage SDP parses to nothing without throwing", () => {
    expect(parseSdpMedia("")).toEqual([]);
    expect(parseSdpMedia("m=\r\na=ssrc:notanumber\r\na=rtpmap:x\r\n")).toMatchObject([{ kind: "other", ssrcs: [], codecs: [] }]);
  });

  test("a stopped m= section (port 0) is not sending", () => {
    const m = parseSdpMedia("v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n")[0]!;
    expect(m.port).toBe(0);
    expect(isSending(m)).toBe(false);
  });
});

describe("RFC 6464 audio level", () => {
  const packet = (ext: number[], profile = 0xbede): Uint8Array => {
    const words = Math.ceil(ext.length / 4);
    const b = new Uint8Array(12 + 4 + words * 4 + 3);
    b[0] = 0x90;
    b[1] = 111;
    b[12] = profile >> 8;
    b[13] = profile & 0xff;
    b[15] = words;
    b.set(ext, 16);
    return b;
  };

  test("reads the level from one-byte and two-byte extensions, skipping others and padding", () => {
    const one = packet([0x20, 0xaa, 0x00, 0x10, 0x80 | 42]); // id 2 (1 byte), padding, id 1 (1 byte): V=1, level 42
    expect(readAudioLevel(one, parseRtp(one)!, 1)).toBe(42);
    expect(readAudioLevel(one, parseRtp(one)!, 3)).toBeNull();
    const two = packet([0x05, 0x01, 0x17, 0x01, 0x01, 0x80 | 99], 0x1000); // id 5 len 1, then id 1 len 1
    expect(readAudioLevel(two, parseRtp(two)!, 1)).toBe(99);
  });

  test("truncated or absent extensions give null", () => {
    const bad = packet([0x1f, 0x01]); // id 1 claiming 16 bytes
    expect(readAudioLevel(bad, parseRtp(bad)!, 1)).toBeNull();
    const none = Uint8Array.of(0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9);
    expect(readAudioLevel(none, parseRtp(none)!, 1)).toBeNull();
  });

  test("the speaker tracker names the loudest and falls silent", () => {
    const t = new SpeakerTracker();
    for (let i = 0; i < 20; i++) {
      t.push("quiet", 70);
      t.push("loud", 10);
      t.push("mid", 40);
    }
    expect(t.loudest()).toBe("loud");
    for (let i = 0; i < 20; i++) t.loudest();
    expect(t.loudest()).toBeNull();
  });
});

describe("MediaSession answers the captured Chrome offer", () => {
  test("recvonly answer with the offer's Opus and H.264 payload types and the audio-level extension; SSRCs bound", async () => {
    const media = new MediaServer({ port: 40000 + Math.floor(Math.random() * 20000), bindAddress: "127.0.0.1", clock: systemClock });
    try {
      const s = media.createSession("p1", "g", { onSubOffer: () => undefined });
      const { answer, refused } = await s.applyPubOffer(CHROME_PUB_OFFER, new Map([["0", "mic"], ["1", "camera"]]));
      expect(refused).toEqual([]);
      const [a, v] = parseSdpMedia(answer);
      expect(a).toMatchObject({ mid: "0", direction: "recvonly" });
      expect(a!.codecs.map((c) => c.payloadType)).toEqual([111]);
      expect(a!.extensions.get(AUDIO_LEVEL_URI)).toBe(1);
      expect(v).toMatchObject({ mid: "1", direction: "recvonly" });
      expect(v!.codecs.map((c) => `${c.payloadType} ${c.name}`)).toEqual(["108 H264"]);
      expect(s.publishedLabels().sort()).toEqual(["camera", "mic"]);
      // Another participant announcing the same SSRCs is refused.
      const t = media.createSession("p2", "g", { onSubOffer: () => undefined });
      const again = await t.applyPubOffer(CHROME_PUB_OFFER, new Map([["0", "mic"], ["1", "camera"]]));
      expect(again.refused.join(" ")).toContain("already in use by another participant");
      expect(t.publishedLabels()).toEqual([]);
      // An offer without a usable codec is refused with a message that says why.
      await expect(t.applyPubOffer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:5\r\na=sendonly\r\na=rtpmap:98 VP9/90000\r\n", new Map())).rejects.toThrow("no supported codec");
    } finally {
      media.close();
    }
  });
});
