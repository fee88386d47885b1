/**
 * The local key-file provider: the embedded default for a first start without a KMS or HSM.
 * The KEK sits in a file on the server's disk, so it is NOT HSM-grade and says so.
 *
 * Key file format (text, frozen):
 *
 *     conclave-local-kek v1\n
 *     <standard base64 of the 32-byte KEK, 44 characters>\n
 *
 * The file must be a regular file with mode 0600 (or stricter); it is created that way on first
 * use (parent directory 0700), atomically, and is never overwritten or repaired.
 *
 * Wrapped DEK format (binary, frozen):
 *
 *     version (1 byte, 0x01) | nonce (12 bytes) | AES-256-GCM ciphertext | tag (16 bytes)
 *
 * with AAD = canonicalContext(context), so a wrapped key only unwraps under the same context.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import { dirname, isAbsolute } from "node:path";
import { AppError } from "../../shared/errors.ts";
import { concatBytes } from "../asn1.ts";
import { ensurePrivateDir, readOwnerOnlyFile, writeFileNoClobber } from "../secret-file.ts";
import { canonicalContext } from "./context.ts";
import type { HealthResult, KeyProvider, KeyProviderDescription, KeyProviderOptions } from "./types.ts";

const FILE_HEADER = "conclave-local-kek v1";
const FILE_PATTERN = /^conclave-local-kek v1\n([A-Za-z0-9+/]{43}=)\n?$/;
const KEK_BYTES = 32;
const WRAP_VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MAX_PLAINTEXT_KEY = 1024;
const WHAT = "local key file";
const NOTE = "Local key file — not HSM-grade; use an HSM or a cloud KMS for production";

/** createLocalKeyProvider opens (or on first use creates) the local KEK file and wraps DEKs with AES-256-GCM under it. */
export async function createLocalKeyProvider(opts: KeyProviderOptions): Promise<KeyProvider> {
  const path = opts.localKeyFile;
  if (!isAbsolute(path)) throw new TypeError(`localKeyFile must be an absolute path, got "${path}"`);
  const kek = loadOrCreateKek(path);
  const keyId = fingerprint(kek);
  const key = createSecretKey(kek);
  kek.fill(0);

  const provider: KeyProvider = {
    name: "local",
    hsmGrade: false,
    wrap: async (plaintextKey, context) => wrapWith(key, plaintextKey, context),
    unwrap: async (wrapped, context) => unwrapWith(key, path, wrapped, context),
    health: async (): Promise<HealthResult> => {
      try {
        const current = readKek(path);
        if (current === null) return { ok: false, detail: `The ${WHAT} ${path} is missing. Restore it from backup; without it wrapped keys cannot be read.` };
        const currentId = fingerprint(current);
        current.fill(0);
        if (currentId !== keyId) return { ok: false, detail: `The ${WHAT} ${path} holds a different key (${currentId}) from the one loaded at start (${keyId}).` };
        const probe = randomBytes(KEK_BYTES);
        const ctx = { purpose: "health-check" };
        const back = unwrapWith(key, path, wrapWith(key, probe, ctx), ctx);
        if (!Buffer.from(back).equals(probe)) return { ok: false, detail: "Wrap/unwrap round trip returned different bytes." };
        return { ok: true, detail: `Local key file ${path} (key ${keyId}) readable, mode 0600; wrap/unwrap round trip ok. Not HSM-grade.` };
      } catch (err) {
        return { ok: false, detail: err instanceof AppError ? err.message : `Health check of the ${WHAT} ${path} failed.` };
      }
    },
    describe: (): KeyProviderDescription => ({ provider: "local", keyId, hsmGrade: false, note: NOTE }),
  };
  return provider;
}

/** Reads the KEK, creating the file first when it does not exist. */
function loadOrCreateKek(path: string): Buffer {
  const existing = readKek(path);
  if (existing !== null) return existing;
  ensurePrivateDir(dirname(path));
  const kek = randomBytes(KEK_BYTES);
  const text = `${FILE_HEADER}\n${kek.toString("base64")}\n`;
  kek.fill(0);
  // If another process created it meanwhile, its key wins and we read that one.
  writeFileNoClobber(path, text);
  const created = readKek(path);
  if (created === null) throw new AppError("unavailable", `The ${WHAT} ${path} vanished right after it was created.`);
  return created;
}

/** Reads and checks the KEK file; null when it does not exist. */
function readKek(path: string): Buffer | null {
  const bytes = readOwnerOnlyFile(path, WHAT);
  if (bytes === null) return null;
  const match = FILE_PATTERN.exec(bytes.toString("latin1"));
  const kek = match?.[1] ? Buffer.from(match[1], "base64") : null;
  bytes.fill(0);
  if (kek === null || kek.length !== KEK_BYTES) {
    throw new AppError(
      "unavailable",
      `${path} is not a Conclave key file (expected "${FILE_HEADER}" and a base64 32-byte key). It was left untouched. ` +
        `Restore the original key file from backup; only if nothing was ever encrypted with it, move it away so a new one is created.`,
    );
  }
  return kek;
}

/** A stable, non-secret identifier for a KEK (a truncated domain-separated hash). */
function fingerprint(kek: Uint8Array): string {
  return "local-" + createHash("sha256").update("conclave local kek id\0").update(kek).digest("hex").slice(0, 16);
}

function wrapWith(key: KeyObject, plaintextKey: Uint8Array, context: Record<string, string>): Uint8Array {
  if (plaintextKey.length === 0 || plaintextKey.length > MAX_PLAINTEXT_KEY) {
    throw new RangeError(`a wrapped key must be 1 to ${MAX_PLAINTEXT_KEY} bytes, got ${plaintextKey.length}`);
  }
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(canonicalContext(context));
  const ct = concatBytes([cipher.update(plaintextKey), cipher.final()]);
  return concatBytes([Uint8Array.of(WRAP_VERSION), nonce, ct, cipher.getAuthTag()]);
}

function unwrapWith(key: KeyObject, path: string, wrapped: Uint8Array, context: Record<string, string>): Uint8Array {
  const aad = canonicalContext(context);
  if (wrapped.length < 1 + NONCE_BYTES + 1 + TAG_BYTES) {
    throw new AppError("internal", `The wrapped key is too short (${wrapped.length} bytes) to come from the local key provider.`);
  }
  if (wrapped[0] !== WRAP_VERSION) {
    throw new AppError("internal", `The wrapped key has format version ${wrapped[0]}, which the local key provider does not know.`);
  }
  const nonce = wrapped.subarray(1, 1 + NONCE_BYTES);
  const ct = wrapped.subarray(1 + NONCE_BYTES, wrapped.length - TAG_BYTES);
  const tag = wrapped.subarray(wrapped.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return concatBytes([decipher.update(ct), decipher.final()]);
  } catch {
    throw new AppError(
      "internal",
      `Could not unwrap a data key with the ${WHAT} ${path}: it was wrapped under another key or for another context (account, data class), or the stored bytes are damaged.`,
    );
  }
}
