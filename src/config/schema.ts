/**
 * The configuration schema: every key Conclave accepts, its type, default, limits and help
 * text. Loading (config/load.ts) and the example file test both read this one table.
 * Secrets are never values here: keys ending in `_file` or `_env` name where a secret lives.
 */

/** FieldSpec describes one configuration key. */
export type FieldSpec =
  | { type: "string"; default: string; help: string; oneOf?: readonly string[]; secretRef?: true }
  | { type: "port"; default: number; help: string; allowZero?: true }
  | { type: "int"; default: number; help: string; min: number; max: number }
  | { type: "bool"; default: boolean; help: string };

/** schema maps section → key → spec. Section and key names are the TOML names. */
export const schema = {
  server: {
    data_dir: { type: "string", default: "./data", help: "Directory for the database, TLS files and the local key file." },
    bind: { type: "string", default: "0.0.0.0", help: "Address the HTTPS and HTTP listeners bind to (IPv4 or IPv6)." },
    https_port: { type: "port", default: 8443, allowZero: true, help: "HTTPS port for pages, API and signalling; 0 picks a free port (tests)." },
    http_port: { type: "port", default: 8080, allowZero: true, help: "Plain-HTTP port that only redirects to HTTPS; 0 disables it." },
    public_url: { type: "string", default: "", help: "External base URL used in links and e-mails, e.g. https://meet.example.org. Empty: derived from the request or https://<hostname>:<https_port>." },
  },
  tls: {
    cert_file: { type: "string", default: "", help: "PEM certificate chain. Empty: a self-signed ECDSA P-256 certificate is generated in <data_dir>/tls." },
    key_file: { type: "string", default: "", secretRef: true, help: "PEM private key file for cert_file (mode 0600)." },
  },
  log: {
    level: { type: "string", default: "info", oneOf: ["debug", "info", "warn", "error"], help: "Lowest level written." },
    format: { type: "string", default: "auto", oneOf: ["auto", "json", "pretty"], help: "auto: human readable on a terminal, JSON lines otherwise." },
  },
  keys: {
    provider: { type: "string", default: "local", oneOf: ["local", "pkcs11", "aws-kms", "azure-keyvault", "oci-vault"], help: "Key provider holding the server key-encryption key: local (key file), pkcs11 (an HSM; see [pkcs11]), aws-kms (see [aws_kms]), azure-keyvault (see [azure_keyvault]) or oci-vault (see [oci_vault])." },
    local_key_file: { type: "string", default: "", secretRef: true, help: "Local key file (mode 0600). Empty: <data_dir>/keys/local.key. Not HSM-grade." },
    cmk_probe_seconds: { type: "int", default: 60, min: 5, max: 300, help: "How often every account's customer-managed key is health-checked (status e-mails, fallback re-seal, due deprovisioning); at most the 5-minute data-key cache lifetime, so a revoked key is purged from memory within it." },
  },
  pkcs11: {
    module: { type: "string", default: "", help: "Absolute path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so." },
    token_label: { type: "string", default: "", help: "Label of the token holding the key." },
    key_label: { type: "string", default: "conclave-kek", help: "Label (CKA_LABEL) of the AES-256 key on the token." },
    pin_file: { type: "string", default: "", secretRef: true, help: "File holding the user PIN (mode 0600)." },
    pin_env: { type: "string", default: "", secretRef: true, help: "Name of the environment variable holding the user PIN." },
    mechanism: { type: "string", default: "aes-gcm", oneOf: ["aes-gcm", "aes-key-wrap"], help: "aes-gcm (CKM_AES_GCM) or aes-key-wrap (CKM_AES_KEY_WRAP, for HSMs that refuse caller IVs)." },
    create_key: { type: "bool", default: false, help: "Create the key (non-extractable, sensitive) when the token has none with that label. Use once, at enrolment." },
  },
  aws_kms: {
    key_id: { type: "string", default: "", help: "Full ARN of the symmetric KMS key (or an alias ARN). Credentials come from the AWS SDK's standard chain, never from this file." },
    replica_key_ids: { type: "string", default: "", help: "Multi-region replica key ARNs (comma or space separated), tried in order when the primary region is unreachable." },
    region: { type: "string", default: "", help: "Region; empty: the region in key_id." },
    endpoint: { type: "string", default: "", help: "Endpoint URL for the primary region (e.g. a VPC endpoint); empty: the SDK default." },
    region_endpoints: { type: "string", default: "", help: "Endpoints for replica regions: REGION=URL pairs separated by spaces." },
    timeout_ms: { type: "int", default: 5000, min: 50, max: 120000, help: "Per-attempt timeout of a KMS call." },
    max_attempts: { type: "int", default: 3, min: 1, max: 10, help: "Attempts per KMS call (retries on timeouts, 5xx and throttling)." },
  },
  azure_keyvault: {
    key_id: { type: "string", default: "", help: "Key identifier, https://<vault>.vault.azure.net/keys/<name>[/<version>]. Credentials come from @azure/identity's chain, never from this file." },
    algorithm: { type: "string", default: "RSA-OAEP-256", oneOf: ["RSA-OAEP-256", "A256KW"], help: "RSA-OAEP-256 (RSA keys) or A256KW (AES keys in a Managed HSM)." },
    timeout_ms: { type: "int", default: 5000, min: 50, max: 120000, help: "Per-attempt timeout of a Key Vault call." },
    max_attempts: { type: "int", default: 3, min: 1, max: 10, help: "Attempts per call (retries on timeouts, 5xx and 429)." },
  },
  oci_vault: {
    key_id: { type: "string", default: "", help: "OCID of the AES master encryption key, ocid1.key.<realm>.<region>.<vault>.<id>. Credentials come from the OCI config file or the instance/resource principal, never from this file." },
    crypto_endpoint: { type: "string", default: "", help: "The vault's Cryptographic Endpoint, https://<vault>-crypto.kms.<region>.oraclecloud.com." },
    management_endpoint: { type: "string", default: "", help: "The vault's Management Endpoint, only for GetKey (key state and protection mode in health checks). Empty: derived from crypto_endpoint." },
    auth: { type: "string", default: "config_file", oneOf: ["config_file", "instance_principal", "resource_principal"], help: "config_file (an OCI config file + profile), instance_principal or resource_principal." },
    config_file: { type: "string", default: "", secretRef: true, help: "With auth = config_file: the OCI config file (its key_file names the API private key). Empty: OCI_CONFIG_FILE or ~/.oci/config." },
    profile: { type: "string", default: "DEFAULT", help: "With auth = config_file: the profile in the OCI config file." },
    timeout_ms: { type: "int", default: 3000, min: 50, max: 120000, help: "Per-attempt timeout of a Vault call." },
    max_attempts: { type: "int", default: 2, min: 1, max: 10, help: "Attempts per call (retries on timeouts, connection errors, 5xx and 429)." },
  },
  media: {
    udp_port: { type: "port", default: 10000, allowZero: true, help: "The one UDP port every participant's media uses (ICE UDP mux, DTLS-SRTP). Open it in the firewall. 0 picks a free port (tests)." },
    bind: { type: "string", default: "", help: "Address the media port binds to; empty: the same as server.bind." },
    announced_addresses: { type: "string", default: "", help: "Public IP addresses written into ICE candidates instead of the bound one, for a server behind 1:1 NAT (comma or space separated)." },
  },
  smtp: {
    host: { type: "string", default: "", help: "Outgoing mail server. Empty: mail is not sent and pages show links to copy instead." },
    port: { type: "port", default: 587, help: "SMTP port." },
    tls: { type: "string", default: "starttls", oneOf: ["starttls", "implicit", "none"], help: "starttls (587), implicit TLS (465) or none (local relays only)." },
    from: { type: "string", default: "Conclave <conclave@localhost>", help: "From address of outgoing mail." },
    username: { type: "string", default: "", help: "SMTP user name; empty for no authentication." },
    password_env: { type: "string", default: "", secretRef: true, help: "Name of the environment variable holding the SMTP password." },
    password_file: { type: "string", default: "", secretRef: true, help: "File holding the SMTP password (mode 0600)." },
  },
  security: {
    session_hours: { type: "int", default: 12, min: 1, max: 720, help: "Absolute lifetime of a web session, in hours." },
    setup_token_minutes: { type: "int", default: 60, min: 5, max: 1440, help: "Lifetime of the one-time setup URL printed at first start." },
    invitation_days: { type: "int", default: 7, min: 1, max: 30, help: "Lifetime of an e-mailed invitation link." },
  },
} as const satisfies Record<string, Record<string, FieldSpec>>;

/** Schema is the literal type of the schema table. */
export type Schema = typeof schema;

type ValueOf<S> = S extends { type: "bool" } ? boolean : S extends { type: "string" } ? string : number;

/** Config is the validated, fully defaulted configuration. */
export type Config = { -readonly [S in keyof Schema]: { -readonly [K in keyof Schema[S]]: ValueOf<Schema[S][K]> } };

/** defaults builds a Config holding every default value. */
export function defaults(): Config {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(schema)) {
    out[section] = {};
    for (const [key, spec] of Object.entries(keys)) out[section]![key] = (spec as FieldSpec).default;
  }
  return out as Config;
}
