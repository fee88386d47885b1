/**
 * The azure-keyvault wrapped DEK format (binary, frozen):
 *
 *     version (1 byte, 0x01) | key id length (u16, big-endian) | key id (UTF-8) | wrapped bytes
 *
 * The key id is the full, versioned identifier Key Vault reported for the wrapKey
 * (https://VAULT/keys/NAME/VERSION), so unwrap asks exactly the key version that wrapped, even
 * when the provider is configured with "latest" and the key has been rotated since. The wrapped
 * bytes are Key Vault's wrapKey result (RSA-OAEP-256 or A256KW) of
 * SHA-256(domain || canonicalContext(context)) || DEK — see ../azure-keyvault.ts.
 */
import { AppError } from "../../../shared/errors.ts";
import { parseKeyVaultKeyId, type KeyVaultKeyId } from "./keyid.ts";

export const AZURE_KEYVAULT_WRAP_VERSION = 0x01;
const MAX_KID_BYTES = 2048;

/** encodeWrapped builds our wrapped-key bytes from the versioned key id and Key Vault's wrapKey result. */
export function encodeWrapped(kid: string, wrappedKey: Uint8Array): Uint8Array {
  const id = new TextEncoder().encode(kid);
  if (id.length === 0 || id.length > MAX_KID_BYTES) throw new RangeError(`key id of ${id.length} bytes`);
  if (wrappedKey.length === 0) throw new RangeError("empty wrapped key");
  const out = new Uint8Array(3 + id.length + wrappedKey.length);
  out[0] = AZURE_KEYVAULT_WRAP_VERSION;
  new DataView(out.buffer).setUint16(1, id.length, false);
  out.set(id, 3);
  out.set(wrappedKey, 3 + id.length);
  return out;
}

/** decodeWrapped splits our wrapped-key bytes; AppError "internal" when they are not ours. */
export function decodeWrapped(wrapped: Uint8Array): { key: KeyVaultKeyId; wrappedKey: Uint8Array } {
  const notOurs = (why: string): never => {
    throw new AppError("internal", `The wrapped key is not an azure-keyvault wrapped key (${why}); it was wrapped by another provider or the stored bytes are damaged.`);
  };
  if (wrapped.length < 4) notOurs(`${wrapped.length} bytes`);
  if (wrapped[0] !== AZURE_KEYVAULT_WRAP_VERSION) notOurs(`format version ${wrapped[0]}`);
  const len = new DataView(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).getUint16(1, false);
  if (len === 0 || len > MAX_KID_BYTES || 3 + len >= wrapped.length) notOurs("bad key id length");
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(wrapped.subarray(3, 3 + len));
  } catch {
    notOurs("key id is not UTF-8");
  }
  const key = parseKeyVaultKeyId(text);
  if (key === null || key.version === null || key.id !== text) notOurs("no versioned Key Vault key id");
  return { key: key as KeyVaultKeyId, wrappedKey: wrapped.slice(3 + len) };
}
