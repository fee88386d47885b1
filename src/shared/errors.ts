/** Stable error codes, mapped to HTTP status and pages in one place (http/errors.ts). */
export type ErrorCode =
  | "not_found"
  | "forbidden"
  | "unauthenticated"
  | "invalid_input"
  | "conflict"
  | "csrf"
  | "rate_limited"
  | "too_large"
  | "unavailable"
  | "internal";

/** AppError is an expected failure with a stable code and a message safe to show a user. */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** Per-field messages for form re-rendering (field name → message). */
  readonly fields: Record<string, string>;

  constructor(code: ErrorCode, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.fields = fields;
  }
}

/** notFound builds the error used for missing and foreign (other-account) objects alike. */
export function notFound(what = "Not found"): AppError {
  return new AppError("not_found", what);
}

/** invalid builds a validation error carrying per-field messages. */
export function invalid(fields: Record<string, string>, message = "Please correct the highlighted fields."): AppError {
  return new AppError("invalid_input", message, fields);
}

/** forbidden builds the error for a signed-in user lacking a permission in their own account. */
export function forbidden(message = "You do not have permission to do that."): AppError {
  return new AppError("forbidden", message);
}
