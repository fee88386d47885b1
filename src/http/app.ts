import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { AppError } from "../shared/errors.ts";
import type { SessionDeps } from "../auth/sessions.ts";
import type { Logger } from "../shared/logger.ts";
import type { AppEnv } from "./context.ts";
import { onError, onNotFound } from "./errors.tsx";
import { csrf } from "./middleware/csrf.ts";
import { requestLog } from "./middleware/request-log.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { session } from "./middleware/session.ts";
import { staticRoutes } from "./static.ts";

/** MAX_BODY_BYTES caps every request body (the SAML ACS route has its own, larger, limit). */
export const MAX_BODY_BYTES = 64 * 1024;
/** MAX_LARGE_BODY_BYTES caps the routes with their own, tighter checks (metadata ≤ 1 MB). */
export const MAX_LARGE_BODY_BYTES = 2 * 1024 * 1024;
/** The SAML ACS limits its body itself (and logs the refusal); IdP metadata uploads get the larger limit. */
const OWN_LIMIT = /^\/saml\/[^/]+\/acs$/;
const LARGE_LIMIT = /^\/admin\/sso$/;

/** Readiness is one dependency's state for /readyz. */
export interface Readiness {
  ok: boolean;
  detail: string;
}

/** HttpDeps is what the base app needs. */
export interface HttpDeps {
  log: Logger;
  sessions: SessionDeps;
  version: string;
  /** readiness checks, by name (database, key provider...). */
  ready(): Promise<Record<string, Readiness>>;
}

/** createHttpApp builds the Hono app with middleware, health endpoints and static assets; areas are mounted by the caller. */
export function createHttpApp(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(onNotFound);
  app.use(requestLog(deps.log));
  app.use(securityHeaders());
  app.get("/healthz", (c) => c.json({ status: "ok", version: deps.version }));
  app.get("/readyz", async (c) => {
    const checks = await deps.ready();
    const ok = Object.values(checks).every((r) => r.ok);
    return c.json({ status: ok ? "ready" : "not ready", checks }, ok ? 200 : 503);
  });
  app.route("/static", staticRoutes());
  // Forms are small. SAML responses and IdP metadata are the largest legitimate bodies: their routes set their own limits.
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new AppError("too_large", `The request is larger than ${MAX_BODY_BYTES / 1024} KB. Shorten what you entered.`);
    },
  });
  const largeLimit = bodyLimit({
    maxSize: MAX_LARGE_BODY_BYTES,
    onError: () => {
      throw new AppError("too_large", `The request is larger than ${MAX_LARGE_BODY_BYTES / 1024 / 1024} MB.`);
    },
  });
  // Body limits and the CSRF check concern only state-changing methods: GETs skip both steps.
  const unsafe = ["POST", "PUT", "PATCH", "DELETE"];
  app.on(unsafe, "*", async function limitBody(c, next) {
    const path = new URL(c.req.url).pathname;
    if (OWN_LIMIT.test(path)) return next();
    return LARGE_LIMIT.test(path) ? largeLimit(c, next) : limit(c, next);
  });
  app.use(session(deps.sessions));
  app.on(unsafe, "*", csrf());
  return app;
}
