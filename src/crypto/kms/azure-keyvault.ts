/**
 * The Azure Key Vault provider: the KEK is a Key Vault key — RSA / RSA-HSM with RSA-OAEP-256
 * (the default), or an oct-HSM AES-256 key in a Managed HSM with A256KW (AES key wrap, RFC 3394)
 * — used through @azure/keyvault-keys CryptographyClient wrapKey / unwrapKey. The private or
 * secret key material never leaves Key Vault.
 *
 * Key Vault's wrapKey takes no associated data, so the context is bound inside the wrapped
 * value, as the pkcs11 provider's key-wrap mode does: Conclave wraps
 *
 *     SHA-256("conclave azure-keyvault context v1\0" || canonicalContext(context)) || DEK
 *
 * and unwrap checks the first 32 bytes (constant time) before returning the DEK. Another
 * context fails as denied, reason "invalid_ciphertext", like a wrong EncryptionContext in KMS.
 *
 * Options (KeyProviderOptions.azure, see AzureKeyVaultOptions): keyId (versioned, or without
 * version = latest at each wrap), algorithm, timeoutMs, maxAttempts, credential. Credentials
 * never come from Conclave's config: "default" is @azure/identity's DefaultAzureCredential.
 *
 * Wrapped DEK format: see ./azure/format.ts — 0x01 | u16 kid length | kid (the versioned key
 * id Key Vault reported for the wrap) | wrapKey result. unwrap only asks the vault of the
 * configured key: a wrapped DEK naming another host (tampered storage) is refused without a
 * request, so no bearer token is ever sent elsewhere (the SDK's challenge-resource check stays on).
 *
 * Availability: every HTTP attempt has a time limit (timeoutMs) and a call makes at most
 * maxAttempts attempts (the SDK retries timeouts, connection errors, 5xx, and 429/503 with
 * Retry-After). Failures are KeyUnavailableError with kind unreachable or denied, the reason,
 * and Key Vault's error verbatim; see ./azure/errors.ts.
 *
 * The factory makes no network call; health() is the check: getKey (enabled, key type fits
 * the algorithm, key_ops include wrapKey and unwrapKey) and a wrap/unwrap round trip. The
 * identity needs keys/wrapKey, keys/unwrapKey and keys/get (get only improves diagnostics;
 * RBAC role "Key Vault Crypto Service Encryption User" grants all three).
 */
import { probeKeyProvider } from "./probe.ts";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { CryptographyClient, KeyClient, type CryptographyClientOptions, type KeyVaultKey } from "@azure/keyvault-keys";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { AppError } from "../../shared/errors.ts";
import { classifyAzureKeyVaultError, REASON_TEXT } from "./azure/errors.ts";
import { decodeWrapped, encodeWrapped } from "./azure/format.ts";
import { isManagedHsm, parseKeyVaultKeyId, type KeyVaultKeyId } from "./azure/keyid.ts";
import { attemptTimeoutPolicy } from "./azure/pipeline.ts";
import { canonicalContext } from "./context.ts";
import { KeyUnavailableError, type AzureKeyVaultOptions, type HealthResult, type KeyProvider, type KeyProviderDescription, type KeyProviderOptions } from "./types.ts";

export type { AzureKeyVaultOptions } from "./types.ts";
export { AZURE_KEYVAULT_WRAP_VERSION } from "./azure/format.ts";
export { classifyAzureKeyVaultError } from "./azure/errors.ts";

export const AZURE_KEYVAULT_DEFAULT_TIMEOUT_MS = 5000;
export const AZURE_KEYVAULT_DEFAULT_MAX_ATTEMPTS = 3;
export const AZURE_KEYVAULT_ALGORITHMS = ["RSA-OAEP-256", "A256KW"] as const;
type Algorithm = (typeof AZURE_KEYVAULT_ALGORITHMS)[number];
/** Domain separation for the context hash carried in front of the DEK. */
const CONTEXT_DOMAIN = "conclave azure-keyvault context v1\0";
const CTX_HASH_BYTES = 32;
/** RSA-OAEP-256 under the smallest Key Vault RSA key (2048 bits) carries 190 bytes; 32 go to the context hash. */
const MAX_RSA_DEK = 190 - CTX_HASH_BYTES;
const MAX_KW_DEK = 1024;
const KW_BLOCK = 8;
const RETRY_DELAY_MS = 200;
const MAX_RETRY_DELAY_MS = 2000;
const HEALTH_CONTEXT = { purpose: "conclave-health-check" };
const KEY_TYPES: Record<Algorithm, readonly string[]> = { "RSA-OAEP-256": ["RSA", "RSA-HSM"], A256KW: ["oct", "oct-HSM"] };

/** AzureKeyVaultKeyProvider is the azure-keyvault KeyProvider; close() drops its SDK clients. */
export interface AzureKeyVaultKeyProvider extends KeyProvider {
  close(): Promise<void>;
}

interface Settings {
  key: KeyVaultKeyId;
  algorithm: Algorithm;
  timeoutMs: number;
  maxAttempts: number;
  credential: "default" | TokenCredential;
  httpsAgent: AzureKeyVaultOptions["httpsAgent"];
}

/** createAzureKeyVaultKeyProvider checks the options and builds the provider; it makes no Azure call (see health()). */
export async function createAzureKeyVaultKeyProvider(opts: KeyProviderOptions): Promise<AzureKeyVaultKeyProvider> {
  return new AzureKeyVault(parseOptions(opts.azure));
}

/** probeAzureKeyVaultKeyProvider is the "test this key" action: open, health check, close; never throws. */
export async function probeAzureKeyVaultKeyProvider(opts: KeyProviderOptions): Promise<HealthResult> {
  return probeKeyProvider(createAzureKeyVaultKeyProvider, opts);
}

/** AzureKeyVaultConfigSection is the [azure_keyvault] config section as the config loader types it. */
export interface AzureKeyVaultConfigSection {
  key_id: string;
  /** "RSA-OAEP-256" or "A256KW"; empty = RSA-OAEP-256. */
  algorithm: string;
  timeout_ms: number;
  max_attempts: number;
}

/** azureKeyVaultOptionsFromConfig maps the [azure_keyvault] section to provider options; undefined when key_id is empty. */
export function azureKeyVaultOptionsFromConfig(c: AzureKeyVaultConfigSection): AzureKeyVaultOptions | undefined {
  if (c.key_id.trim() === "") return undefined;
  const algorithm = c.algorithm.trim();
  if (algorithm !== "" && !(AZURE_KEYVAULT_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new AppError("invalid_input", `Invalid [azure_keyvault] algorithm ${JSON.stringify(algorithm)}: expected ${AZURE_KEYVAULT_ALGORITHMS.join(" or ")}.`);
  }
  return {
    keyId: c.key_id.trim(),
    algorithm: algorithm === "" ? undefined : (algorithm as Algorithm),
    timeoutMs: c.timeout_ms,
    maxAttempts: c.max_attempts,
    credential: "default",
  };
}

function parseOptions(o: AzureKeyVaultOptions | undefined): Settings {
  if (o === undefined) {
    throw new AppError("invalid_input", "Missing azure-keyvault options: the azure-keyvault key provider needs at least the key identifier (keyId).");
  }
  const bad = (msg: string): never => {
    throw new AppError("invalid_input", `Invalid azure-keyvault options: ${msg}.`);
  };
  const key = typeof o.keyId === "string" ? parseKeyVaultKeyId(o.keyId) : null;
  if (key === null) {
    bad(`keyId must be a Key Vault key identifier https://VAULT.vault.azure.net/keys/NAME[/VERSION] (or a Managed HSM one), got ${JSON.stringify(o.keyId)}`);
  }
  const algorithm = o.algorithm ?? "RSA-OAEP-256";
  if (!(AZURE_KEYVAULT_ALGORITHMS as readonly string[]).includes(algorithm)) bad(`algorithm must be ${AZURE_KEYVAULT_ALGORITHMS.join(" or ")}, got ${JSON.stringify(algorithm)}`);
  const timeoutMs = o.timeoutMs ?? AZURE_KEYVAULT_DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 120_000) bad(`timeoutMs must be an integer from 50 to 120000, got ${String(o.timeoutMs)}`);
  const maxAttempts = o.maxAttempts ?? AZURE_KEYVAULT_DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) bad(`maxAttempts must be an integer from 1 to 10, got ${String(o.maxAttempts)}`);
  const credential = o.credential ?? "default";
  if (credential !== "default" && (typeof credential !== "object" || credential === null || typeof credential.getToken !== "function")) {
    bad('credential must be "default" or a TokenCredential');
  }
  return { key: key as KeyVaultKeyId, algorithm: algorithm as Algorithm, timeoutMs, maxAttempts, credential, httpsAgent: o.httpsAgent };
}

function checkDek(dek: Uint8Array, algorithm: Algorithm): void {
  if (algorithm === "RSA-OAEP-256") {
    if (dek.length === 0 || dek.length > MAX_RSA_DEK) throw new RangeError(`with RSA-OAEP-256 a wrapped key must be 1 to ${MAX_RSA_DEK} bytes, got ${dek.length}`);
  } else if (dek.length === 0 || dek.length > MAX_KW_DEK || dek.length % KW_BLOCK !== 0) {
    throw new RangeError(`with A256KW a wrapped key must be a multiple of ${KW_BLOCK} bytes up to ${MAX_KW_DEK}, got ${dek.length}`);
  }
}

function contextHash(context: Record<string, string>): Buffer {
  return createHash("sha256").update(CONTEXT_DOMAIN).update(canonicalContext(context)).digest();
}

class AzureKeyVault implements AzureKeyVaultKeyProvider {
  readonly name = "azure-keyvault";
  readonly hsmGrade = true;
  /** CryptographyClients by key id (the configured one, and each versioned kid unwrap meets). */
  private readonly clients = new Map<string, CryptographyClient>();
  private keyClient: KeyClient | null = null;
  private credential: TokenCredential | null = null;
  private closed = false;
  /** What getKey last said (key type, resolved version), for describe(). */
  private seen: { kid: string; keyType: string } | null = null;

  constructor(private readonly s: Settings) {}

  async wrap(plaintextKey: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    checkDek(plaintextKey, this.s.algorithm);
    const data = Buffer.concat([contextHash(context), plaintextKey]);
    try {
      let body: unknown;
      const result = await this.call("wrapKey", this.s.key.id, async () =>
        (await this.crypto(this.s.key.id)).wrapKey(this.s.algorithm, data, {
          onResponse: (raw) => {
            body = raw.parsedBody;
          },
        }),
      );
      const kid = this.wrappingKid(body);
      if (!(result.result instanceof Uint8Array) || result.result.length === 0) throw this.malformed("wrapKey", this.s.key.id, "no wrapped value");
      return encodeWrapped(kid, result.result);
    } finally {
      data.fill(0);
    }
  }

  async unwrap(wrapped: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    const expected = contextHash(context);
    const { key, wrappedKey } = decodeWrapped(wrapped);
    if (key.origin !== this.s.key.origin) {
      throw new AppError(
        "internal",
        `Refusing to unwrap a data key that names ${key.id}: this azure-keyvault provider only uses keys in ${this.s.key.origin}. ` +
          "The stored wrapped key was altered, or it was wrapped under another vault's key and needs a provider configured for that key.",
      );
    }
    const result = await this.call("unwrapKey", key.id, async () => (await this.crypto(key.id)).unwrapKey(this.s.algorithm, wrappedKey));
    const value = result.result;
    if (!(value instanceof Uint8Array) || value.length === 0) throw this.malformed("unwrapKey", key.id, "no unwrapped value");
    try {
      if (value.length <= CTX_HASH_BYTES || !timingSafeEqual(value.subarray(0, CTX_HASH_BYTES), expected)) {
        this.fail(
          "unwrapKey",
          key.id,
          "denied",
          "invalid_ciphertext",
          "context mismatch: the unwrapped value does not carry this encryption context's hash (wrapped for another account, data class or key version)",
        );
      }
      return Uint8Array.from(value.subarray(CTX_HASH_BYTES));
    } finally {
      value.fill(0);
    }
  }

  async health(): Promise<HealthResult> {
    try {
      let described: string;
      try {
        described = await this.checkKey();
      } catch (err) {
        // An access policy may grant wrapKey/unwrapKey without get: the round trip decides.
        if (!(err instanceof KeyUnavailableError) || err.reason !== "access_denied") throw err;
        described = "getKey not permitted (grant keys/get for better diagnostics)";
      }
      const probe = randomBytes(32);
      const back = await this.unwrap(await this.wrap(probe, HEALTH_CONTEXT), HEALTH_CONTEXT);
      if (back.length !== probe.length || !timingSafeEqual(back, probe)) throw this.malformed("unwrapKey", this.s.key.id, "round trip returned different bytes");
      return { ok: true, detail: `Azure Key Vault key ${this.s.key.id} usable: ${described}; wrapKey/unwrapKey (${this.s.algorithm}) round trip ok` };
    } catch (err) {
      if (err instanceof KeyUnavailableError) return { ok: false, kind: err.kind, reason: err.reason, providerMessage: err.providerMessage, detail: err.message };
      return { ok: false, detail: `Health check of Azure Key Vault key ${this.s.key.id} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  describe(): KeyProviderDescription {
    const where = isManagedHsm(this.s.key) ? `Managed HSM ${this.s.key.hostname}` : `vault ${this.s.key.hostname}`;
    const version = this.s.key.version === null ? ` (latest version${this.seen ? `, now ${this.seen.kid.slice(this.seen.kid.lastIndexOf("/") + 1)}` : ""})` : "";
    let protection = "";
    if (this.seen) {
      const t = this.seen.keyType;
      protection = isManagedHsm(this.s.key) || t.endsWith("-HSM") ? ` Key type ${t}: HSM-protected.` : ` Key type ${t}: software-protected by Key Vault (use an RSA-HSM key in a Premium vault or a Managed HSM for HSM protection).`;
    }
    return {
      provider: "azure-keyvault",
      keyId: this.s.key.id,
      hsmGrade: true,
      note:
        `Azure Key Vault key ${this.s.key.name}${version} in ${where}, ${this.s.algorithm} wrapKey/unwrapKey.${protection} ` +
        "The key never leaves Key Vault; Azure credentials come from @azure/identity's DefaultAzureCredential chain.",
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clients.clear();
    this.keyClient = null;
  }

  // ---- internals ----

  /** getKey: enabled, usable with the algorithm, key_ops include wrapKey and unwrapKey. Returns a description. */
  private async checkKey(): Promise<string> {
    const id = this.s.key.id;
    const key: KeyVaultKey = await this.call("getKey", id, async () => (await this.keys()).getKey(this.s.key.name, this.s.key.version !== null ? { version: this.s.key.version } : {}));
    const keyType = String(key.keyType ?? "unknown");
    this.seen = { kid: key.id ?? id, keyType };
    const p = key.properties;
    if (p.enabled === false) this.fail("getKey", id, "denied", "disabled", `key ${key.id ?? id} has attributes.enabled = false`);
    const now = Date.now();
    if (p.expiresOn && p.expiresOn.getTime() <= now) this.fail("getKey", id, "denied", "invalid_state", `key expired at ${p.expiresOn.toISOString()}`);
    if (p.notBefore && p.notBefore.getTime() > now) this.fail("getKey", id, "denied", "invalid_state", `key not valid before ${p.notBefore.toISOString()}`);
    if (!KEY_TYPES[this.s.algorithm].includes(keyType)) {
      this.fail("getKey", id, "denied", "invalid_key_usage", `key type ${keyType} cannot be used with ${this.s.algorithm} (needs ${KEY_TYPES[this.s.algorithm].join(" or ")})`);
    }
    const ops = key.keyOperations ?? [];
    const missing = ["wrapKey", "unwrapKey"].filter((op) => !ops.includes(op as never));
    if (missing.length > 0) this.fail("getKey", id, "denied", "invalid_key_usage", `key_ops [${ops.join(", ")}] lack ${missing.join(" and ")}`);
    return `key ${key.id ?? id} enabled, ${keyType}, key_ops include wrapKey and unwrapKey`;
  }

  private async getCredential(): Promise<TokenCredential> {
    if (this.credential !== null) return this.credential;
    if (this.s.credential !== "default") {
      this.credential = this.s.credential;
    } else {
      // Loaded on first use: the identity library is large and only this provider needs it.
      const { DefaultAzureCredential } = await import("@azure/identity");
      try {
        this.credential = new DefaultAzureCredential();
      } catch (err) {
        // e.g. an invalid AZURE_TOKEN_CREDENTIALS value.
        throw Object.assign(new Error(err instanceof Error ? err.message : String(err)), { name: "CredentialUnavailableError" });
      }
    }
    return this.credential;
  }

  private clientOptions(): CryptographyClientOptions {
    const additionalPolicies: { policy: PipelinePolicy; position: "perCall" | "perRetry" }[] = [{ policy: attemptTimeoutPolicy(this.s.timeoutMs), position: "perRetry" }];
    return {
      retryOptions: { maxRetries: this.s.maxAttempts - 1, retryDelayInMs: RETRY_DELAY_MS, maxRetryDelayInMs: MAX_RETRY_DELAY_MS },
      additionalPolicies,
      ...(this.s.httpsAgent !== undefined ? { agent: this.s.httpsAgent } : {}),
    };
  }

  private checkOpen(): void {
    if (this.closed) throw new AppError("internal", `The azure-keyvault provider for ${this.s.key.id} was closed.`);
  }

  private async crypto(keyId: string): Promise<CryptographyClient> {
    this.checkOpen();
    let c = this.clients.get(keyId);
    if (c === undefined) {
      c = new CryptographyClient(keyId, await this.getCredential(), this.clientOptions());
      this.clients.set(keyId, c);
    }
    return c;
  }

  private async keys(): Promise<KeyClient> {
    this.checkOpen();
    if (this.keyClient === null) this.keyClient = new KeyClient(this.s.key.origin, await this.getCredential(), this.clientOptions());
    return this.keyClient;
  }

  /** One Key Vault call, its failure turned into a KeyUnavailableError. */
  private async call<T>(op: "wrapKey" | "unwrapKey" | "getKey", keyId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError) throw err;
      const c = classifyAzureKeyVaultError(err, op);
      return this.fail(op, keyId, c.kind, c.reason, c.providerMessage);
    }
  }

  /** The versioned key id Key Vault reported for a wrapKey; must be the configured key (that version, when pinned). */
  private wrappingKid(body: unknown): string {
    const kid = typeof body === "object" && body !== null ? (body as { kid?: unknown }).kid : undefined;
    const k = typeof kid === "string" ? parseKeyVaultKeyId(kid) : null;
    const cfg = this.s.key;
    if (k === null || k.version === null || k.origin !== cfg.origin || k.name.toLowerCase() !== cfg.name.toLowerCase() || (cfg.version !== null && k.version !== cfg.version)) {
      throw this.malformed("wrapKey", cfg.id, `kid ${JSON.stringify(kid)} is not a version of the configured key`);
    }
    return k.id;
  }

  private fail(op: string, keyId: string, kind: KeyUnavailableError["kind"], reason: KeyUnavailableError["reason"], providerMessage: string): never {
    throw new KeyUnavailableError({
      kind,
      reason,
      keyId,
      providerMessage,
      message: `Azure Key Vault key ${keyId} is ${kind}: ${REASON_TEXT[reason]}. ${op} failed with: ${providerMessage}`,
    });
  }

  private malformed(op: string, keyId: string, what: string): KeyUnavailableError {
    try {
      return this.fail(op, keyId, "unreachable", "server_error", `malformed ${op} response: ${what}`);
    } catch (e) {
      return e as KeyUnavailableError;
    }
  }
}
