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
const SAML_ACS = /^\/saml\/[^/]+\/acs$/;

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
  // Forms are small. SAML responses are the largest legitimate bodies: their route sets its own limit.
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new AppError("too_large", `The request is larger than ${MAX_BODY_BYTES / 1024} KB. Shorten what you entered.`);
    },
  });
  app.use(async function limitBody(c, next) {
    if (SAML_ACS.test(new URL(c.req.url).pathname)) return next();
    return limit(c, next);
  });
  app.use(session(deps.sessions));
  app.use(csrf());
  return app;
}
