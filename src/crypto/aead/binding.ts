/**
 * The canonical, frozen encoding of an AadBinding (part of every v1 format's AAD):
 *
 *     for each of accountId, table, column, rowId, in this order:
 *         length of the field's UTF-8 bytes (uint32, big-endian) | the UTF-8 bytes
 *
 * Length prefixes make it injective: no two different bindings share an encoding, whatever
 * characters the fields hold (compare "a|b" + "c" with "a" + "b|c" under a separator scheme).
 * Fields must be non-empty, well-formed Unicode (a lone surrogate would encode as U+FFFD and so
 * collide with a real U+FFFD).
 */
import type { AadBinding } from "./types.ts";

const FIELDS = ["accountId", "table", "column", "rowId"] as const;
const encoder = new TextEncoder();

/** encodeBinding returns the canonical length-prefixed encoding of a binding; throws TypeError on an empty or malformed field. */
export function encodeBinding(binding: AadBinding): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const name of FIELDS) {
    const value: unknown = binding[name];
    if (typeof value !== "string" || value.length === 0) {
      throw new TypeError(`binding.${name} must be a non-empty string`);
    }
    if (!value.isWellFormed()) throw new TypeError(`binding.${name} contains a lone surrogate`);
    const bytes = encoder.encode(value);
    parts.push(bytes);
    total += 4 + bytes.length;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const bytes of parts) {
    view.setUint32(at, bytes.length);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  return out;
}
