import type { MiddlewareHandler } from "hono";
import type { Actor } from "../../accounts/actor.ts";
import type { Permission } from "../../accounts/permissions.ts";
import { AppError, forbidden } from "../../shared/errors.ts";
import type { AppContext, AppEnv } from "../context.ts";

/** signedIn refuses requests without a valid session (pages redirect to sign-in). */
export function signedIn(): MiddlewareHandler<AppEnv> {
  return async function signedIn(c, next) {
    if (!c.get("session")) throw new AppError("unauthenticated", "Please sign in.");
    return next();
  };
}

/** allow refuses a signed-in user who lacks any of the listed permissions. */
export function allow(...perms: Permission[]): MiddlewareHandler<AppEnv> {
  return async function allow(c, next) {
    const s = c.get("session");
    if (!s) throw new AppError("unauthenticated", "Please sign in.");
    for (const p of perms) if (!s.actor.permissions.has(p)) throw forbidden();
    return next();
  };
}

/** actorOf returns the signed-in actor (after `signedIn`/`allow`). */
export function actorOf(c: AppContext): Actor {
  const s = c.get("session");
  if (!s) throw new AppError("unauthenticated", "Please sign in.");
  return s.actor;
}
