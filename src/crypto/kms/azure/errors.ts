/**
 * Classifies what @azure/keyvault-keys (and @azure/identity behind it) throws into
 * KeyUnavailableError kinds:
 *
 *   unreachable  timeouts (our per-attempt limit, code ETIMEDOUT), connection refused / reset /
 *                DNS / TLS failures, any 5xx, and throttling (429 "Throttled").
 *   denied       401 (token rejected) and credentials the chain could not get
 *                (CredentialUnavailableError, AuthenticationError, AggregateAuthenticationError,
 *                AuthenticationRequiredError); 403 Forbidden — the access policy or RBAC refuses
 *                (AccessDenied / ForbiddenByRbac) or the key is disabled ("Operation unwrapKey is
 *                not allowed on a disabled key", innererror KeyDisabled); 404 KeyNotFound
 *                (deleted, soft-deleted or a wrong id); 400 BadParameter on unwrapKey (wrapped
 *                under another key, or damaged bytes); the SDK's own refusals (key_ops without
 *                wrapKey/unwrapKey, an expired or not-yet-valid key, a challenge naming another
 *                resource than the vault's); and any other 4xx.
 *
 * As with aws-kms, missing credentials fail closed ("denied", reason "credentials"): the provider
 * makes no call when it is created, and sealing under the fallback key while the operator's
 * credentials are broken would look like an outage that never ends. A TLS failure (certificate
 * not trusted) is "unreachable": no authoritative answer came from Key Vault.
 */
import { NETWORK_ERROR_CODES } from "../probe.ts";
import type { KeyUnavailableKind, KeyUnavailableReason } from "../types.ts";

export interface Classification {
  kind: KeyUnavailableKind;
  reason: KeyUnavailableReason;
  /** The error as text: "<code or name> (<status>): <message>". */
  providerMessage: string;
}

const NETWORK_CODES = NETWORK_ERROR_CODES;
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "ERR_SOCKET_CONNECTION_TIMEOUT"]);
const CREDENTIAL_ERROR_NAMES = new Set(["CredentialUnavailableError", "AuthenticationError", "AggregateAuthenticationError", "AuthenticationRequiredError"]);

interface RestErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  details?: { error?: { code?: unknown; innerError?: { code?: unknown } } };
}

/** classifyAzureKeyVaultError decides unreachable vs denied for anything an SDK call threw; `op` is the Key Vault operation. */
export function classifyAzureKeyVaultError(err: unknown, op: "wrapKey" | "unwrapKey" | "getKey"): Classification {
  const e: RestErrorShape = typeof err === "object" && err !== null ? (err as RestErrorShape) : {};
  const name = typeof e.name === "string" && e.name !== "" ? e.name : "Error";
  const code = typeof e.code === "string" ? e.code : "";
  const status = typeof e.statusCode === "number" ? e.statusCode : 0;
  const inner = typeof e.details?.error?.innerError?.code === "string" ? e.details.error.innerError.code : "";
  const message = typeof e.message === "string" ? e.message.trim() : String(err);
  const providerMessage = providerText(name, code, status, inner, message);
  const v = (kind: KeyUnavailableKind, reason: KeyUnavailableReason): Classification => ({ kind, reason, providerMessage });

  if (CREDENTIAL_ERROR_NAMES.has(name)) return v("denied", "credentials");
  if (status === 0) {
    if (TIMEOUT_CODES.has(code) || name === "TimeoutError") return v("unreachable", "timeout");
    if (NETWORK_CODES.has(code)) return v("unreachable", "connection");
    // The SDK's own checks before any request (CryptographyClient.ensureValid, the challenge policy).
    if (/^Operation \w+ is not supported on key /.test(message)) return v("denied", "invalid_key_usage");
    if (/ expired at |can't be used before/.test(message)) return v("denied", "invalid_state");
    if (/challenge (resource|contains invalid scope)/i.test(message)) return v("denied", "refused");
    return v("unreachable", "connection");
  }
  if (status === 429 || code === "Throttled") return v("unreachable", "throttled");
  if (status >= 500) return v("unreachable", "server_error");
  if (status === 401) return v("denied", "credentials");
  if (status === 403) {
    if (inner === "KeyDisabled" || code === "KeyDisabled" || /disabled key/i.test(message)) return v("denied", "disabled");
    if (/expired key|not yet valid|is expired/i.test(message)) return v("denied", "invalid_state");
    if (inner === "OperationNotAllowed" || /not allowed by the key's key_ops|is not permitted on this key/i.test(message)) return v("denied", "invalid_key_usage");
    return v("denied", "access_denied");
  }
  if (status === 404 || code === "KeyNotFound") return v("denied", "not_found");
  if (status === 409) return v("denied", "invalid_state");
  if (status === 400 && op === "unwrapKey") return v("denied", "invalid_ciphertext");
  return v("denied", "refused");
}

function providerText(name: string, code: string, status: number, inner: string, message: string): string {
  const label = code !== "" ? code : name;
  const head = status > 0 ? `${label} (HTTP ${status}${inner !== "" && inner !== code ? `, ${inner}` : ""})` : label;
  if (message === "" || message === label) return head;
  return `${head}: ${message}`;
}

/** REASON_TEXT says each reason in words, for messages. */
export const REASON_TEXT: Record<KeyUnavailableReason, string> = {
  timeout: "the request timed out",
  connection: "the connection to Azure Key Vault failed",
  server_error: "Azure Key Vault answered with a server error",
  throttled: "Azure Key Vault is throttling requests (service limits exceeded)",
  key_unavailable: "Azure Key Vault says the key is temporarily unavailable",
  access_denied: "access was denied by the vault's access policy or Azure RBAC (the identity needs wrapKey, unwrapKey and get on keys)",
  credentials:
    "no valid Azure credentials: set them through @azure/identity's standard chain (AZURE_CLIENT_ID/AZURE_TENANT_ID with AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH, workload identity, managed identity, or a signed-in Azure CLI)",
  disabled: "the key is disabled",
  pending_deletion: "the key is deleted (soft-deleted, pending purge)",
  invalid_state: "the key is not in a usable state (expired or not yet valid)",
  not_found: "the key or key version does not exist (deleted, or a wrong vault, name or version)",
  invalid_ciphertext:
    "the wrapped key does not open with this key for this context: it was wrapped for another encryption context (account, data class, key version) or under another key, or the stored bytes are damaged",
  incorrect_key: "the wrapped key was made under a different key",
  invalid_key_usage: "the key cannot be used to wrap and unwrap keys with the configured algorithm (check its key type and key_ops)",
  refused: "Azure Key Vault refused the request",
};
