import type { AppContext } from "./context.ts";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";

/** SESSION_COOKIE holds "<session id>.<secret>"; the __Host- prefix pins it to this origin over HTTPS. */
export const SESSION_COOKIE = "__Host-conclave_session";
/** PRE_SESSION_COOKIE carries the CSRF token for forms shown before sign-in, and one-time link tokens. */
export const PRE_COOKIE = "__Host-conclave_pre";
/** LINK_COOKIE keeps a one-time link's token after the URL is cleaned of it. */
export const LINK_COOKIE = "__Host-conclave_link";

/** MFA_COOKIE carries the pending second-factor step (five minutes) between the password and the code. */
export const MFA_COOKIE = "__Host-conclave_mfa";

const base = { path: "/", secure: true, httpOnly: true, sameSite: "Lax" } as const;

/** readCookie returns a cookie's value. */
export function readCookie(c: AppContext, name: string): string | undefined {
  return getCookie(c, name);
}

/** writeCookie sets a Secure, HttpOnly, SameSite=Lax cookie (session cookie unless maxAge). */
export function writeCookie(c: AppContext, name: string, value: string, maxAgeSeconds?: number): void {
  setCookie(c, name, value, maxAgeSeconds ? { ...base, maxAge: maxAgeSeconds } : base);
}

/** clearCookie removes a cookie. */
export function clearCookie(c: AppContext, name: string): void {
  deleteCookie(c, name, { path: "/", secure: true });
}
