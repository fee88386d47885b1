/**
 * The aws-kms wrapped DEK format (binary, frozen):
 *
 *     version (1 byte, 0x01) | key ARN length (u16, big-endian) | key ARN (UTF-8) | KMS CiphertextBlob
 *
 * The key ARN is the one KMS reported for the Encrypt (a key ARN even when an alias was used;
 * a replica's ARN when a replica region did the wrap), so unwrap knows which key and region
 * to ask, and which multi-region replicas may stand in.
 */
import { AppError } from "../../../shared/errors.ts";
import { parseKmsArn, type KmsArn } from "./arn.ts";

export const AWS_KMS_WRAP_VERSION = 0x01;
const MAX_ARN_BYTES = 2048;

/** encodeWrapped builds our wrapped-key bytes from the key ARN and the KMS ciphertext blob. */
export function encodeWrapped(keyArn: string, ciphertextBlob: Uint8Array): Uint8Array {
  const arn = new TextEncoder().encode(keyArn);
  if (arn.length === 0 || arn.length > MAX_ARN_BYTES) throw new RangeError(`key ARN of ${arn.length} bytes`);
  if (ciphertextBlob.length === 0) throw new RangeError("empty ciphertext blob");
  const out = new Uint8Array(3 + arn.length + ciphertextBlob.length);
  out[0] = AWS_KMS_WRAP_VERSION;
  new DataView(out.buffer).setUint16(1, arn.length, false);
  out.set(arn, 3);
  out.set(ciphertextBlob, 3 + arn.length);
  return out;
}

/** decodeWrapped splits our wrapped-key bytes; AppError "internal" when they are not ours. */
export function decodeWrapped(wrapped: Uint8Array): { key: KmsArn; ciphertextBlob: Uint8Array } {
  const notOurs = (why: string): never => {
    throw new AppError("internal", `The wrapped key is not an aws-kms wrapped key (${why}); it was wrapped by another provider or the stored bytes are damaged.`);
  };
  if (wrapped.length < 4) notOurs(`${wrapped.length} bytes`);
  if (wrapped[0] !== AWS_KMS_WRAP_VERSION) notOurs(`format version ${wrapped[0]}`);
  const len = new DataView(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength).getUint16(1, false);
  if (len === 0 || len > MAX_ARN_BYTES || 3 + len >= wrapped.length) notOurs("bad key ARN length");
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(wrapped.subarray(3, 3 + len));
  } catch {
    notOurs("key ARN is not UTF-8");
  }
  const key = parseKmsArn(text);
  if (key === null || key.type !== "key") notOurs("no key ARN");
  return { key: key as KmsArn, ciphertextBlob: wrapped.slice(3 + len) };
}
