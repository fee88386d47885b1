import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";

/** CSP allows only same-origin scripts and styles: no inline script anywhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** securityHeaders sets HSTS, CSP and the other hardening headers on every response. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async function securityHeaders(c, next) {
    await next();
    const h = c.res.headers;
    h.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    h.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "no-referrer");
    h.set("X-Frame-Options", "DENY");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=()");
    if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  };
}
