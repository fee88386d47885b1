/**
 * The OCI Vault provider: the KEK is an AES master encryption key in an Oracle Cloud
 * Infrastructure Vault (HSM-protected in a virtual private vault or a default vault with
 * protection mode HSM); Conclave sends the DEK to the vault's Encrypt and gets it back from
 * Decrypt, through the official SDK (oci-keymanagement KmsCryptoClient, AES_256_GCM). The wrap
 * context is passed as OCI's associatedData (e.g. {account, data class, key version}), which the
 * vault binds to the ciphertext as GCM AAD: unwrap with another context fails (denied, reason
 * "invalid_ciphertext"). It is also sent as loggingContext, so OCI audit logs show it.
 *
 * Options (KeyProviderOptions.oci, see OciVaultOptions): keyId (key OCID), cryptoEndpoint,
 * auth ("config_file" with configFile + profile, "instance_principal", "resource_principal"),
 * timeoutMs, maxAttempts. Credentials never come from Conclave's config: the OCI config file
 * names the user, tenancy, fingerprint and key_file (the API private key); principals come
 * from the instance or resource identity.
 *
 * Wrapped DEK format: see ./oci/format.ts — 0x01 | u16 OCID length | key OCID | ciphertext.
 * unwrap only asks keys in the realm and region of the configured key: a wrapped DEK naming
 * another (tampered storage) is refused without calling OCI.
 *
 * Availability: every attempt has a time limit (timeoutMs, connect and whole answer) and a
 * call makes at most maxAttempts attempts (the SDK retrier, bounded, retries timeouts,
 * connection errors, 5xx and 429); with the defaults (3000 ms, 2 attempts) an outage is known
 * within about 6.2 s. Failures are KeyUnavailableError with kind unreachable or denied, the
 * reason, and OCI's error verbatim (code, HTTP status, opc-request-id, message); see
 * ./oci/errors.ts.
 *
 * The factory makes no network call and reads no file (an outage or a missing credentials file
 * must not stop the server from starting; a bad credentials file fails every call as denied,
 * reason "credentials"). health() is the check: an Encrypt/Decrypt round trip. The principal
 * needs the IAM permission "use keys" on the key (KEY_ENCRYPT, KEY_DECRYPT).
 */
import { probeKeyProvider } from "./probe.ts";
import type { AuthenticationDetailsProvider, RequestSigner } from "oci-common";
import type { KmsCryptoClient, KmsManagementClient } from "oci-keymanagement";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { AppError } from "../../shared/errors.ts";
import { buildAuthProvider, createCryptoClient, credentialsError, loadOciSdk, quietly } from "./oci/client.ts";
import { classifyOciError, REASON_TEXT } from "./oci/errors.ts";
import { decodeWrapped, encodeWrapped } from "./oci/format.ts";
import { createManagementClient, keyInfoOf, stateVerdict, type OciKeyInfo } from "./oci/key-info.ts";
import { parseOciVaultOptions, type OciVaultSettings } from "./oci/options.ts";
import { KeyUnavailableError, type HealthResult, type KeyProvider, type KeyProviderDescription, type KeyProviderOptions } from "./types.ts";

export type { OciVaultOptions } from "./types.ts";
export { OCI_VAULT_WRAP_VERSION } from "./oci/format.ts";
export { classifyOciError } from "./oci/errors.ts";
export { parseKeyOcid } from "./oci/ocid.ts";
export {
  OCI_VAULT_AUTH_TYPES,
  OCI_VAULT_DEFAULT_MAX_ATTEMPTS,
  OCI_VAULT_DEFAULT_TIMEOUT_MS,
  ociVaultOptionsForKeyRef,
  ociVaultOptionsFromConfig,
  type OciVaultConfigSection,
} from "./oci/options.ts";

/** OCI Encrypt takes at most 4096 bytes of plaintext; DEKs are far smaller. */
const MAX_PLAINTEXT_KEY = 1024;
/** OCI limits the string form of associatedData to fewer than 4096 characters. */
const MAX_ASSOCIATED_DATA_CHARS = 4095;
const HEALTH_CONTEXT = { purpose: "conclave-health-check" };

/** OciVaultKeyProvider is the oci-vault KeyProvider; close() drops the SDK client and credentials. */
export interface OciVaultKeyProvider extends KeyProvider {
  close(): Promise<void>;
}

/** createOciVaultKeyProvider checks the options and builds the provider; it makes no OCI call and reads no file (see health()). */
export async function createOciVaultKeyProvider(opts: KeyProviderOptions): Promise<OciVaultKeyProvider> {
  return new OciVault(parseOciVaultOptions(opts.oci));
}

/** probeOciVaultKeyProvider is the "test this key" action: open, health check, close; never throws. */
export async function probeOciVaultKeyProvider(opts: KeyProviderOptions): Promise<HealthResult> {
  return probeKeyProvider(createOciVaultKeyProvider, opts);
}

function associatedDataOf(context: Record<string, string>): Record<string, string> | undefined {
  const keys = Object.keys(context);
  for (const k of keys) {
    if (typeof context[k] !== "string") throw new TypeError(`wrap context value for "${k}" must be a string`);
  }
  if (keys.length === 0) return undefined;
  const ad = { ...context };
  if (JSON.stringify(ad).length > MAX_ASSOCIATED_DATA_CHARS) throw new RangeError(`the wrap context must be shorter than ${MAX_ASSOCIATED_DATA_CHARS + 1} characters as JSON (OCI's associatedData limit)`);
  return ad;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

class OciVault implements OciVaultKeyProvider {
  readonly name = "oci-vault";
  private client: KmsCryptoClient | null = null;
  private management: KmsManagementClient | null = null;
  /** What GetKey last said, for describe(). */
  private info: OciKeyInfo | null = null;
  private authProvider: AuthenticationDetailsProvider | null = null;
  private signerPromise: Promise<RequestSigner> | null = null;
  private closed = false;

  constructor(private readonly s: OciVaultSettings) {}

  /** HSM-grade unless GetKey said the key is SOFTWARE-protected. */
  get hsmGrade(): boolean {
    return this.info?.protectionMode !== "SOFTWARE";
  }

  async wrap(plaintextKey: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    if (plaintextKey.length === 0 || plaintextKey.length > MAX_PLAINTEXT_KEY) {
      throw new RangeError(`a wrapped key must be 1 to ${MAX_PLAINTEXT_KEY} bytes, got ${plaintextKey.length}`);
    }
    const associatedData = associatedDataOf(context);
    const keyId = this.s.key.ocid;
    const out = await this.call("encrypt", keyId, async (c) =>
      c.encrypt({ encryptDataDetails: { keyId, plaintext: base64(plaintextKey), associatedData, loggingContext: associatedData } }),
    );
    const data = out.encryptedData;
    if (data.keyId !== undefined && data.keyId !== keyId) throw this.malformed("encrypt", keyId, `keyId ${JSON.stringify(data.keyId)} is not the key asked for`);
    const text = typeof data.ciphertext === "string" ? data.ciphertext : "";
    const ciphertext = Buffer.from(text, "base64");
    if (ciphertext.length === 0 || ciphertext.toString("base64") !== text) throw this.malformed("encrypt", keyId, "ciphertext is missing or not canonical base64");
    return encodeWrapped(keyId, ciphertext);
  }

  async unwrap(wrapped: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    const associatedData = associatedDataOf(context);
    const { key, ciphertext } = decodeWrapped(wrapped);
    if (key.realm !== this.s.key.realm || key.region !== this.s.key.region) {
      throw new AppError(
        "internal",
        `Refusing to unwrap a data key that names ${key.ocid}: this oci-vault provider only uses keys of realm ${this.s.key.realm}, region ${this.s.key.region || "(none)"}. ` +
          "The stored wrapped key was altered, or it was wrapped under another region's key and needs a provider configured for that key.",
      );
    }
    const out = await this.call("decrypt", key.ocid, async (c) =>
      c.decrypt({ decryptDataDetails: { keyId: key.ocid, ciphertext: base64(ciphertext), associatedData, loggingContext: associatedData } }),
    );
    const plaintext = Buffer.from(typeof out.decryptedData.plaintext === "string" ? out.decryptedData.plaintext : "", "base64");
    if (plaintext.length === 0) throw this.malformed("decrypt", key.ocid, "no plaintext");
    const result = Uint8Array.from(plaintext);
    plaintext.fill(0);
    return result;
  }

  async health(): Promise<HealthResult> {
    try {
      const described = await this.checkKey();
      const probe = randomBytes(32);
      const back = await this.unwrap(await this.wrap(probe, HEALTH_CONTEXT), HEALTH_CONTEXT);
      if (back.length !== probe.length || !timingSafeEqual(back, probe)) throw this.malformed("decrypt", this.s.key.ocid, "round trip returned different bytes");
      return {
        ok: true,
        detail: `OCI Vault key ${this.s.key.ocid} usable: ${described}Encrypt/Decrypt (AES_256_GCM, associatedData) round trip ok at ${this.s.endpoint} (${this.authLabel()})`,
      };
    } catch (err) {
      if (err instanceof KeyUnavailableError) return { ok: false, kind: err.kind, reason: err.reason, providerMessage: err.providerMessage, detail: err.message };
      return { ok: false, detail: `Health check of OCI Vault key ${this.s.key.ocid} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  describe(): KeyProviderDescription {
    const i = this.info;
    const protection =
      i === null
        ? "Create the key with protection mode HSM: it then never leaves the vault's HSMs (a SOFTWARE-protected key is not HSM-grade)."
        : i.protectionMode === "SOFTWARE"
          ? `Key "${i.name}" has protection mode SOFTWARE: protected by the vault's software, not HSM-grade (create an HSM-protected key for that).`
          : `Key "${i.name}" has protection mode ${i.protectionMode}${i.protectionMode === "HSM" ? ": it never leaves the vault's HSMs" : ""}.`;
    return {
      provider: "oci-vault",
      keyId: this.s.key.ocid,
      hsmGrade: this.hsmGrade,
      note:
        `OCI Vault master encryption key (realm ${this.s.key.realm}${this.s.key.region ? `, region ${this.s.key.region}` : ""}) through the crypto endpoint ${this.s.endpoint}, ` +
        `Encrypt/Decrypt with AES_256_GCM bound to associatedData. ${protection} OCI credentials: ${this.authLabel()}, never Conclave's config.`,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client?.close();
    this.client = null;
    this.management?.close();
    this.management = null;
    const p = this.authProvider as { closeProvider?: () => void } | null;
    if (typeof p?.closeProvider === "function") p.closeProvider();
    this.authProvider = null;
    this.signerPromise = null;
  }

  // ---- internals ----

  private authLabel(): string {
    const a = this.s.auth;
    if (a.type === "config_file") return `OCI config file ${a.configFile ?? "(SDK default: OCI_CONFIG_FILE or ~/.oci/config)"}, profile ${a.profile}`;
    return a.type === "instance_principal" ? "instance principal" : "resource principal";
  }

  /** The SDK request signer, built on first use from the configured credentials; a failure is not cached (the file may be fixed). */
  private signer(): Promise<RequestSigner> {
    if (this.signerPromise === null) {
      const p = (async () => {
        const sdk = await loadOciSdk();
        const provider = await buildAuthProvider(sdk, this.s.auth, this.s.timeoutMs);
        this.authProvider = provider;
        try {
          return new sdk.common.DefaultRequestSigner(provider);
        } catch (err) {
          throw credentialsError(err, "Cannot use the OCI API private key (check key_file and pass_phrase in the OCI config file)");
        }
      })();
      this.signerPromise = p;
      p.catch(() => {
        if (this.signerPromise === p) this.signerPromise = null;
      });
    }
    return this.signerPromise;
  }

  /**
   * GetKey (when a management endpoint is known): a state other than ENABLED or a non-AES key
   * fails the health check with that reason; any GetKey failure (no "read keys" permission,
   * management endpoint down) only adds a note — the Encrypt/Decrypt round trip decides.
   */
  private async checkKey(): Promise<string> {
    if (this.s.managementEndpoint === null) return "";
    const keyId = this.s.key.ocid;
    let info: OciKeyInfo;
    try {
      if (this.closed) throw new AppError("internal", `The oci-vault provider for ${keyId} was closed.`);
      if (this.management === null) {
        const sdk = await loadOciSdk();
        this.management ??= createManagementClient(sdk, this.s.managementEndpoint, () => this.signer(), this.s.timeoutMs);
      }
      const client = this.management;
      info = keyInfoOf((await quietly(() => client.getKey({ keyId }))).key);
    } catch (err) {
      if (err instanceof AppError) throw err;
      return `GetKey at ${this.s.managementEndpoint} failed (${classifyOciError(err, "getKey").providerMessage}), so the key's state and protection mode are unknown; `;
    }
    this.info = info;
    const verdict = stateVerdict(info.state);
    if (verdict !== null) this.fail("GetKey", keyId, verdict.kind, verdict.reason, `lifecycleState ${info.state} (GetKey at ${this.s.managementEndpoint})`);
    if (info.algorithm !== "AES") this.fail("GetKey", keyId, "denied", "invalid_key_usage", `the key's algorithm is ${info.algorithm}, not AES`);
    return `key "${info.name}" ENABLED, AES-${info.length * 8}, protection mode ${info.protectionMode}; `;
  }

  private async cryptoClient(): Promise<KmsCryptoClient> {
    if (this.closed) throw new AppError("internal", `The oci-vault provider for ${this.s.key.ocid} was closed.`);
    if (this.client === null) {
      const sdk = await loadOciSdk();
      this.client ??= createCryptoClient(sdk, this.s.endpoint, () => this.signer(), this.s.timeoutMs, this.s.maxAttempts);
    }
    return this.client;
  }

  /** One KmsCryptoClient call, its failure turned into a KeyUnavailableError. */
  private async call<T>(op: "encrypt" | "decrypt", keyId: string, fn: (c: KmsCryptoClient) => Promise<T>): Promise<T> {
    const client = await this.cryptoClient();
    try {
      return await quietly(() => fn(client));
    } catch (err) {
      if (err instanceof AppError) throw err;
      const c = classifyOciError(err, op);
      return this.fail(op, keyId, c.kind, c.reason, c.providerMessage);
    }
  }

  private fail(op: string, keyId: string, kind: KeyUnavailableError["kind"], reason: KeyUnavailableError["reason"], providerMessage: string): never {
    throw new KeyUnavailableError({
      kind,
      reason,
      keyId,
      providerMessage,
      message: `OCI Vault key ${keyId} is ${kind}: ${REASON_TEXT[reason]}. ${op === "encrypt" ? "Encrypt" : op === "decrypt" ? "Decrypt" : op} at ${this.s.endpoint} failed with: ${providerMessage}`,
    });
  }

  private malformed(op: "encrypt" | "decrypt", keyId: string, what: string): KeyUnavailableError {
    try {
      return this.fail(op, keyId, "unreachable", "server_error", `malformed ${op} response: ${what}`);
    } catch (e) {
      return e as KeyUnavailableError;
    }
  }
}
