import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PacketCache } from "./packet-cache.ts";

function pkt(len: number, fill = 0): Uint8Array {
  return new Uint8Array(len).fill(fill);
}

describe("PacketCache", () => {
  test("finds packets by (ssrc, seq) across the 16-bit wrap", () => {
    const c = new PacketCache({ maxPackets: 8, maxBytes: 10_000 });
    const seqs = [65534, 65535, 0, 1];
    seqs.forEach((s, i) => c.put(42, s, pkt(10, i)));
    expect(seqs.map((s) => c.get(42, s)?.[0])).toEqual([0, 1, 2, 3]);
    expect(c.get(43, 0)).toBeNull(); // same seq, other SSRC
    expect(c.get(42, 2)).toBeNull();
  });

  test("evicts the oldest packets beyond the packet cap", () => {
    const c = new PacketCache({ maxPackets: 3, maxBytes: 10_000 });
    for (let s = 0; s < 5; s++) c.put(1, s, pkt(10, s));
    expect(c.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((s) => c.get(1, s)?.[0] ?? null)).toEqual([null, null, 2, 3, 4]);
  });

  test("evicts the oldest packets beyond the byte cap", () => {
    const c = new PacketCache({ maxPackets: 100, maxBytes: 2500 });
    c.put(1, 1, pkt(1000));
    c.put(1, 2, pkt(1000));
    c.put(1, 3, pkt(1000)); // 3000 > 2500: seq 1 goes
    expect(c.get(1, 1)).toBeNull();
    expect(c.bytes).toBe(2000);
    c.put(1, 4, pkt(100));
    expect(c.bytes).toBe(2100);
    c.put(1, 5, pkt(2500)); // needs the whole cache
    expect(c.size).toBe(1);
    expect(c.get(1, 5)?.length).toBe(2500);
    c.put(1, 6, pkt(2501)); // larger than the cap: ignored, nothing evicted
    expect(c.get(1, 6)).toBeNull();
    expect(c.get(1, 5)).not.toBeNull();
  });

  test("a key stored again replaces the older packet (sequence numbers come round)", () => {
    const c = new PacketCache({ maxPackets: 4, maxBytes: 10_000 });
    c.put(1, 7, pkt(10, 1));
    c.put(1, 8, pkt(10, 2));
    c.put(1, 7, pkt(20, 3));
    expect(c.get(1, 7)?.[0]).toBe(3);
    expect(c.size).toBe(2);
    expect(c.bytes).toBe(30);
    for (let s = 9; s < 14; s++) c.put(1, s, pkt(10, s));
    expect(c.size).toBeLessThanOrEqual(4);
    expect(c.get(1, 13)?.[0]).toBe(13);
  });

  test("property: caps hold, byte count is exact, lookups never return a stale packet", () => {
    const op = fc.record({ ssrc: fc.nat({ max: 2 }), seq: fc.nat({ max: 20 }), len: fc.integer({ min: 1, max: 400 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 2000 }), fc.array(op, { maxLength: 200 }), (maxPackets, maxBytes, ops) => {
        const c = new PacketCache({ maxPackets, maxBytes });
        const latest = new Map<string, Uint8Array>();
        for (const o of ops) {
          const p = pkt(o.len);
          c.put(o.ssrc, o.seq, p);
          latest.set(`${o.ssrc}/${o.seq}`, p);
          if (o.len <= maxBytes) expect(c.get(o.ssrc, o.seq)).toBe(p); // the newest is always there
          expect(c.size).toBeLessThanOrEqual(maxPackets);
          expect(c.bytes).toBeLessThanOrEqual(maxBytes);
        }
        let sum = 0;
        let n = 0;
        for (const [k, p] of latest) {
          const [s, q] = k.split("/").map(Number);
          const got = c.get(s!, q!);
          if (got !== null) {
            expect(got).toBe(p);
            sum += got.length;
            n++;
          }
        }
        expect(c.bytes).toBe(sum);
        expect(c.size).toBe(n);
      }),
      { numRuns: 300 },
    );
  });
});
