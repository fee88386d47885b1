import type { MiddlewareHandler } from "hono";
import { AppError } from "../../shared/errors.ts";
import { constantTimeEqual } from "../../shared/ids.ts";
import type { AppEnv } from "../context.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** sameOrigin compares the Origin (or Referer) header's host with the Host header. */
function sameOrigin(originOrReferer: string | undefined, host: string | undefined): boolean {
  if (!originOrReferer || !host || originOrReferer === "null") return false;
  try {
    return new URL(originOrReferer).host === host;
  } catch {
    return false;
  }
}

/**
 * csrf refuses state-changing requests unless they come from our own origin (Origin, else
 * Referer) and carry the page's token (form field `_csrf` or header `X-CSRF-Token`, which
 * htmx sends through `hx-headers`). SameSite=Lax cookies are the third layer.
 */
export function csrf(): MiddlewareHandler<AppEnv> {
  return async function csrf(c, next) {
    if (SAFE.has(c.req.method)) return next();
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!sameOrigin(c.req.header("origin") ?? c.req.header("referer"), host))
      throw new AppError("csrf", "This request did not come from a Conclave page (cross-site request refused). Reload the page and try again.");
    let token = c.req.header("x-csrf-token");
    if (!token) {
      const type = c.req.header("content-type") ?? "";
      if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")) {
        const body = await c.req.parseBody();
        token = typeof body._csrf === "string" ? body._csrf : undefined;
      }
    }
    if (!token || !constantTimeEqual(token, c.get("csrfToken")))
      throw new AppError("csrf", "Your form expired or was sent from another page. Reload the page and try again.");
    return next();
  };
}
