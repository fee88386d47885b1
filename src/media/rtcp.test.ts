import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseRtcp } from "./rtcp.ts";
import { buildFir, buildNack, buildPli, buildRr, nackEntries } from "./rtcp-build.ts";
import { LIBDATACHANNEL_PLI, LIBDATACHANNEL_RR, hex } from "./fixtures.ts";

describe("parseRtcp on captured libdatachannel packets", () => {
  test("the receiver report from RtcpReceivingSession", () => {
    expect(parseRtcp(LIBDATACHANNEL_RR)).toEqual([
      {
        kind: "rr",
        ssrc: 0x11223344,
        reports: [
          { ssrc: 0x11223344, fractionLost: 0, packetsLost: 0, highestSeq: 0, jitter: 0, lastSr: 0xc642fac6, delaySinceLastSr: 0 },
        ],
      },
    ]);
  });

  test("the PLI from requestKeyframe() is byte-identical to buildPli", () => {
    expect(parseRtcp(LIBDATACHANNEL_PLI)).toEqual([{ kind: "pli", senderSsrc: 0x11223344, mediaSsrc: 0x11223344 }]);
    expect([...buildPli(0x11223344, 0x11223344)]).toEqual([...LIBDATACHANNEL_PLI]);
  });
});

describe("parseRtcp on hand-built RFC 3550 / 4585 / 5104 packets", () => {
  // SR with one report block + SDES CNAME + BYE with reason: a full compound packet.
  const compound = hex(
    // SR: V=2 RC=1 PT=200 length=12 | ssrc | NTP 0x83aa7e80.0x80000000 | rtp ts 1000 | 5 pkts | 600 octets
    "81c8000c 0000abcd 83aa7e80 80000000 000003e8 00000005 00000258" +
      // report block: ssrc 0x1234, fraction 0x40, lost -1 (0xffffff), highest 0x00010005, jitter 9, lsr 0x7e808000, dlsr 0x10000
      "00001234 40ffffff 00010005 00000009 7e808000 00010000" +
      // SDES: SC=1 PT=202 length=3 | ssrc | CNAME(1) len 4 "abcd" | null + pad (2 bytes)
      "81ca0003 0000abcd 0104 61626364 0000" +
      // BYE: SC=1 PT=203 length=3 | ssrc | reason len 3 "bye" (+ no pad needed: 1+3=4)
      "81cb0002 0000abcd 03627965",
  );

  test("SR, SDES and BYE in one compound packet", () => {
    expect(parseRtcp(compound)).toEqual([
      {
        kind: "sr",
        ssrc: 0xabcd,
        ntpSeconds: 0x83aa7e80,
        ntpFraction: 0x80000000,
        rtpTimestamp: 1000,
        packetCount: 5,
        octetCount: 600,
        reports: [{ ssrc: 0x1234, fractionLost: 0x40, packetsLost: -1, highestSeq: 0x10005, jitter: 9, lastSr: 0x7e808000, delaySinceLastSr: 0x10000 }],
      },
      { kind: "sdes", chunks: [{ ssrc: 0xabcd, items: [{ type: 1, text: "abcd" }] }] },
      { kind: "bye", ssrcs: [0xabcd], reason: "bye" },
    ]);
  });

  test("generic NACK expands PID + BLP into lost sequence numbers, across wrap-around", () => {
    // PID 0xfffe, BLP bits 0 and 2 → 0xffff and 0x0001
    const nack = hex("81cd0003 00000001 00000002 fffe0005");
    expect(parseRtcp(nack)).toEqual([{ kind: "nack", senderSsrc: 1, mediaSsrc: 2, lost: [0xfffe, 0xffff, 1] }]);
  });

  test("FIR and REMB", () => {
    const fir = hex("84ce0004 00000001 00000000 00000777 2a000000");
    expect(parseRtcp(fir)).toEqual([{ kind: "fir", senderSsrc: 1, entries: [{ ssrc: 0x777, seqNr: 42 }] }]);
    // REMB: FMT 15, "REMB", 1 SSRC, exp 2, mantissa 0x3ffff → 0x3ffff * 4 bit/s
    const remb = hex("8fce0005 00000001 00000000 52454d42 010bffff 00000777");
    expect(parseRtcp(remb)).toEqual([{ kind: "remb", senderSsrc: 1, bitrate: 0x3ffff * 4, ssrcs: [0x777] }]);
  });

  test("unknown types pass as 'other'; padding on the last packet is honoured", () => {
    // APP (204) with padding bit: length 2 (12 bytes), last 4 bytes are padding (count 4)
    expect(parseRtcp(hex("a0cc0002 00000001 00000004"))).toEqual([{ kind: "other", packetType: 204, fmt: 0, start: 0, end: 8 }]); // body ends before the padding
  });

  test("malformed compounds are refused, not thrown on", () => {
    expect(parseRtcp(hex("81c9"))).toBeNull(); // short
    expect(parseRtcp(hex("41c90001 00000001"))).toBeNull(); // version 1
    expect(parseRtcp(hex("81c90007 00000001"))).toBeNull(); // length overruns
    expect(parseRtcp(hex("82c90001 00000001"))).toBeNull(); // 2 report blocks promised, none present
    expect(parseRtcp(hex("81ca0002 00000001 01ff6162"))).toBeNull(); // SDES item overruns
    expect(parseRtcp(hex("a1c90001 00000001 81c90001 00000001"))).toBeNull(); // padding not on the last packet
    expect(parseRtcp(hex("81ce0001 00000001"))).toBeNull(); // feedback without media SSRC
    expect(parseRtcp(hex("8fce0004 00000001 00000000 52454d42 02000001"))).toBeNull(); // REMB SSRCs missing
  });
});

describe("RTCP builders", () => {
  test("buildFir per RFC 5104 §4.3.1", () => {
    expect([...buildFir(1, 0x777, 42)]).toEqual([...hex("84ce0004 00000001 00000000 00000777 2a000000")]);
  });

  test("buildNack packs lost sequences into PID/BLP pairs, wrapping", () => {
    expect(nackEntries([0xfffe, 0xffff, 1, 40, 40])).toEqual([
      { pid: 0xfffe, blp: 0b101 },
      { pid: 40, blp: 0 },
    ]);
    const nack = buildNack(1, 2, [0xfffe, 0xffff, 1]);
    expect([...nack]).toEqual([...hex("81cd0003 00000001 00000002 fffe0005")]);
  });

  test("buildRr round-trips through parseRtcp", () => {
    const block = { ssrc: 9, fractionLost: 200, packetsLost: -5, highestSeq: 0x1ffff, jitter: 3, lastSr: 4, delaySinceLastSr: 5 };
    expect(parseRtcp(buildRr(0xfeedface, [block]))).toEqual([{ kind: "rr", ssrc: 0xfeedface, reports: [block] }]);
  });

  test("any lost list survives buildNack → parseRtcp as a set", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 0xffff }), { minLength: 1, maxLength: 60 }), (lost) => {
        const parsed = parseRtcp(buildNack(1, 2, lost));
        const got = parsed?.[0]?.kind === "nack" ? parsed[0].lost : [];
        expect(new Set(got)).toEqual(new Set(lost));
      }),
    );
  });

  test("random bytes never make parseRtcp throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0xc8, max: 0xce }), (rest, pt) => {
        parseRtcp(rest);
        parseRtcp(Uint8Array.of(0x81, pt, 0, rest.length >> 2, ...rest));
      }),
      { numRuns: 3000 },
    );
  });
});
