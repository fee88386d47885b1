// The SFU benchmark's synthetic media and report helpers. No timing assertions: benchmarks are
// measured, not tested.
import { describe, expect, test } from "bun:test";
import { slope } from "./memory.ts";
import { goals, perTrack, sideBySide, type SfuRun } from "./report.ts";
import { Recorder } from "./traffic.ts";
import type { LevelResult } from "./measure.ts";
import { buildAudioPacket, buildVideoPacket, DEFAULT_VIDEO, readTag, stampPacket, tagOffset, videoPacketsPerSecond } from "./synthetic.ts";

const fields = { payloadType: 102, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true };

/** withExtension inserts a one-byte header extension (as an SFU adds mid / abs-send-time) and rewrites the SSRC. */
function forwardWithExtension(p: Uint8Array): Uint8Array {
  const ext = Uint8Array.of(0xbe, 0xde, 0x00, 0x01, 0x10, 0x31, 0x00, 0x00);
  const out = new Uint8Array(p.length + ext.length);
  out.set(p.subarray(0, 12));
  out[0] = out[0]! | 0x10;
  out.set([1, 2, 3, 4], 8);
  out.set(ext, 12);
  out.set(p.subarray(12), 12 + ext.length);
  return out;
}

describe("synthetic packets", () => {
  test("every H.264 packet kind and Opus carry a tag that survives SSRC rewriting and an added header extension", () => {
    const packets = [
      buildVideoPacket("stap", true, 1100, fields, 7, 1),
      buildVideoPacket("fu-start", true, 1100, fields, 7, 2),
      buildVideoPacket("fu-middle", false, 1100, fields, 7, 3),
      buildVideoPacket("fu-end", false, 1100, fields, 7, 4),
      buildVideoPacket("single", false, 900, fields, 7, 5),
      buildAudioPacket(100, { ...fields, payloadType: 111 }, 8, 6),
    ];
    packets.forEach((p, i) => {
      stampPacket(p, tagOffset(p), 1234.5 + i);
      expect(readTag(p)).toEqual({ stream: i === 5 ? 8 : 7, counter: i + 1, sentMs: 1234.5 + i });
      expect(readTag(forwardWithExtension(p))).toEqual({ stream: i === 5 ? 8 : 7, counter: i + 1, sentMs: 1234.5 + i });
    });
  });

  test("sizes, headers and NAL types are what a receiver expects", () => {
    const fu = buildVideoPacket("fu-start", true, 1100, fields, 1, 1);
    expect(fu.length).toBe(1100);
    expect(fu[0]).toBe(0x80);
    expect(fu[1]).toBe(0x80 | 102);
    expect([fu[2], fu[3]]).toEqual([0xff, 0xff]);
    expect(fu[12]! & 0x1f).toBe(28); // FU-A
    expect(fu[13]).toBe(0x80 | 5); // start bit, IDR
    const stap = buildVideoPacket("stap", true, 1100, fields, 1, 1);
    expect(stap[12]! & 0x1f).toBe(24); // STAP-A
    expect(stap[15]! & 0x1f).toBe(7); // first NAL: SPS
    expect(buildAudioPacket(100, fields, 1, 1).length).toBe(100);
  });

  test("RTCP, truncated and foreign packets have no tag", () => {
    expect(readTag(Uint8Array.of(0x80, 200, 0, 6, 1, 2, 3, 4))).toBeNull();
    expect(readTag(Uint8Array.of(0x80, 102, 0))).toBeNull();
    expect(readTag(new Uint8Array(200).fill(0x80))).toBeNull();
    const bad = buildVideoPacket("fu-end", false, 200, fields, 1, 1);
    bad[0] = 0x90; // claims an extension whose length runs past the end
    bad[14] = 0xff;
    bad[15] = 0xff;
    expect(readTag(bad)).toBeNull();
  });

  test("average video packet rate counts keyframe bursts", () => {
    // 30 fps × 3 + (25 − 3) extra packets every 3 s
    expect(videoPacketsPerSecond(DEFAULT_VIDEO)).toBeCloseTo(90 + 22 / 3, 6);
  });
});

const level = (over: Partial<LevelResult>): LevelResult => ({
  level: "full",
  publishers: 6,
  subscribers: 40,
  receiversPerStream: 45,
  seconds: 10,
  offeredPps: 880,
  expectedPps: 39600,
  forwardedPps: 39600,
  lossPct: 0,
  p50Ms: 1,
  p95Ms: 2,
  p99Ms: 3,
  serverCpuSeconds: 5,
  serverCpuPct: 50,
  cpuSecondsPerMillion: 12.5,
  packetsPerCoreSecond: 80000,
  generatorCpuPct: 60,
  serverRssMb: 90,
  incompleteSubscribers: 0,
  loopLagP99Ms: 1,
  loopLagMaxMs: 2,
  ...over,
});

describe("report", () => {
  test("goals compare Conclave with Janus and say when something was not measured", () => {
    const conclave: SfuRun = { server: "Conclave", levels: [level({ level: "half", p95Ms: 6 }), level({ cpuSecondsPerMillion: 10, packetsPerCoreSecond: 100000 })] };
    const janus: SfuRun = { server: "Janus VideoRoom", levels: [level({ level: "half" }), level({ cpuSecondsPerMillion: 20 })] };
    const g = goals(conclave, janus, {});
    expect(g.map((x) => x.met)).toEqual([true, true, false, null]);
    expect(g[0]!.measured).toContain("0.50×");
    expect(goals(undefined, janus, {}).map((x) => x.met)).toEqual([null, null, null, null]);
    expect(sideBySide(conclave, janus)).toContain("| full: server CPU-s per million forwarded | 10.00 | 20.00 | 0.50× |");
  });
});

describe("Recorder", () => {
  test("counts only packets sent inside the window and decodes their send time", () => {
    const rec = new Recorder();
    const at = (sentMs: number): Uint8Array => {
      const p = forwardWithExtension(buildVideoPacket("fu-middle", false, 1100, fields, 3, 9));
      stampPacket(p, tagOffset(p), sentMs);
      return p;
    };
    const t = performance.now();
    rec.open(t - 100);
    rec.sink(at(t - 200)); // before the window
    rec.sink(at(t - 50));
    rec.sink(Uint8Array.of(0x80, 201, 0, 1, 0, 0, 0, 1)); // RTCP: ignored
    rec.sink(new Uint8Array(50).fill(0x80)); // no tag
    rec.close(t + 1000);
    rec.sink(at(t + 1000)); // at the end: outside
    const r = rec.collect();
    expect(r.received).toBe(1);
    expect(rec.total).toBe(3);
    expect(rec.untagged).toBe(1);
    // latency = receive time − embedded send time (t − 50)
    expect(r.latenciesMs[0]!).toBeGreaterThanOrEqual(50);
    expect(r.latenciesMs[0]!).toBeLessThanOrEqual(performance.now() - (t - 50));
  });
});

describe("memory slopes", () => {
  test("per participant and per forwarded track", () => {
    const pts = [0, 2, 4].map((n) => ({ participants: n, rssMb: 40 + 3 * n * (n - 1) * 2 }));
    expect(perTrack(pts)).toBeCloseTo(3, 9);
    expect(slope([{ participants: 0, rssMb: 10 }, { participants: 10, rssMb: 30 }])).toBeCloseTo(2, 9);
    expect(slope([{ participants: 1, rssMb: 10 }])).toBeNaN();
  });
});
