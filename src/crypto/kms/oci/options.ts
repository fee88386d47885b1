/**
 * oci-vault options: the [oci_vault] config section, a customer key reference, and the checks
 * that turn OciVaultOptions into the provider's settings (every refusal says what to fix).
 */
import { isAbsolute, resolve } from "node:path";
import { AppError } from "../../../shared/errors.ts";
import type { OciVaultOptions } from "../types.ts";
import type { OciAuth } from "./client.ts";
import { checkCryptoEndpoint, deriveManagementEndpoint, describeOcidProblem, parseKeyOcid, type KeyOcid } from "./ocid.ts";

export const OCI_VAULT_DEFAULT_TIMEOUT_MS = 3000;
export const OCI_VAULT_DEFAULT_MAX_ATTEMPTS = 2;
export const OCI_VAULT_AUTH_TYPES = ["config_file", "instance_principal", "resource_principal"] as const;
export type OciAuthType = (typeof OCI_VAULT_AUTH_TYPES)[number];
const PROFILE_RE = /^[A-Za-z0-9_.@-]{1,100}$/;

/** OciVaultSettings are checked options, as the provider uses them. */
export interface OciVaultSettings {
  key: KeyOcid;
  endpoint: string;
  /** The vault's management endpoint for GetKey (diagnostics only), or null when unknown. */
  managementEndpoint: string | null;
  auth: OciAuth;
  timeoutMs: number;
  maxAttempts: number;
}

/** OciVaultConfigSection is the [oci_vault] config section as the config loader types it. */
export interface OciVaultConfigSection {
  key_id: string;
  crypto_endpoint: string;
  management_endpoint: string;
  auth: string;
  config_file: string;
  profile: string;
  timeout_ms: number;
  max_attempts: number;
}

/** ociVaultOptionsFromConfig maps the [oci_vault] section to provider options (relative paths from the working directory); undefined when key_id is empty. */
export function ociVaultOptionsFromConfig(c: OciVaultConfigSection): OciVaultOptions | undefined {
  if (c.key_id.trim() === "") return undefined;
  const auth = c.auth.trim() === "" ? "config_file" : c.auth.trim();
  if (!(OCI_VAULT_AUTH_TYPES as readonly string[]).includes(auth)) {
    throw new AppError("invalid_input", `Invalid [oci_vault] auth ${JSON.stringify(auth)}: expected ${OCI_VAULT_AUTH_TYPES.join(", ")}.`);
  }
  const file = c.config_file.trim();
  const profile = c.profile.trim();
  if (auth !== "config_file" && (file !== "" || (profile !== "" && profile !== "DEFAULT"))) {
    throw new AppError("invalid_input", `Invalid [oci_vault] ${file !== "" ? "config_file" : "profile"}: it is only used with auth = "config_file" (auth is "${auth}"); remove it or change auth.`);
  }
  const configFileAuth = auth === "config_file";
  return {
    keyId: c.key_id.trim(),
    cryptoEndpoint: c.crypto_endpoint.trim(),
    managementEndpoint: c.management_endpoint.trim() === "" ? undefined : c.management_endpoint.trim(),
    auth: auth as OciAuthType,
    configFile: !configFileAuth || file === "" ? undefined : isAbsolute(file) ? file : resolve(file),
    profile: !configFileAuth || profile === "" ? undefined : profile,
    timeoutMs: c.timeout_ms,
    maxAttempts: c.max_attempts,
  };
}

/**
 * ociVaultOptionsForKeyRef builds oci-vault options for a key entered by an admin (a
 * customer-managed key): "OCID", using the [oci_vault] crypto_endpoint, or "OCID CRYPTO_ENDPOINT"
 * for a key in another vault. Authentication, timeouts and attempts come from [oci_vault] (its
 * key_id is not needed). The result is checked like the provider's own options.
 */
export function ociVaultOptionsForKeyRef(c: OciVaultConfigSection, keyRef: string): OciVaultOptions {
  const parts = keyRef.trim().split(/\s+/).filter((x) => x !== "");
  if (parts.length === 0 || parts.length > 2) {
    throw new AppError("invalid_input", "Enter the key's OCID (ocid1.key.…), optionally followed by a space and its vault's Cryptographic Endpoint (https://<vault>-crypto.kms.<region>.oraclecloud.com).");
  }
  const [ocid, endpoint] = parts as [string, string | undefined];
  // A key in another vault: that vault's management endpoint is derived from its crypto endpoint.
  const base = ociVaultOptionsFromConfig({ ...c, key_id: ocid, crypto_endpoint: endpoint ?? c.crypto_endpoint, management_endpoint: endpoint === undefined ? c.management_endpoint : "" });
  if (base === undefined) throw new AppError("invalid_input", "Enter the key's OCID (ocid1.key.…).");
  if (base.cryptoEndpoint === "") {
    throw new AppError("invalid_input", "Add the vault's Cryptographic Endpoint after the OCID (the server config has no [oci_vault] crypto_endpoint).");
  }
  parseOciVaultOptions(base);
  return base;
}

/** parseOciVaultOptions checks provider options; AppError "invalid_input" naming what to fix. */
export function parseOciVaultOptions(o: OciVaultOptions | undefined): OciVaultSettings {
  if (o === undefined) {
    throw new AppError("invalid_input", "Missing oci-vault options: the oci-vault key provider needs at least the key OCID (keyId) and the vault's crypto endpoint (cryptoEndpoint).");
  }
  const bad = (msg: string): never => {
    throw new AppError("invalid_input", `Invalid oci-vault options: ${msg}.`);
  };
  if (typeof o.keyId !== "string") bad("keyId must be a string");
  const key = parseKeyOcid(o.keyId);
  if (key === null) bad(`keyId must be a key OCID (ocid1.key.<realm>.<region>.<vault>.<unique id>), got ${JSON.stringify(o.keyId)}: ${describeOcidProblem(o.keyId)}`);
  if (typeof o.cryptoEndpoint !== "string" || o.cryptoEndpoint.trim() === "") {
    bad("cryptoEndpoint is required: the vault's Cryptographic Endpoint, https://<vault>-crypto.kms.<region>.oraclecloud.com (Vault details page in the OCI console)");
  }
  const ep = checkCryptoEndpoint(o.cryptoEndpoint);
  if (!ep.ok) bad(`cryptoEndpoint ${ep.problem}`);
  let managementEndpoint = deriveManagementEndpoint((ep as { url: string }).url);
  if (o.managementEndpoint !== undefined) {
    const m = typeof o.managementEndpoint === "string" ? checkCryptoEndpoint(o.managementEndpoint, "management") : { ok: false as const, problem: "it must be a URL" };
    if (!m.ok) bad(`managementEndpoint ${m.problem}`);
    managementEndpoint = (m as { url: string }).url;
  }
  const authType = o.auth ?? "config_file";
  if (!(OCI_VAULT_AUTH_TYPES as readonly string[]).includes(authType)) bad(`auth must be ${OCI_VAULT_AUTH_TYPES.join(", ")}, got ${JSON.stringify(authType)}`);
  let auth: OciAuth;
  if (authType === "config_file") {
    if (o.configFile !== undefined && (typeof o.configFile !== "string" || !isAbsolute(o.configFile))) bad(`configFile must be an absolute path, got ${JSON.stringify(o.configFile)}`);
    const profile = o.profile ?? "DEFAULT";
    if (typeof profile !== "string" || !PROFILE_RE.test(profile)) bad(`profile must be a profile name of the OCI config file (letters, digits, _ . @ -), got ${JSON.stringify(o.profile)}`);
    auth = { type: "config_file", configFile: o.configFile, profile };
  } else {
    if (o.configFile !== undefined || o.profile !== undefined) bad(`configFile and profile are only used with auth "config_file" (auth is "${authType}")`);
    auth = { type: authType as "instance_principal" | "resource_principal" };
  }
  const timeoutMs = o.timeoutMs ?? OCI_VAULT_DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 120_000) bad(`timeoutMs must be an integer from 50 to 120000, got ${String(o.timeoutMs)}`);
  const maxAttempts = o.maxAttempts ?? OCI_VAULT_DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) bad(`maxAttempts must be an integer from 1 to 10, got ${String(o.maxAttempts)}`);
  return { key: key as KeyOcid, endpoint: (ep as { url: string }).url, managementEndpoint, auth, timeoutMs, maxAttempts };
}
