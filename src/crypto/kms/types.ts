/**
 * The key-provider boundary: something that holds a key-encryption key (KEK) and wraps and
 * unwraps data-encryption keys (DEKs) with it. The KEK itself never crosses this interface.
 */

/** HealthResult is a provider's answer to "can you wrap and unwrap right now?". */
export type HealthResult = { ok: true; detail: string } | { ok: false; detail: string };

/** KeyProviderDescription is what admin pages and the CLI show about a provider. */
export interface KeyProviderDescription {
  provider: string;
  keyId: string;
  hsmGrade: boolean;
  note: string;
}

/** KeyProvider wraps DEKs under a KEK it holds; `context` is bound as AAD, so unwrap needs the same context. */
export interface KeyProvider {
  /** Provider name as in the `keyProviders` map, e.g. "local". */
  readonly name: string;
  /** False for the local key file; true only where the KEK lives in an HSM or a cloud KMS. */
  readonly hsmGrade: boolean;
  /** Wraps a DEK; the result is opaque and only this provider (with the same KEK) can unwrap it. */
  wrap(plaintextKey: Uint8Array, context: Record<string, string>): Promise<Uint8Array>;
  /** Unwraps a DEK; throws AppError when the KEK, the context or the bytes do not match. */
  unwrap(wrapped: Uint8Array, context: Record<string, string>): Promise<Uint8Array>;
  /** Checks the KEK is reachable and usable; never throws. */
  health(): Promise<HealthResult>;
  /** Describes the provider and key for people; contains no secret. */
  describe(): KeyProviderDescription;
  /** Releases what the provider holds (HSM sessions, the PKCS#11 module); idempotent. Providers holding nothing omit it. */
  close?(): Promise<void>;
}

/**
 * Pkcs11Options configure the "pkcs11" provider: an AES-256 key inside a PKCS#11 token.
 * The PIN itself is never part of the options, only where to read it from.
 */
export interface Pkcs11Options {
  /** Absolute path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** The token's label; exactly one of tokenLabel and slotId. */
  tokenLabel?: string;
  /** The slot id holding the token; exactly one of tokenLabel and slotId. */
  slotId?: number;
  /** CKA_LABEL of the AES-256 key on the token. */
  keyLabel: string;
  /** Absolute path of a file holding the user PIN (mode 0600 or stricter; one trailing newline ignored); exactly one of pinFile and pinEnv. */
  pinFile?: string;
  /** Name of the environment variable holding the user PIN; exactly one of pinFile and pinEnv. */
  pinEnv?: string;
  /** "aes-gcm" (CKM_AES_GCM, the default) or "aes-key-wrap" (CKM_AES_KEY_WRAP, RFC 3394). */
  mechanism?: "aes-gcm" | "aes-key-wrap";
  /** Generate the key (non-extractable, sensitive AES-256 token object) when no key has the label; default false. */
  createKeyIfMissing?: boolean;
}

/**
 * KeyProviderOptions are what main.ts passes to every factory. Providers that need more
 * (pkcs11, aws, azure, oci) add their own optional section here, e.g. `aws?: AwsKmsOptions`;
 * each factory reads only its own and refuses to start when it is missing.
 */
export interface KeyProviderOptions {
  /** The data directory (absolute path). */
  dataDir: string;
  /** The local KEK file (absolute path); used by the "local" provider. */
  localKeyFile: string;
  /** Used by the "pkcs11" provider. */
  pkcs11?: Pkcs11Options;
}

/** KeyProviderFactory opens a provider, failing (AppError "unavailable") when its key cannot be used. */
export type KeyProviderFactory = (opts: KeyProviderOptions) => Promise<KeyProvider>;
