import { describe, expect, test } from "bun:test";
import * as asn1 from "./asn1.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

describe("asn1 DER encoder", () => {
  test("encodes lengths in short and long form", () => {
    expect(hex(asn1.encodeLength(0))).toBe("00");
    expect(hex(asn1.encodeLength(127))).toBe("7F");
    expect(hex(asn1.encodeLength(128))).toBe("8180");
    expect(hex(asn1.encodeLength(256))).toBe("820100");
    expect(hex(asn1.encodeLength(70000))).toBe("83011170");
  });

  test("encodes well-known object identifiers", () => {
    expect(hex(asn1.oid("1.2.840.10045.4.3.2"))).toBe("06082A8648CE3D040302"); // ecdsa-with-SHA256
    expect(hex(asn1.oid("2.5.4.3"))).toBe("0603550403"); // commonName
    expect(hex(asn1.oid("1.3.6.1.5.5.7.3.1"))).toBe("06082B06010505070301"); // serverAuth
    expect(hex(asn1.oid("1.2.840.113549.1.1.11"))).toBe("06092A864886F70D01010B");
    expect(() => asn1.oid("1")).toThrow();
    expect(() => asn1.oid("3.1")).toThrow();
    expect(() => asn1.oid("1.2.x")).toThrow();
  });

  test("encodes non-negative integers minimally with a sign octet when needed", () => {
    expect(hex(asn1.integer(0))).toBe("020100");
    expect(hex(asn1.integer(2))).toBe("020102");
    expect(hex(asn1.integer(127))).toBe("02017F");
    expect(hex(asn1.integer(128))).toBe("02020080");
    expect(hex(asn1.integer(256))).toBe("02020100");
    expect(hex(asn1.integer(Uint8Array.of(0, 0, 0x80)))).toBe("02020080");
    expect(hex(asn1.integer(Uint8Array.of(0, 0)))).toBe("020100");
    expect(() => asn1.integer(-1)).toThrow();
  });

  test("encodes booleans, null, bit and octet strings", () => {
    expect(hex(asn1.booleanValue(true))).toBe("0101FF");
    expect(hex(asn1.booleanValue(false))).toBe("010100");
    expect(hex(asn1.nullValue())).toBe("0500");
    expect(hex(asn1.bitString(Uint8Array.of(0x80), 7))).toBe("03020780");
    expect(hex(asn1.octetString(Uint8Array.of(1, 2)))).toBe("04020102");
    expect(() => asn1.bitString(Uint8Array.of(), 1)).toThrow();
  });

  test("encodes strings and refuses non-ASCII in IA5String", () => {
    expect(hex(asn1.utf8String("é"))).toBe("0C02C3A9");
    expect(hex(asn1.ia5String("a.b"))).toBe("1603612E62");
    expect(() => asn1.ia5String("é")).toThrow();
  });

  test("uses UTCTime before 2050 and GeneralizedTime from 2050", () => {
    expect(Buffer.from(asn1.time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).subarray(2).toString()).toBe("260102030405Z");
    expect(asn1.time(new Date(Date.UTC(2026, 0, 1)))[0]).toBe(0x17);
    const g = asn1.time(new Date(Date.UTC(2050, 11, 31, 23, 59, 59)));
    expect(g[0]).toBe(0x18);
    expect(Buffer.from(g).subarray(2).toString()).toBe("20501231235959Z");
  });

  test("nests sequences, sorts SET OF and tags context-specific elements", () => {
    expect(hex(asn1.sequence())).toBe("3000");
    expect(hex(asn1.sequence(asn1.integer(1), asn1.nullValue()))).toBe("30050201010500");
    expect(hex(asn1.setOf(asn1.integer(2), asn1.integer(1)))).toBe("3106020101020102");
    expect(hex(asn1.explicit(0, asn1.integer(2)))).toBe("A003020102");
    expect(hex(asn1.implicitPrimitive(7, Uint8Array.of(127, 0, 0, 1)))).toBe("87047F000001");
    const long = asn1.octetString(new Uint8Array(300));
    expect(hex(long.subarray(0, 4))).toBe("0482012C");
    expect(long.length).toBe(304);
  });

  test("wraps DER as PEM in 64-column lines", () => {
    const pem = asn1.toPem("TEST", new Uint8Array(100));
    const lines = pem.trimEnd().split("\n");
    expect(lines[0]).toBe("-----BEGIN TEST-----");
    expect(lines.at(-1)).toBe("-----END TEST-----");
    expect(lines[1]?.length).toBe(64);
  });
});
