import { isIP } from "node:net";

/**
 * ipAddressBytes returns the 4 (IPv4) or 16 (IPv6) network-order octets of an IP address
 * literal, as a certificate's iPAddress name needs, or null when the text is not one.
 * Zone ids ("fe80::1%eth0") and brackets are not accepted.
 */
export function ipAddressBytes(text: string): Uint8Array | null {
  const kind = isIP(text);
  if (kind === 4) return parseV4(text);
  if (kind === 6 && !text.includes("%")) return parseV6(text);
  return null;
}

function parseV4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function parseV6(text: string): Uint8Array | null {
  // A trailing dotted quad ("::ffff:192.0.2.1") stands for the last two groups.
  let tail: Uint8Array | null = null;
  let body = text;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail = parseV4(text.slice(lastColon + 1));
    if (!tail) return null;
    body = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0] ?? "");
  const rest = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i] ?? "";
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}
