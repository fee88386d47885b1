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
}

/** KeyProviderFactory opens a provider, failing (AppError "unavailable") when its key cannot be used. */
export type KeyProviderFactory = (opts: KeyProviderOptions) => Promise<KeyProvider>;
