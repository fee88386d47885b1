import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fixedClock } from "../shared/clock.ts";
import { SequenceRewriter } from "./sequence-rewriter.ts";

function rewriter(window?: number): { rw: SequenceRewriter; clock: ReturnType<typeof fixedClock> } {
  const clock = fixedClock();
  return { rw: new SequenceRewriter({ clockRate: 90000, clock, window }), clock };
}

function seqs(rw: SequenceRewriter, ssrc: number, input: number[], ts = 0): (number | null)[] {
  return input.map((s) => rw.push(ssrc, s & 0xffff, ts)?.sequence ?? null);
}

describe("SequenceRewriter", () => {
  test("the first source passes through unchanged, across the 16-bit wrap", () => {
    const { rw } = rewriter();
    expect(seqs(rw, 1, [65533, 65534, 65535, 0, 1, 2])).toEqual([65533, 65534, 65535, 0, 1, 2]);
    expect(rw.push(1, 3, 1234)).toEqual({ sequence: 3, timestamp: 1234 });
  });

  test("reordered packets keep their relative order, also around the wrap", () => {
    const { rw } = rewriter();
    expect(seqs(rw, 1, [65534, 0, 65535, 2, 1])).toEqual([65534, 0, 65535, 2, 1]);
  });

  test("duplicates are dropped and counted, also after a wrap", () => {
    const { rw } = rewriter();
    expect(seqs(rw, 1, [65535, 0, 65535, 0, 1])).toEqual([65535, 0, null, null, 1]);
    expect(rw.drops.duplicate).toBe(2);
    expect(rw.lastDrop).toBeNull();
    expect(rw.push(1, 1, 0)).toBeNull();
    expect(rw.lastDrop).toBe("duplicate");
  });

  test("packets older than the window are dropped as too old", () => {
    const { rw } = rewriter(64);
    seqs(rw, 1, [100, 200]);
    expect(rw.push(1, 120, 0)).toBeNull();
    expect(rw.drops.too_old).toBe(1);
    expect(rw.push(1, 150, 0)?.sequence).toBe(150); // inside the window: a late but wanted packet
  });

  test("a source switch continues the sequence and advances the timestamp by the elapsed time", () => {
    const { rw, clock } = rewriter();
    expect(rw.push(1, 65534, 1000)).toEqual({ sequence: 65534, timestamp: 1000 });
    expect(rw.push(1, 65535, 4000)).toEqual({ sequence: 65535, timestamp: 4000 });
    clock.advance(100); // 100 ms at 90 kHz = 9000 ticks
    // a new source (e.g. the high simulcast layer, or a reconnected publisher) with unrelated numbers
    expect(rw.push(2, 30000, 777)).toEqual({ sequence: 0, timestamp: 13000 });
    expect(rw.push(2, 30001, 3777)).toEqual({ sequence: 1, timestamp: 16000 });
    expect(rw.currentSsrc).toBe(2);
    // switching back to the first source continues again, without reusing numbers
    expect(rw.push(1, 0, 7000)?.sequence).toBe(2);
    expect(rw.push(1, 1, 10000)?.sequence).toBe(3);
  });

  test("a late packet of the new source from before the switch is dropped instead of reusing a number", () => {
    const { rw } = rewriter();
    seqs(rw, 1, [10, 11, 12]);
    expect(seqs(rw, 2, [500, 499, 501])).toEqual([13, null, 14]);
    expect(rw.drops.before_switch).toBe(1);
  });

  test("the timestamp never goes backwards across an immediate switch", () => {
    const { rw } = rewriter();
    rw.push(1, 1, 0xfffffff0);
    expect(rw.push(2, 1, 5)).toEqual({ sequence: 2, timestamp: 0xfffffff1 }); // +1 tick minimum, wrapping later
  });

  test("property: any in-window shuffle of a source's packets comes out unique and order-preserving", () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff }), fc.integer({ min: 1, max: 200 }), fc.integer(), (start, start2, n, seed) => {
        const { rw } = rewriter();
        const input = Array.from({ length: n }, (_, i) => i);
        // deterministic local shuffle (each packet moves at most 8 places)
        for (let i = 0; i < n; i++) {
          const j = Math.min(n - 1, i + (Math.abs(seed + i * 7919) % 8));
          [input[i], input[j]] = [input[j]!, input[i]!];
        }
        const first = rw.push(9, (start2 + 70000) & 0xffff, 0)!.sequence; // a previous source
        const out = input.map((i) => ({ i, o: rw.push(7, (start + i) & 0xffff, 0) }));
        const kept = out.filter((x) => x.o !== null).map((x) => ({ i: x.i, ext: ((x.o!.sequence - first) & 0xffff) }));
        expect(new Set(kept.map((k) => k.ext)).size).toBe(kept.length);
        for (const a of kept) for (const b of kept) if (a.i < b.i) expect(a.ext).toBeLessThan(b.ext);
        for (const k of kept) expect(k.ext).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });
});
