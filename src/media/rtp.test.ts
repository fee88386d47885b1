import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { buildRtp, isRtcpPacket, parseRtp, rewriteRtp } from "./rtp.ts";
import { H264_FUA_END_MARKER, H264_SINGLE_NAL_MARKER, H264_SPS, LIBDATACHANNEL_PLI, hex } from "./fixtures.ts";

describe("parseRtp on captured libdatachannel packets", () => {
  test("reads the header of an SPS packet", () => {
    const h = parseRtp(H264_SPS);
    expect(h).toMatchObject({
      version: 2,
      padding: false,
      extension: false,
      csrcCount: 0,
      marker: false,
      payloadType: 102,
      sequence: 0x4074,
      timestamp: 0xaac8b4db,
      ssrc: 0x11223344,
      payloadStart: 12,
      payloadEnd: 22,
    });
    expect(H264_SPS[h!.payloadStart]! & 0x1f).toBe(7); // NAL type 7 = SPS
  });

  test("sees the marker on the last packet of a frame", () => {
    expect(parseRtp(H264_FUA_END_MARKER)?.marker).toBe(true);
    expect(parseRtp(H264_SINGLE_NAL_MARKER)).toMatchObject({ marker: true, sequence: 0x407a, timestamp: 0xaac8c093 });
  });

  test("tells RTCP from RTP on a muxed port", () => {
    expect(isRtcpPacket(H264_SPS)).toBe(false);
    expect(isRtcpPacket(H264_SINGLE_NAL_MARKER)).toBe(false); // PT 102 + marker = 0xe6, outside 192..223
    expect(isRtcpPacket(LIBDATACHANNEL_PLI)).toBe(true);
  });
});

describe("parseRtp on hand-built RFC 3550 / RFC 8285 packets", () => {
  test("CSRCs, a one-byte header extension and padding are bounded exactly", () => {
    // V=2 P=1 X=1 CC=2 | M=1 PT=111 | seq 0xffff | ts 1000 | ssrc 0xdeadbeef | 2 CSRC |
    // ext profile 0xBEDE, 1 word: id 3 len 1 (0xaabb) + pad | payload 01 02 03 | padding 00 00 03
    const p = hex(
      "b2 ef ffff 000003e8 deadbeef 00000001 00000002 bede0001 31aabb00 010203 000003",
    );
    const h = parseRtp(p)!;
    expect(h).toMatchObject({
      padding: true,
      extension: true,
      csrcCount: 2,
      marker: true,
      payloadType: 111,
      sequence: 0xffff,
      timestamp: 1000,
      ssrc: 0xdeadbeef,
      csrcs: [1, 2],
      extensionProfile: 0xbede,
      extensionStart: 24,
      extensionEnd: 28,
      payloadStart: 28,
      payloadEnd: 31,
      paddingLength: 3,
    });
    expect([...p.subarray(h.payloadStart, h.payloadEnd)]).toEqual([1, 2, 3]);
  });

  test("malformed headers are refused, not thrown on", () => {
    expect(parseRtp(hex("80"))).toBeNull(); // shorter than 12 bytes
    expect(parseRtp(hex("40 66 0001 00000000 00000001"))).toBeNull(); // version 1
    expect(parseRtp(hex("83 66 0001 00000000 00000001 00000001"))).toBeNull(); // 3 CSRCs promised, 1 present
    expect(parseRtp(hex("90 66 0001 00000000 00000001 bede0002 00000000"))).toBeNull(); // extension overruns
    expect(parseRtp(hex("90 66 0001 00000000 00000001 be"))).toBeNull(); // extension header cut short
    expect(parseRtp(hex("a0 66 0001 00000000 00000001 0102 09"))).toBeNull(); // padding longer than packet
    expect(parseRtp(hex("a0 66 0001 00000000 00000001 0102 00"))).toBeNull(); // padding count 0
  });
});

describe("rewriteRtp", () => {
  test("rewrites SSRC, sequence (wrapping) and timestamp (wrapping) on a copy", () => {
    const out = rewriteRtp(H264_SINGLE_NAL_MARKER, { ssrc: 0xcafebabe, seqOffset: 0x10000 - 0x407a, tsOffset: 0x100000000 - 0xaac8c093 + 5 })!;
    expect([...out.subarray(0, 12)]).toEqual([...hex("80e60000 00000005 cafebabe")]);
    expect([...out.subarray(12)]).toEqual([...H264_SINGLE_NAL_MARKER.subarray(12)]);
    expect(parseRtp(H264_SINGLE_NAL_MARKER)?.ssrc).toBe(0x11223344); // input untouched
  });

  test("rewrites the payload type keeping the marker bit", () => {
    const out = rewriteRtp(H264_FUA_END_MARKER, { ssrc: 1, seqOffset: 0, tsOffset: 0, payloadType: 96 })!;
    expect(out[1]).toBe(0x80 | 96);
    expect(rewriteRtp(hex("80"), { ssrc: 1, seqOffset: 0, tsOffset: 0 })).toBeNull();
  });

  test("buildRtp produces what parseRtp reads", () => {
    const p = buildRtp({ ssrc: 7, sequence: 65535, timestamp: 0xffffffff, payloadType: 111, marker: true, payload: hex("0102") });
    expect([...p]).toEqual([...hex("80ef ffff ffffffff 00000007 0102")]);
  });
});

describe("RTP properties", () => {
  test("random bytes never make the parser or rewriter throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.integer(), fc.integer(), (bytes, ssrc, so, to) => {
        const h = parseRtp(bytes);
        if (h !== null) {
          expect(h.payloadStart).toBeLessThanOrEqual(h.payloadEnd);
          expect(h.payloadEnd).toBeLessThanOrEqual(bytes.length);
        }
        rewriteRtp(bytes, { ssrc, seqOffset: so, tsOffset: to });
      }),
      { numRuns: 3000 },
    );
  });

  test("random 2-prefixed bytes (likely RTP) never throw either", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x80, max: 0xbf }), fc.uint8Array({ maxLength: 80 }), (b0, rest) => {
        const bytes = Uint8Array.of(b0, ...rest);
        parseRtp(bytes);
        rewriteRtp(bytes, { ssrc: 1, seqOffset: 1, tsOffset: 1 });
      }),
      { numRuns: 3000 },
    );
  });

  test("parse(rewrite(p)) keeps payload and changes only ssrc / seq / ts", () => {
    const arb = fc.record({
      ssrc: fc.nat({ max: 0xffffffff }),
      sequence: fc.nat({ max: 0xffff }),
      timestamp: fc.nat({ max: 0xffffffff }),
      payloadType: fc.nat({ max: 127 }),
      marker: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 100 }),
      newSsrc: fc.nat({ max: 0xffffffff }),
      seqOffset: fc.nat({ max: 0xffff }),
      tsOffset: fc.nat({ max: 0xffffffff }),
    });
    fc.assert(
      fc.property(arb, (a) => {
        const p = buildRtp(a);
        const before = parseRtp(p)!;
        const out = rewriteRtp(p, { ssrc: a.newSsrc, seqOffset: a.seqOffset, tsOffset: a.tsOffset })!;
        const after = parseRtp(out)!;
        expect(after).toEqual({
          ...before,
          ssrc: a.newSsrc,
          sequence: (a.sequence + a.seqOffset) % 65536,
          timestamp: (a.timestamp + a.tsOffset) % 2 ** 32,
        });
        expect([...out.subarray(after.payloadStart)]).toEqual([...a.payload]);
      }),
      { numRuns: 500 },
    );
  });
});
