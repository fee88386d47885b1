/**
 * Classifies what the OCI SDK (oci-common's retrier, our signing HTTP client, the
 * authentication providers) throws into KeyUnavailableError kinds. OCI errors carry an HTTP
 * status, a service code and a message ({"code","message"} bodies, see
 * https://docs.oracle.com/iaas/Content/API/References/apierrors.htm):
 *
 *   unreachable  our per-attempt timeout (code ETIMEDOUT), connection refused / reset / DNS,
 *                any 5xx (InternalServerError, ServiceUnavailable, …), 429 TooManyRequests, and
 *                409 IncorrectState naming a transient key state (ENABLING, UPDATING, RESTORING,
 *                BACKUP_IN_PROGRESS, CREATING, CANCELLING_DELETION): "key temporarily unavailable".
 *   denied       401 NotAuthenticated (signature, user, fingerprint or clock rejected) and
 *                credentials the SDK could not load (OCI config file, API key, instance or
 *                resource principal) → reason "credentials"; 403 NotAuthorized → access_denied;
 *                404 NotAuthorizedOrNotFound and 400 RelatedResourceNotAuthorizedOrNotFound —
 *                OCI answers these both for a missing key and for a policy that does not allow
 *                the principal to use it → not_found; 409 naming DISABLED / DISABLING → disabled;
 *                PENDING_DELETION / SCHEDULING_DELETION / DELETING / DELETED → pending_deletion;
 *                any other 409 → invalid_state; 400 on decrypt (InvalidParameter: other
 *                associatedData, another key, damaged ciphertext) → invalid_ciphertext; any
 *                other 4xx → refused.
 *
 * Missing or broken credentials fail closed ("denied"), as with aws-kms: the provider makes no
 * call when it is created, and sealing under the fallback key while the operator's credentials
 * are broken would look like an outage that never ends. Anything else without an HTTP status
 * is "unreachable" with reason "connection": no authoritative answer came from OCI.
 */
import { NETWORK_ERROR_CODES } from "../probe.ts";
import type { KeyUnavailableKind, KeyUnavailableReason } from "../types.ts";

/** Classification is the verdict on one failed call. */
export interface Classification {
  kind: KeyUnavailableKind;
  reason: KeyUnavailableReason;
  /** The error as text: "<serviceCode> (HTTP <status>, opc-request-id <id>): <message>", or "<code>: <message>" without a status. */
  providerMessage: string;
}

/** CREDENTIALS_ERROR_CODE marks errors our code raises when the OCI credentials cannot be loaded or used for signing. */
export const CREDENTIALS_ERROR_CODE = "OCI_CREDENTIALS";
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "ERR_SOCKET_CONNECTION_TIMEOUT"]);
const TIMEOUT_NAMES = new Set(["TimeoutError", "AbortError"]);
const TRANSIENT_STATES = /\b(ENABLING|UPDATING|RESTORING|BACKUP_IN_PROGRESS|CREATING|CANCELLING_DELETION)\b/;
const DISABLED_STATES = /\b(DISABLED|DISABLING)\b|\bis disabled\b/i;
const DELETION_STATES = /\b(PENDING_DELETION|SCHEDULING_DELETION|DELETING|DELETED)\b|pending deletion/i;

interface OciErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  serviceCode?: unknown;
  opcRequestId?: unknown;
}

/** classifyOciError decides unreachable vs denied for anything a KmsCryptoClient call threw; `op` is "encrypt" or "decrypt". */
export function classifyOciError(err: unknown, op: "encrypt" | "decrypt" | "getKey"): Classification {
  const e: OciErrorShape = typeof err === "object" && err !== null ? (err as OciErrorShape) : {};
  const status = typeof e.statusCode === "number" && Number.isFinite(e.statusCode) ? e.statusCode : 0;
  const serviceCode = typeof e.serviceCode === "string" ? e.serviceCode : "";
  const code = typeof e.code === "string" ? e.code : "";
  const name = typeof e.name === "string" && e.name !== "" && e.name !== "Error" ? e.name : "";
  const message = typeof e.message === "string" ? e.message.trim() : typeof err === "string" ? err : String(err);
  const requestId = typeof e.opcRequestId === "string" && e.opcRequestId !== "" ? e.opcRequestId : "";
  const providerMessage = status > 0 ? serviceText(serviceCode, status, requestId, message) : plainText(code || name || "Error", message);
  const v = (kind: KeyUnavailableKind, reason: KeyUnavailableReason): Classification => ({ kind, reason, providerMessage });

  if (status <= 0) {
    if (code === CREDENTIALS_ERROR_CODE) return v("denied", "credentials");
    if (TIMEOUT_CODES.has(code) || TIMEOUT_NAMES.has(name)) return v("unreachable", "timeout");
    if (NETWORK_ERROR_CODES.has(code)) return v("unreachable", "connection");
    return v("unreachable", "connection");
  }
  if (status === 429) return v("unreachable", "throttled");
  if (status >= 500) return v("unreachable", "server_error");
  if (status === 401) return v("denied", "credentials");
  if (status === 403) return v("denied", "access_denied");
  if (status === 404) return v("denied", "not_found");
  if (status === 409) {
    if (DELETION_STATES.test(message)) return v("denied", "pending_deletion");
    if (DISABLED_STATES.test(message)) return v("denied", "disabled");
    if (TRANSIENT_STATES.test(message)) return v("unreachable", "key_unavailable");
    return v("denied", "invalid_state");
  }
  if (status === 400 && serviceCode === "RelatedResourceNotAuthorizedOrNotFound") return v("denied", "not_found");
  if (status === 400 && op === "decrypt") return v("denied", "invalid_ciphertext");
  return v("denied", "refused");
}

function serviceText(serviceCode: string, status: number, requestId: string, message: string): string {
  const head = `${serviceCode || "Error"} (HTTP ${status}${requestId !== "" ? `, opc-request-id ${requestId}` : ""})`;
  return message === "" ? head : `${head}: ${message}`;
}

function plainText(label: string, message: string): string {
  if (message === "" || message === label) return label;
  return `${label}: ${message}`;
}

/** REASON_TEXT says each reason in words, for messages. */
export const REASON_TEXT: Record<KeyUnavailableReason, string> = {
  timeout: "the request timed out",
  connection: "the connection to the OCI Vault crypto endpoint failed",
  server_error: "OCI Vault answered with a server error",
  throttled: "OCI Vault is throttling requests (TooManyRequests: the vault's request limit is exceeded)",
  key_unavailable: "the key is in a transient state (enabling, updating, restoring, …) and is temporarily unavailable",
  access_denied: "access was denied by an OCI IAM policy (the principal needs 'use keys' on this key)",
  credentials:
    "no valid OCI credentials: with auth = config_file, check the OCI config file and profile (user, fingerprint, tenancy, key_file) and that the API key is uploaded for the user; with instance_principal or resource_principal, check the dynamic group; OCI also refuses requests from a clock that is more than 5 minutes off",
  disabled: "the key is disabled",
  pending_deletion: "the key is pending deletion or deleted",
  invalid_state: "the key is not in a usable state",
  not_found:
    "OCI answered NotAuthorizedOrNotFound: the key does not exist (deleted, or a wrong OCID or crypto endpoint) or no IAM policy lets this principal use it (OCI does not say which)",
  invalid_ciphertext:
    "OCI Vault refused the ciphertext: it was encrypted with other associated data (the encryption context: account, data class, key version) or under another key, or the stored bytes are damaged",
  incorrect_key: "the ciphertext was encrypted under a different key",
  invalid_key_usage: "the key cannot be used to encrypt and decrypt (it must be an AES key)",
  refused: "OCI Vault refused the request",
};
