import type { Context } from "hono";
import type { ActiveSession } from "../auth/sessions.ts";
import type { Logger } from "../shared/logger.ts";

/** AppEnv types Hono's context variables and bindings for every route. */
export type AppEnv = {
  Bindings: { requestIP?: (req: Request) => { address: string } | null };
  Variables: {
    requestId: string;
    log: Logger;
    session: ActiveSession | null;
    /** Token the page embeds in forms and in hx-headers. */
    csrfToken: string;
  };
};

/** AppContext is a route handler's context. */
export type AppContext = Context<AppEnv>;

/** clientIp returns the peer address Bun saw, or "" in in-process tests. */
export function clientIp(c: AppContext): string {
  try {
    return c.env?.requestIP?.(c.req.raw)?.address ?? "";
  } catch {
    return "";
  }
}

/** requestMeta collects the address and user agent for sessions and the audit log. */
export function requestMeta(c: AppContext): { ip: string; userAgent: string } {
  return { ip: clientIp(c), userAgent: (c.req.header("user-agent") ?? "").slice(0, 300) };
}
