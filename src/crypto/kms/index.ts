/**
 * The key providers, in one literal map checked by the compiler. Importing this file has no
 * side effects; main.ts picks one by name and opens it.
 */
import { AppError } from "../../shared/errors.ts";
import { createAwsKmsKeyProvider } from "./aws-kms.ts";
import { createAzureKeyVaultKeyProvider } from "./azure-keyvault.ts";
import { createLocalKeyProvider } from "./local.ts";
import { createOciVaultKeyProvider } from "./oci-vault.ts";
import { createPkcs11KeyProvider } from "./pkcs11.ts";
import type { KeyProvider, KeyProviderFactory, KeyProviderOptions } from "./types.ts";

export type {
  AwsKmsOptions,
  AzureKeyVaultOptions,
  HealthResult,
  KeyProvider,
  KeyProviderDescription,
  KeyProviderFactory,
  KeyProviderOptions,
  KeyUnavailableKind,
  KeyUnavailableReason,
  OciVaultOptions,
  Pkcs11Options,
} from "./types.ts";
export { KeyUnavailableError } from "./types.ts";
export { probePkcs11KeyProvider } from "./pkcs11.ts";
export {
  azureKeyVaultOptionsFromConfig,
  probeAzureKeyVaultKeyProvider,
  type AzureKeyVaultConfigSection,
  type AzureKeyVaultKeyProvider,
} from "./azure-keyvault.ts";
export { ociVaultOptionsForKeyRef, ociVaultOptionsFromConfig, probeOciVaultKeyProvider, type OciVaultConfigSection, type OciVaultKeyProvider } from "./oci-vault.ts";
export { awsKmsOptionsFromConfig, probeAwsKmsKeyProvider, type AwsKmsConfigSection, type AwsKmsKeyProvider } from "./aws-kms.ts";

/** keyProviders maps each provider name accepted in config `keys.provider` to its factory. */
export const keyProviders = {
  local: createLocalKeyProvider,
  pkcs11: createPkcs11KeyProvider,
  "aws-kms": createAwsKmsKeyProvider,
  "azure-keyvault": createAzureKeyVaultKeyProvider,
  "oci-vault": createOciVaultKeyProvider,
} satisfies Record<string, KeyProviderFactory>;

/** KeyProviderName is a name in the `keyProviders` map. */
export type KeyProviderName = keyof typeof keyProviders;

/** isKeyProviderName tells whether a string (e.g. from config) names a known provider. */
export function isKeyProviderName(name: string): name is KeyProviderName {
  return Object.hasOwn(keyProviders, name);
}

/** createKeyProvider opens the named provider, refusing unknown names with the list of known ones. */
export async function createKeyProvider(name: KeyProviderName, opts: KeyProviderOptions): Promise<KeyProvider> {
  if (!isKeyProviderName(name)) {
    throw new AppError("invalid_input", `Unknown key provider "${String(name)}"; known: ${Object.keys(keyProviders).join(", ")}.`);
  }
  const factory: KeyProviderFactory = keyProviders[name];
  return factory(opts);
}
