import { Hono } from "hono";
import type { SessionDeps } from "../auth/sessions.ts";
import type { Logger } from "../shared/logger.ts";
import type { AppEnv } from "./context.ts";
import { onError, onNotFound } from "./errors.tsx";
import { csrf } from "./middleware/csrf.ts";
import { requestLog } from "./middleware/request-log.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { session } from "./middleware/session.ts";
import { staticRoutes } from "./static.ts";

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
  app.use(session(deps.sessions));
  app.use(csrf());
  return app;
}
