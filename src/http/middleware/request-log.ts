import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../shared/logger.ts";
import { randomToken } from "../../shared/ids.ts";
import type { AppEnv } from "../context.ts";

/** requestLog gives each request an id (X-Request-Id) and logs one line per request, path only (no query: it may hold a token). */
export function requestLog(log: Logger): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const requestId = randomToken(9);
    const started = performance.now();
    c.set("requestId", requestId);
    c.set("log", log.child({ requestId }));
    await next();
    c.res.headers.set("X-Request-Id", requestId);
    const path = new URL(c.req.url).pathname;
    if (path === "/healthz" || path.startsWith("/static/")) return;
    log.info("request", { requestId, method: c.req.method, path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 });
  };
}
