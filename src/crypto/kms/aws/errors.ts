/**
 * Classifies what the AWS SDK throws into KeyUnavailableError kinds:
 *
 *   unreachable  TimeoutError / ETIMEDOUT, connection refused / reset / DNS / no route, any
 *                5xx (KMSInternalException, DependencyTimeoutException, ServiceUnavailable),
 *                throttling (ThrottlingException, LimitExceededException, …), and
 *                KeyUnavailableException (AWS: "the key is not available, retry").
 *   denied       AccessDeniedException, DisabledException, KMSInvalidStateException (pending
 *                deletion and other unusable states), NotFoundException / InvalidArnException,
 *                InvalidCiphertextException (wrong encryption context or damaged blob),
 *                IncorrectKeyException, InvalidKeyUsageException, credentials that are missing
 *                (CredentialsProviderError) or rejected (UnrecognizedClientException,
 *                InvalidSignatureException, ExpiredTokenException, …), and any other 4xx.
 *
 * Missing credentials are "denied", not a configuration error thrown at start: the provider
 * makes no AWS call when it is created, and at call time "no credentials" must fail closed
 * (sealing under the fallback key while the operator's credentials are broken would look like
 * an outage that never ends). The reason "credentials" tells pages and e-mails what to fix.
 *
 * Anything else without an HTTP status (an unexpected SDK or parsing error) is "unreachable"
 * with reason "connection": no authoritative answer came from KMS.
 */
import { NETWORK_ERROR_CODES } from "../probe.ts";
import type { KeyUnavailableKind, KeyUnavailableReason } from "../types.ts";

/** Classification is the verdict on one failed call. */
export interface Classification {
  kind: KeyUnavailableKind;
  reason: KeyUnavailableReason;
  /** The SDK's error as text: "<name>: <message>" (just the name when KMS sent no message). */
  providerMessage: string;
}

const NETWORK_CODES = NETWORK_ERROR_CODES;
const TIMEOUT_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "AbortError"]);
const THROTTLING_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "LimitExceededException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
]);
const CREDENTIAL_REJECTED_NAMES = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "MissingAuthenticationTokenException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredTokenException",
  "ExpiredToken",
  "AuthFailure",
  "RequestExpired",
]);
const DENIED_NAMES: Record<string, KeyUnavailableReason> = {
  AccessDeniedException: "access_denied",
  InvalidGrantTokenException: "access_denied",
  DisabledException: "disabled",
  KMSInvalidStateException: "invalid_state",
  NotFoundException: "not_found",
  InvalidArnException: "not_found",
  InvalidCiphertextException: "invalid_ciphertext",
  IncorrectKeyException: "incorrect_key",
  InvalidKeyUsageException: "invalid_key_usage",
};

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** classifyAwsKmsError decides unreachable vs denied for anything an SDK call threw. */
export function classifyAwsKmsError(err: unknown): Classification {
  const e: SdkErrorShape = typeof err === "object" && err !== null ? (err as SdkErrorShape) : {};
  const name = typeof e.name === "string" && e.name !== "" ? e.name : "Error";
  const code = typeof e.code === "string" ? e.code : "";
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : 0;
  const providerMessage = providerText(err, name);
  const v = (kind: KeyUnavailableKind, reason: KeyUnavailableReason): Classification => ({ kind, reason, providerMessage });

  if (name === "CredentialsProviderError") return v("denied", "credentials");
  if (TIMEOUT_NAMES.has(name) || code === "ETIMEDOUT" || code === "ESOCKETTIMEDOUT") return v("unreachable", "timeout");
  if (NETWORK_CODES.has(code)) return v("unreachable", "connection");
  if (THROTTLING_NAMES.has(name) || status === 429) return v("unreachable", "throttled");
  if (name === "KeyUnavailableException") return v("unreachable", "key_unavailable");
  if (status >= 500 || e.$fault === "server") return v("unreachable", "server_error");
  if (CREDENTIAL_REJECTED_NAMES.has(name)) return v("denied", "credentials");
  const denied = DENIED_NAMES[name];
  if (denied !== undefined) {
    if (denied === "invalid_state" && /pending (replica )?deletion/i.test(providerMessage)) return v("denied", "pending_deletion");
    return v("denied", denied);
  }
  if (status >= 400 || e.$fault === "client") return v("denied", "refused");
  return v("unreachable", "connection");
}

/** The error text as the SDK gives it; the SDK fills in "UnknownError" when KMS sent no message. */
function providerText(err: unknown, name: string): string {
  const message = err instanceof Error || (typeof err === "object" && err !== null) ? (err as { message?: unknown }).message : String(err);
  const text = typeof message === "string" ? message.trim() : "";
  if (text === "" || text === "UnknownError" || text === name) return name;
  return `${name}: ${text}`;
}

/** REASON_TEXT says each reason in words, for messages. */
export const REASON_TEXT: Record<KeyUnavailableReason, string> = {
  timeout: "the request timed out",
  connection: "the connection to AWS KMS failed",
  server_error: "AWS KMS answered with a server error",
  throttled: "AWS KMS is throttling requests (request quota exceeded)",
  key_unavailable: "AWS KMS says the key is temporarily unavailable",
  access_denied: "access was denied by the key policy, a grant or IAM",
  credentials: "no valid AWS credentials: set them through the AWS SDK's standard chain (environment, shared credentials file, web identity or instance role)",
  disabled: "the key is disabled",
  pending_deletion: "the key is pending deletion",
  invalid_state: "the key is not in a usable state",
  not_found: "the key does not exist (deleted, or a wrong ARN, account or region)",
  invalid_ciphertext: "AWS KMS refused the ciphertext: it was wrapped for another encryption context (account, data class, key version) or the stored bytes are damaged",
  incorrect_key: "the ciphertext was encrypted under a different key",
  invalid_key_usage: "the key cannot be used to encrypt and decrypt (it must be a symmetric ENCRYPT_DECRYPT key)",
  refused: "AWS KMS refused the request",
};
