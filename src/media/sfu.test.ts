import { describe, expect, test } from "bun:test";
import { fixedClock } from "../shared/clock.ts";
import { H264_PPS, H264_SINGLE_NAL_MARKER, H264_SPS } from "./fixtures.ts";
import { buildFir, buildNack, buildPli } from "./rtcp-build.ts";
import { buildRtp, parseRtp } from "./rtp.ts";
import { Router } from "./sfu.ts";
import type { DownTrack, MediaKind, UpTrack } from "./tracks.ts";

type FakeUp = UpTrack & { keyframeRequests: number[] };
type FakeDown = DownTrack & { sent: Uint8Array[] };

function up(id: string, peerId: string, ssrcs: number[], kind: MediaKind = "video"): FakeUp {
  const keyframeRequests: number[] = [];
  return { id, peerId, kind, ssrcs, clockRate: kind === "video" ? 90000 : 48000, keyframeRequests, requestKeyframe: (s) => void keyframeRequests.push(s) };
}

function down(id: string, peerId: string, ssrc: number, payloadTypes?: Map<number, number>): FakeDown {
  const sent: Uint8Array[] = [];
  return { id, peerId, ssrc, payloadTypes, sent, send: (p) => void sent.push(p) };
}

function setup(): { router: Router; clock: ReturnType<typeof fixedClock>; cam: FakeUp } {
  const clock = fixedClock();
  const router = new Router({ clock });
  const cam = up("alice/cam", "alice", [0x11223344]);
  expect(router.addUpTrack(cam)).toBe("ok");
  return { router, clock, cam };
}

const rtp = (ssrc: number, sequence: number, timestamp = 1000, payload = Uint8Array.of(1, 2, 3)): Uint8Array =>
  buildRtp({ ssrc, sequence, timestamp, payloadType: 102, payload });

describe("Router forwarding", () => {
  test("forwards captured H.264 packets to N subscribers, each with its own SSRC and the payload untouched", () => {
    const { router } = setup();
    const subs = [1, 2, 3].map((i) => down(`d${i}`, `peer${i}`, 0xa000 + i));
    for (const d of subs) expect(router.subscribe(d, "alice/cam")).toBe("ok");
    for (const p of [H264_SPS, H264_PPS, H264_SINGLE_NAL_MARKER]) router.handleRtp("alice", p);
    for (const d of subs) {
      expect(d.sent.map((p) => parseRtp(p)!.ssrc)).toEqual([d.ssrc, d.ssrc, d.ssrc]);
      expect(d.sent.map((p) => parseRtp(p)!.sequence)).toEqual([0x4074, 0x4075, 0x407a]);
      expect([...d.sent[2]!.subarray(12)]).toEqual([...H264_SINGLE_NAL_MARKER.subarray(12)]);
      expect(parseRtp(d.sent[2]!)!.marker).toBe(true);
    }
    expect(router.stats.forwarded).toBe(9);
    expect(parseRtp(H264_SPS)!.ssrc).toBe(0x11223344); // the received buffer is never modified
  });

  test("rewrites the payload type where the subscriber negotiated another", () => {
    const { router } = setup();
    const d = down("d", "bob", 7, new Map([[102, 96]]));
    router.subscribe(d, "alice/cam");
    router.handleRtp("alice", H264_SPS);
    expect(parseRtp(d.sent[0]!)!.payloadType).toBe(96);
  });

  test("unsubscribe stops forwarding to that subscriber only", () => {
    const { router } = setup();
    const b = down("b", "bob", 1);
    const c = down("c", "carol", 2);
    router.subscribe(b, "alice/cam");
    router.subscribe(c, "alice/cam");
    router.handleRtp("alice", rtp(0x11223344, 1));
    router.unsubscribe("b");
    router.handleRtp("alice", rtp(0x11223344, 2));
    expect(b.sent.length).toBe(1);
    expect(c.sent.length).toBe(2);
  });

  test("a publisher reconnect (new up-track, new SSRC) keeps the subscriber's sequence continuous", () => {
    const { router, cam } = setup();
    const d = down("d", "bob", 9);
    router.subscribe(d, "alice/cam");
    router.handleRtp("alice", rtp(0x11223344, 65535));
    router.removeUpTrack(cam.id);
    router.handleRtp("alice", rtp(0x11223344, 0)); // old SSRC no longer announced
    expect(router.stats.spoofed).toBe(1);
    expect(router.addUpTrack(up("alice/cam2", "alice", [0x55]))).toBe("ok");
    expect(router.subscribe(d, "alice/cam2")).toBe("ok");
    router.handleRtp("alice", rtp(0x55, 12345));
    router.handleRtp("alice", rtp(0x55, 12346));
    expect(d.sent.map((p) => parseRtp(p)!.sequence)).toEqual([65535, 0, 1]);
    expect(router.subscribe(d, "nope")).toBe("no_such_track");
  });

  test("simulcast: only the selected layer is forwarded, and a layer switch keeps sequence continuous", () => {
    const { router } = setup();
    router.addUpTrack(up("sc", "alice", [100, 200]));
    const d = down("d", "bob", 9);
    router.subscribe(d, "sc");
    router.handleRtp("alice", rtp(100, 10));
    router.handleRtp("alice", rtp(200, 500)); // other layer: not forwarded
    expect(router.selectSsrc("d", 200)).toBe(true);
    expect(router.selectSsrc("d", 999)).toBe(false);
    router.handleRtp("alice", rtp(100, 11)); // old layer now ignored
    router.handleRtp("alice", rtp(200, 501));
    expect(d.sent.map((p) => parseRtp(p)!.sequence)).toEqual([10, 11]);
  });

  test("duplicates from the publisher are not forwarded twice", () => {
    const { router } = setup();
    const d = down("d", "bob", 9);
    router.subscribe(d, "alice/cam");
    router.handleRtp("alice", H264_SPS);
    router.handleRtp("alice", H264_SPS);
    expect(d.sent.length).toBe(1);
    expect(router.stats.rewriterDrops).toBe(1);
  });

  test("audio and video down-tracks cannot be crossed", () => {
    const { router } = setup();
    router.addUpTrack(up("mic", "alice", [77], "audio"));
    const d = down("d", "bob", 9);
    router.subscribe(d, "alice/cam");
    expect(router.subscribe(d, "mic")).toBe("kind_mismatch");
  });
});

describe("Router refuses spoofing", () => {
  test("RTP with another peer's SSRC is dropped and counted", () => {
    const { router } = setup();
    const d = down("d", "bob", 9);
    router.subscribe(d, "alice/cam");
    router.handleRtp("mallory", H264_SPS); // Alice's SSRC, sent by Mallory
    router.handleRtp("mallory", rtp(0xdead, 1)); // an SSRC nobody announced
    router.handleRtp("alice", Uint8Array.of(0x80, 1, 2)); // malformed
    expect(d.sent.length).toBe(0);
    expect(router.stats.spoofed).toBe(2);
    expect(router.stats.malformed).toBe(1);
  });

  test("a peer cannot announce an SSRC already bound to another peer", () => {
    const { router } = setup();
    expect(router.addUpTrack(up("m", "mallory", [0x11223344]))).toBe("ssrc_taken");
    expect(router.addUpTrack(up("alice/cam", "alice", [1]))).toBe("duplicate_id");
  });

  test("feedback about another peer's down-track is ignored", () => {
    const { router, cam } = setup();
    const d = down("d", "bob", 9);
    router.subscribe(d, "alice/cam");
    const before = cam.keyframeRequests.length;
    router.handleRtp("alice", rtp(0x11223344, 1));
    router.handleRtcp("mallory", buildPli(1, 9));
    router.handleRtcp("mallory", buildNack(1, 9, [1]));
    expect(cam.keyframeRequests.length).toBe(before);
    expect(d.sent.length).toBe(1);
    expect(router.stats.foreignFeedback).toBe(2);
  });

  test("removePeer drops the peer's tracks and subscriptions", () => {
    const { router } = setup();
    const d = down("d", "bob", 9);
    router.subscribe(d, "alice/cam");
    router.removePeer("bob");
    router.handleRtp("alice", rtp(0x11223344, 1));
    expect(d.sent.length).toBe(0);
    router.removePeer("alice");
    router.handleRtp("alice", rtp(0x11223344, 2));
    expect(router.stats.spoofed).toBe(1);
  });
});

describe("Router feedback", () => {
  test("NACK is answered from the cache with the exact rewritten bytes", () => {
    const { router } = setup();
    const d = down("d", "bob", 9);
    router.subscribe(d, "alice/cam");
    for (const s of [65534, 65535, 0, 1]) router.handleRtp("alice", rtp(0x11223344, s, 1000, Uint8Array.of(s & 0xff)));
    const sentBefore = [...d.sent];
    router.handleRtcp("bob", buildNack(0xb0b, 9, [65535, 0, 5]));
    expect(d.sent.length).toBe(6);
    expect(d.sent[4]).toBe(sentBefore[1]!);
    expect(d.sent[5]).toBe(sentBefore[2]!);
    expect(router.stats.retransmitted).toBe(2);
    expect(router.stats.nackMisses).toBe(1);
  });

  test("audio down-tracks keep no retransmission cache unless asked: a NACK for audio is a miss", () => {
    for (const audioCache of [undefined, { maxPackets: 8, maxBytes: 4096 }]) {
      const router = new Router({ clock: fixedClock(), audioCache });
      expect(router.addUpTrack(up("alice/mic", "alice", [0x55], "audio"))).toBe("ok");
      const d = down("d", "bob", 9);
      router.subscribe(d, "alice/mic");
      for (const s of [1, 2, 3]) router.handleRtp("alice", rtp(0x55, s));
      expect(d.sent.length).toBe(3);
      const seqOfFirst = new DataView(d.sent[0]!.buffer, d.sent[0]!.byteOffset).getUint16(2);
      router.handleRtcp("bob", buildNack(0xb0b, 9, [seqOfFirst]));
      expect(router.stats.retransmitted).toBe(audioCache ? 1 : 0);
    }
  });

  test("a PLI storm from many subscribers reaches the publisher once per 500 ms", () => {
    const { router, clock, cam } = setup();
    const subs = Array.from({ length: 20 }, (_, i) => down(`d${i}`, `p${i}`, 1000 + i));
    for (const d of subs) router.subscribe(d, "alice/cam"); // the first subscribe asks for a keyframe
    expect(cam.keyframeRequests).toEqual([0x11223344]);
    for (let round = 0; round < 5; round++) for (const d of subs) router.handleRtcp(d.peerId, buildPli(1, d.ssrc));
    expect(cam.keyframeRequests.length).toBe(1);
    clock.advance(499);
    router.handleRtcp("p0", buildFir(1, 1000, 1));
    expect(cam.keyframeRequests.length).toBe(1);
    clock.advance(1);
    router.handleRtcp("p3", buildFir(1, 1003, 1));
    expect(cam.keyframeRequests.length).toBe(2);
    expect(router.stats.keyframeRequests).toBe(2);
    expect(router.stats.keyframeRequestsCoalesced).toBe(19 + 100 + 1);
  });

  test("keyframe requests are limited per up-track, not globally", () => {
    const { router, cam } = setup();
    const other = up("bob/cam", "bob", [0x77]);
    router.addUpTrack(other);
    router.subscribe(down("d1", "carol", 1), "alice/cam");
    router.subscribe(down("d2", "carol", 2), "bob/cam");
    expect(cam.keyframeRequests.length).toBe(1);
    expect(other.keyframeRequests.length).toBe(1);
  });

  test("a throwing transport is counted, never propagated", () => {
    const { router } = setup();
    const bad: DownTrack = { id: "x", peerId: "x", ssrc: 5, send: () => { throw new Error("closed"); } };
    router.subscribe(bad, "alice/cam");
    expect(() => router.handleRtp("alice", H264_SPS)).not.toThrow();
    expect(router.stats.sendErrors).toBe(1);
    router.handleRtcp("x", Uint8Array.of(1, 2, 3));
    expect(router.stats.malformed).toBe(1);
  });
});
