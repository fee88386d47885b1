import { endSession } from "../auth/sessions.ts";
import type { AppContext } from "../http/context.ts";
import { clearCookie, LINK_COOKIE, readCookie, SESSION_COOKIE, writeCookie } from "../http/cookies.ts";
import type { AdminDeps } from "./deps.ts";

/** startSession sets a new session cookie, ending any session the browser already had (no fixation). */
export function startSession(c: AppContext, cookie: string, expiresAt: number, deps: AdminDeps): void {
  const old = readCookie(c, SESSION_COOKIE);
  if (old) endSession(deps.auth, old);
  writeCookie(c, SESSION_COOKIE, cookie, Math.max(60, Math.floor((expiresAt - deps.auth.clock.now()) / 1000)));
  clearCookie(c, LINK_COOKIE);
}
