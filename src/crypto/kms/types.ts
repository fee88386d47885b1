/**
 * The key-provider boundary: something that holds a key-encryption key (KEK) and wraps and
 * unwraps data-encryption keys (DEKs) with it. The KEK itself never crosses this interface.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { Agent } from "node:https";
import { AppError } from "../../shared/errors.ts";

/**
 * KeyUnavailableKind separates the two ways a key can be unusable, which the customer-managed
 * key logic treats differently:
 * - "unreachable": the key service did not answer usefully (timeout, connection refused or
 *   reset, 5xx, throttling, "key temporarily unavailable"). Transient; fallback may apply.
 * - "denied": the key service answered and refused (access denied, key disabled, pending
 *   deletion, not found, wrong encryption context / damaged ciphertext, no or rejected
 *   credentials). Fails closed.
 */
export type KeyUnavailableKind = "unreachable" | "denied";

/** KeyUnavailableReason is the finer cause, for pages, logs and e-mails. */
export type KeyUnavailableReason =
  // unreachable
  | "timeout"
  | "connection"
  | "server_error"
  | "throttled"
  | "key_unavailable"
  // denied
  | "access_denied"
  | "credentials"
  | "disabled"
  | "pending_deletion"
  | "invalid_state"
  | "not_found"
  | "invalid_ciphertext"
  | "incorrect_key"
  | "invalid_key_usage"
  | "refused";

/**
 * KeyUnavailableError is how cloud providers (aws-kms, …) report that their key cannot be used
 * right now: an AppError "unavailable" whose message names the key and the reason in words,
 * plus the classification and the provider's own error text verbatim (for the admin "test"
 * action and the key status e-mails).
 */
export class KeyUnavailableError extends AppError {
  readonly kind: KeyUnavailableKind;
  readonly reason: KeyUnavailableReason;
  /** The key the failing call used (an ARN for aws-kms). */
  readonly keyId: string;
  /** The provider's error as it reported it, e.g. "AccessDeniedException: User: … is not authorized …". */
  readonly providerMessage: string;

  constructor(init: { kind: KeyUnavailableKind; reason: KeyUnavailableReason; keyId: string; providerMessage: string; message: string }) {
    super("unavailable", init.message);
    this.name = "KeyUnavailableError";
    this.kind = init.kind;
    this.reason = init.reason;
    this.keyId = init.keyId;
    this.providerMessage = init.providerMessage;
  }
}

/**
 * HealthResult is a provider's answer to "can you wrap and unwrap right now?". Providers that
 * classify failures (see KeyUnavailableError) add `kind`, `reason` and `providerMessage`.
 */
export type HealthResult =
  | { ok: true; detail: string }
  | { ok: false; detail: string; kind?: KeyUnavailableKind; reason?: KeyUnavailableReason; providerMessage?: string };

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
 * AwsKmsOptions configure the "aws-kms" provider: a symmetric AWS KMS key (ENCRYPT_DECRYPT).
 * Credentials are never part of the options: the AWS SDK's default chain supplies them
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, web identity,
 * ECS/EC2 instance roles).
 */
export interface AwsKmsOptions {
  /**
   * The key: a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or an alias ARN
   * (arn:aws:kms:REGION:ACCOUNT:alias/NAME). Full ARNs only: the account pins which keys
   * unwrap may use.
   */
  keyId: string;
  /**
   * Multi-region replica key ARNs (same mrk-… key id, other regions), tried in order when the
   * primary region is unreachable. Needs keyId to be a multi-region key (or an alias of one).
   */
  replicaKeyIds?: string[];
  /** The primary region; defaults to the region in keyId and must match it when given. */
  region?: string;
  /** Endpoint URL for the primary region (VPC endpoint, tests: http://127.0.0.1:PORT); default: the SDK's. */
  endpoint?: string;
  /** Endpoint URLs for other regions (replicas), by region name. */
  regionEndpoints?: Record<string, string>;
  /** Time limit per attempt (connect and request), in ms; default 5000. */
  timeoutMs?: number;
  /** Attempts per call including the SDK's retries (timeouts, 5xx, throttling); default 3. */
  maxAttempts?: number;
}

/**
 * AzureKeyVaultOptions configure the "azure-keyvault" provider: an RSA key (RSA-OAEP-256) or,
 * in a Managed HSM, an AES-256 key (A256KW) in Azure Key Vault, used with wrapKey/unwrapKey.
 * Credentials are never part of Conclave's config: "default" is @azure/identity's
 * DefaultAzureCredential (AZURE_CLIENT_ID/AZURE_TENANT_ID with AZURE_CLIENT_SECRET or
 * AZURE_CLIENT_CERTIFICATE_PATH, workload identity, managed identity, Azure CLI, …).
 */
export interface AzureKeyVaultOptions {
  /**
   * The key identifier: https://VAULT.vault.azure.net/keys/NAME/VERSION (that version) or
   * https://VAULT.vault.azure.net/keys/NAME (the latest version at each wrap; unwrap always uses
   * the version that wrapped). Managed HSM: https://POOL.managedhsm.azure.net/keys/NAME[/VERSION].
   */
  keyId: string;
  /** "RSA-OAEP-256" (RSA / RSA-HSM keys, the default) or "A256KW" (oct-HSM keys, Managed HSM). */
  algorithm?: "RSA-OAEP-256" | "A256KW";
  /** Time limit per attempt, in ms; default 5000. */
  timeoutMs?: number;
  /** Attempts per call including the SDK's retries (timeouts, connection errors, 5xx, throttling); default 3. */
  maxAttempts?: number;
  /** "default" (DefaultAzureCredential, the default) or a TokenCredential object (embedding, tests). */
  credential?: "default" | TokenCredential;
  /**
   * Not from config: the https.Agent the SDK's HTTP client uses (tests: one that trusts the fake
   * vault's certificate and resolves its host name to 127.0.0.1). Default: the SDK's own.
   */
  httpsAgent?: Agent;
}

/**
 * OciVaultOptions configure the "oci-vault" provider: an AES master encryption key in an OCI
 * Vault, used through the crypto endpoint's Encrypt/Decrypt (oci-keymanagement KmsCryptoClient).
 * Credentials are never part of the options, only where the SDK finds them: an OCI config file
 * and profile (whose key_file names the API private key), or the instance's / resource's
 * principal.
 */
export interface OciVaultOptions {
  /** The key's OCID, ocid1.key.<realm>.<region>.<vault>.<unique id>. */
  keyId: string;
  /** The vault's Cryptographic Endpoint, https://<vault>-crypto.kms.<region>.oraclecloud.com (tests: http://127.0.0.1:PORT). */
  cryptoEndpoint: string;
  /**
   * The vault's Management Endpoint, used only for GetKey (key state, algorithm, protection mode
   * in health() and describe()); default: derived from cryptoEndpoint (…-crypto.kms… →
   * …-management.kms…), none for other hosts.
   */
  managementEndpoint?: string;
  /** "config_file" (the default), "instance_principal" or "resource_principal". */
  auth?: "config_file" | "instance_principal" | "resource_principal";
  /** With auth "config_file": the OCI config file (absolute path); default the SDK's (~/.oci/config, or OCI_CONFIG_FILE). */
  configFile?: string;
  /** With auth "config_file": the profile in it; default "DEFAULT". */
  profile?: string;
  /** Time limit per attempt (connect and whole answer), in ms; default 3000. */
  timeoutMs?: number;
  /** Attempts per call including retries (timeouts, connection errors, 5xx, 429); default 2. */
  maxAttempts?: number;
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
  /** Used by the "aws-kms" provider. */
  aws?: AwsKmsOptions;
  /** Used by the "azure-keyvault" provider. */
  azure?: AzureKeyVaultOptions;
  /** Used by the "oci-vault" provider. */
  oci?: OciVaultOptions;
}

/** KeyProviderFactory opens a provider, failing (AppError "unavailable") when its key cannot be used. */
export type KeyProviderFactory = (opts: KeyProviderOptions) => Promise<KeyProvider>;
