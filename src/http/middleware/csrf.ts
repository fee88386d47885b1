import type { MiddlewareHandler } from "hono";
import { AppError } from "../../shared/errors.ts";
import { constantTimeEqual } from "../../shared/ids.ts";
import type { AppEnv } from "../context.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The SAML Assertion Consumer Service receives a cross-site POST from the identity provider,
 * with no token of ours. It is exempt; the signed assertion (audience, recipient, InResponseTo,
 * replay cache) protects it. SameSite=Lax means no session cookie arrives on that POST.
 */
const CSRF_EXEMPT = /^\/saml\/[^/]+\/acs$/;

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
    if (SAFE.has(c.req.method) || CSRF_EXEMPT.test(c.req.path)) return next();
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    // Referrer-Policy: no-referrer makes browsers send `Origin: null` (and no Referer) on same-origin form posts; Fetch Metadata (which pages cannot forge) still says same-origin.
    if (c.req.header("sec-fetch-site") !== "same-origin" && !sameOrigin(c.req.header("origin") ?? c.req.header("referer"), host))
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
