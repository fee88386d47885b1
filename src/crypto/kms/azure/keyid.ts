/** Azure Key Vault / Managed HSM key identifiers: parsing and the checks the azure-keyvault provider relies on. */

/** KeyVaultKeyId is a parsed key identifier, e.g. https://contoso.vault.azure.net/keys/conclave-kek/0123…cdef. */
export interface KeyVaultKeyId {
  /** The identifier as given (normalised: no trailing slash). */
  id: string;
  /** https://HOST[:PORT] — the vault (or Managed HSM pool) the key lives in. */
  origin: string;
  hostname: string;
  name: string;
  /** The version (32 hex characters in Azure), or null for "the latest version". */
  version: string | null;
}

const NAME_RE = /^[0-9A-Za-z-]{1,127}$/;
const VERSION_RE = /^[0-9A-Za-z]{1,64}$/;

/** parseKeyVaultKeyId parses https://HOST/keys/NAME[/VERSION]; null when `s` is not one. */
export function parseKeyVaultKeyId(s: string): KeyVaultKeyId | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== "https:" || u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") return null;
  const parts = u.pathname.replace(/\/$/, "").split("/");
  if ((parts.length !== 3 && parts.length !== 4) || parts[0] !== "" || parts[1] !== "keys") return null;
  const name = parts[2]!;
  const version = parts.length === 4 ? parts[3]! : null;
  if (!NAME_RE.test(name) || (version !== null && !VERSION_RE.test(version))) return null;
  const origin = `https://${u.host}`;
  return { id: `${origin}/keys/${name}${version !== null ? `/${version}` : ""}`, origin, hostname: u.hostname, name, version };
}

/** isManagedHsm tells whether a key lives in an Azure Key Vault Managed HSM pool (*.managedhsm.azure.net and sovereign clouds). */
export function isManagedHsm(key: KeyVaultKeyId): boolean {
  return /\.managedhsm\./i.test(key.hostname);
}
