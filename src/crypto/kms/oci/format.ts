/**
 * The oci-vault wrapped DEK format (binary, frozen):
 *
 *     version (1 byte, 0x01) | key OCID length (u16, big-endian) | key OCID (ASCII) | ciphertext
 *
 * The key OCID is the key that encrypted (the one OCI reported in the Encrypt answer), so unwrap
 * asks that key even after the provider has been pointed at another key of the vault. The
 * ciphertext is OCI's Encrypt result, base64-decoded; OCI's ciphertext names the key version
 * itself, so a rotated key still decrypts what older versions encrypted.
 */
import { AppError } from "../../../shared/errors.ts";
import { parseKeyOcid, type KeyOcid } from "./ocid.ts";

export const OCI_VAULT_WRAP_VERSION = 0x01;
const MAX_OCID_BYTES = 255;

/** encodeWrapped builds our wrapped-key bytes from the key OCID and OCI's ciphertext bytes. */
export function encodeWrapped(keyOcid: string, ciphertext: Uint8Array): Uint8Array {
  const id = new TextEncoder().encode(keyOcid);
  if (id.length === 0 || id.length > MAX_OCID_BYTES) throw new RangeError(`key OCID of ${id.length} bytes`);
  if (ciphertext.length === 0) throw new RangeError("empty ciphertext");
  const out = new Uint8Array(3 + id.length + ciphertext.length);
  out[0] = OCI_VAULT_WRAP_VERSION;
  new DataView(out.buffer).setUint16(1, id.length, false);
  out.set(id, 3);
  out.set(ciphertext, 3 + id.length);
  return out;
}

/** decodeWrapped splits our wrapped-key bytes; AppError "internal" when they are not ours. */
export function decodeWrapped(wrapped: Uint8Array): { key: KeyOcid; ciphertext: Uint8Array } {
  const notOurs = (why: string): never => {
    throw new AppError("internal", `The wrapped key is not an oci-vault wrapped key (${why}); it was wrapped by another provider or the stored bytes are damaged.`);
  };
  if (wrapped.length < 4) notOurs(`${wrapped.length} bytes`);
  if (wrapped[0] !== OCI_VAULT_WRAP_VERSION) notOurs(`format version ${wrapped[0]}`);
  const len = new DataView(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).getUint16(1, false);
  if (len === 0 || len > MAX_OCID_BYTES || 3 + len >= wrapped.length) notOurs("bad key OCID length");
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(wrapped.subarray(3, 3 + len));
  } catch {
    notOurs("key OCID is not UTF-8");
  }
  const key = parseKeyOcid(text);
  if (key === null || key.ocid !== text) notOurs("no key OCID");
  return { key: key as KeyOcid, ciphertext: wrapped.slice(3 + len) };
}
