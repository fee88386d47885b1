/**
 * Opening an account's customer-managed key: the provider's connection settings (PKCS#11
 * module and PIN source, endpoints, timeouts) come from the server config and the SDKs'
 * credential chains; the account supplies only the key reference. Failures are classified
 * into "unreachable" (transient) and "denied" (fails closed).
 */
import type { Config } from "../config/schema.ts";
import { awsKmsOptionsFromConfig } from "../crypto/kms/aws-kms.ts";
import { azureKeyVaultOptionsFromConfig } from "../crypto/kms/azure-keyvault.ts";
import { keyProviders, KeyUnavailableError, ociVaultOptionsForKeyRef, type KeyProvider, type KeyProviderOptions } from "../crypto/kms/index.ts";
import type { HealthResult, KeyUnavailableKind } from "../crypto/kms/types.ts";
import { AppError } from "../shared/errors.ts";

/** CmkKeySpec is what an admin enters for a key: provider, key reference and (AWS) replica ARNs. */
export interface CmkKeySpec {
  provider: string;
  keyRef: string;
  replicas: string[];
}

/** CmkOpener opens a provider for a CMK key reference (the caller closes it). */
export type CmkOpener = (spec: CmkKeySpec) => Promise<KeyProvider>;

/** CMK_PROVIDERS are the provider names an account may choose (every provider but the local key file). */
export function cmkProviderNames(): string[] {
  return Object.keys(keyProviders).filter((n) => n !== "local");
}

/** The KeyProviderOptions field each provider reads its own section from. */
const SECTION: Record<string, string> = { pkcs11: "pkcs11", "aws-kms": "aws", "azure-keyvault": "azure", "oci-vault": "oci" };

/** cmkProviderOptions builds the options for one CMK from the server's options and config plus the key reference. */
export function cmkProviderOptions(config: Config, base: KeyProviderOptions, spec: CmkKeySpec): KeyProviderOptions {
  const ref = spec.keyRef.trim();
  switch (spec.provider) {
    case "pkcs11": {
      if (!base.pkcs11) throw new AppError("invalid_input", "PKCS#11 keys need the module, token and PIN source in the server config ([pkcs11] module, token_label, pin_file or pin_env).");
      // A customer key is never created by Conclave: it must exist on the token.
      return { ...base, pkcs11: { ...base.pkcs11, keyLabel: ref, createKeyIfMissing: false } };
    }
    case "aws-kms":
      return { ...base, aws: awsKmsOptionsFromConfig({ ...config.aws_kms, key_id: ref, replica_key_ids: spec.replicas.join(" ") }) };
    case "azure-keyvault":
      return { ...base, azure: azureKeyVaultOptionsFromConfig({ ...config.azure_keyvault, key_id: ref }) };
    case "oci-vault":
      // "OCID" (a key in the [oci_vault] vault) or "OCID CRYPTO_ENDPOINT" (a key in another vault).
      return { ...base, oci: ociVaultOptionsForKeyRef(config.oci_vault, ref) };
    default: {
      const field = SECTION[spec.provider];
      const section = field ? (base as unknown as Record<string, Record<string, unknown> | undefined>)[field] : undefined;
      if (!field || !section) throw new AppError("invalid_input", `Provider "${spec.provider}" needs its connection settings in the server config before accounts can enrol keys with it.`);
      return { ...base, [field]: { ...section, keyId: ref } } as KeyProviderOptions;
    }
  }
}

/** createCmkOpener opens CMK providers through the provider map with the server config's connection settings. */
export function createCmkOpener(config: Config, base: KeyProviderOptions): CmkOpener {
  return async (spec) => {
    if (!cmkProviderNames().includes(spec.provider)) throw new AppError("invalid_input", `Unknown key provider "${spec.provider}"; choose one of: ${cmkProviderNames().join(", ")}.`);
    const factory = (keyProviders as Record<string, (o: KeyProviderOptions) => Promise<KeyProvider>>)[spec.provider]!;
    return factory(cmkProviderOptions(config, base, spec));
  };
}

/** KeyFailure is a classified CMK failure. */
export interface KeyFailure {
  kind: KeyUnavailableKind;
  reason: string;
  /** The provider's own message, verbatim. */
  providerMessage: string;
}

// PKCS#11 and generic errors carry no classification: a key that is gone, a refused PIN or a
// key/context mismatch is a denial; a missing token, module or session is an outage.
const DENIED_TEXT = /key not found|no AES key|PIN incorrect|PIN_LOCKED|PIN .*locked|rejected the PIN|Several keys|does not match|not AES-256|extractable|access denied|forbidden|unauthori[sz]ed|disabled|deleted|revoked/i;

/** classifyKeyFailure turns any error from a provider into unreachable / denied with the provider's message. */
export function classifyKeyFailure(err: unknown): KeyFailure {
  if (err instanceof KeyUnavailableError) return { kind: err.kind, reason: err.reason, providerMessage: err.providerMessage || err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof AppError && err.code === "invalid_input") return { kind: "denied", reason: "configuration", providerMessage: message };
  return DENIED_TEXT.test(message) ? { kind: "denied", reason: "refused", providerMessage: message } : { kind: "unreachable", reason: "connection", providerMessage: message };
}

/** classifyHealth classifies a failed health check the same way. */
export function classifyHealth(h: HealthResult): KeyFailure | null {
  if (h.ok) return null;
  if (h.kind) return { kind: h.kind, reason: h.reason ?? h.kind, providerMessage: h.providerMessage ?? h.detail };
  return classifyKeyFailure(new Error(h.detail));
}
