/**
 * A minimal DER encoder: just the ASN.1 types an X.509 v3 certificate needs. Every function
 * returns the complete encoding (tag, length, content) so they nest like the ASN.1 they build.
 * Nothing here parses; Node's X509Certificate and openssl check what we produce.
 */

/** concatBytes joins byte arrays into one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** encodeLength returns the DER length octets for a content length (short or long form). */
export function encodeLength(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad DER length ${length}`);
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** tlv encodes one element from a single-octet tag and its content octets. */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) throw new RangeError(`unsupported DER tag ${tag}`);
  return concatBytes([Uint8Array.of(tag), encodeLength(content.length), content]);
}

/** sequence encodes a SEQUENCE of already-encoded elements, in the order given. */
export function sequence(...items: Uint8Array[]): Uint8Array {
  return tlv(0x30, concatBytes(items));
}

/** setOf encodes a SET OF, sorting the encoded elements as DER requires. */
export function setOf(...items: Uint8Array[]): Uint8Array {
  const sorted = [...items].sort(compareBytes);
  return tlv(0x31, concatBytes(sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** integer encodes a non-negative INTEGER from a safe integer or unsigned big-endian bytes. */
export function integer(value: number | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`integer() takes a non-negative safe integer, got ${value}`);
    const b: number[] = [];
    for (let n = value; n > 0; n = Math.floor(n / 256)) b.unshift(n % 256);
    bytes = Uint8Array.from(b);
  } else {
    let start = 0;
    while (start < value.length && value[start] === 0) start++;
    bytes = value.subarray(start);
  }
  if (bytes.length === 0) return tlv(0x02, Uint8Array.of(0));
  // A set high bit would make the value negative in two's complement: prefix a zero octet.
  if ((bytes[0] ?? 0) & 0x80) bytes = concatBytes([Uint8Array.of(0), bytes]);
  return tlv(0x02, bytes);
}

/** oid encodes an OBJECT IDENTIFIER from dotted-decimal form, e.g. "2.5.4.3". */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a))) throw new RangeError(`bad OID "${dotted}"`);
  const [first = 0, second = 0, ...rest] = arcs;
  if (first > 2 || (first < 2 && second > 39)) throw new RangeError(`bad OID "${dotted}"`);
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const chunk: number[] = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | n % 128);
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** utf8String encodes a UTF8String. */
export function utf8String(s: string): Uint8Array {
  return tlv(0x0c, new TextEncoder().encode(s));
}

/** ia5String encodes an IA5String (7-bit ASCII), refusing other characters. */
export function ia5String(s: string): Uint8Array {
  return tlv(0x16, asciiBytes(s));
}

/** asciiBytes returns the octets of a 7-bit ASCII string, refusing anything else. */
export function asciiBytes(s: string): Uint8Array {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError(`not ASCII: ${JSON.stringify(s)}`);
  return new TextEncoder().encode(s);
}

/** octetString encodes an OCTET STRING. */
export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(0x04, bytes);
}

/** bitString encodes a BIT STRING whose last octet has `unusedBits` (0–7) padding bits. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError(`bad unused-bit count ${unusedBits}`);
  }
  return tlv(0x03, concatBytes([Uint8Array.of(unusedBits), bytes]));
}

/** booleanValue encodes a BOOLEAN (DER: TRUE is 0xFF). */
export function booleanValue(value: boolean): Uint8Array {
  return tlv(0x01, Uint8Array.of(value ? 0xff : 0x00));
}

/** nullValue encodes NULL. */
export function nullValue(): Uint8Array {
  return tlv(0x05, new Uint8Array(0));
}

/** time encodes an X.509 Time: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
export function time(date: Date): Uint8Array {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("invalid date");
  const y = date.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`year ${y} cannot be encoded`);
  const p2 = (n: number): string => String(n).padStart(2, "0");
  const rest = `${p2(date.getUTCMonth() + 1)}${p2(date.getUTCDate())}${p2(date.getUTCHours())}${p2(date.getUTCMinutes())}${p2(date.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(0x17, asciiBytes(`${p2(y % 100)}${rest}`));
  return tlv(0x18, asciiBytes(`${String(y).padStart(4, "0")}${rest}`));
}

/** explicit wraps an encoding in a context-specific constructed tag [n] EXPLICIT. */
export function explicit(tagNumber: number, inner: Uint8Array): Uint8Array {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) throw new RangeError(`bad tag number ${tagNumber}`);
  return tlv(0xa0 | tagNumber, inner);
}

/** implicitPrimitive encodes content under a context-specific primitive tag [n] IMPLICIT. */
export function implicitPrimitive(tagNumber: number, content: Uint8Array): Uint8Array {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) throw new RangeError(`bad tag number ${tagNumber}`);
  return tlv(0x80 | tagNumber, content);
}

/** toPem wraps DER bytes as PEM with the given label and 64-column base64 lines. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
