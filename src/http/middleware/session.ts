import type { MiddlewareHandler } from "hono";
import { loadSession, type SessionDeps } from "../../auth/sessions.ts";
import { randomToken } from "../../shared/ids.ts";
import type { AppEnv } from "../context.ts";
import { requestMeta } from "../context.ts";
import { clearCookie, PRE_COOKIE, readCookie, SESSION_COOKIE, writeCookie } from "../cookies.ts";

/** session loads the signed-in user (if any) and picks the CSRF token for this request. */
export function session(deps: SessionDeps): MiddlewareHandler<AppEnv> {
  return async function session(c, next) {
    const cookie = readCookie(c, SESSION_COOKIE);
    const s = cookie ? await loadSession(deps, cookie, requestMeta(c)) : null;
    if (cookie && !s) clearCookie(c, SESSION_COOKIE);
    c.set("session", s);
    if (s) c.set("csrfToken", s.csrfToken);
    else {
      let pre = readCookie(c, PRE_COOKIE);
      if (!pre || !/^[A-Za-z0-9_-]{32}$/.test(pre)) {
        pre = randomToken(24);
        writeCookie(c, PRE_COOKIE, pre);
      }
      c.set("csrfToken", pre);
    }
    await next();
  };
}
