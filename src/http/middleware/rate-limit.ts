import type { MiddlewareHandler } from "hono";
import type { Clock } from "../../shared/clock.ts";
import { AppError } from "../../shared/errors.ts";
import type { AppEnv } from "../context.ts";
import { clientIp } from "../context.ts";

/** RateLimiter counts hits per key in fixed windows (in memory; one process). */
export interface RateLimiter {
  /** hit records one attempt and returns false when the key is over its budget. */
  hit(key: string): boolean;
}

/** createRateLimiter allows `max` hits per key per `windowMs`. */
export function createRateLimiter(max: number, windowMs: number, clock: Clock): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    hit(key) {
      const now = clock.now();
      if (windows.size > 10_000) for (const [k, w] of windows) if (now - w.start >= windowMs) windows.delete(k);
      const w = windows.get(key);
      if (!w || now - w.start >= windowMs) {
        windows.set(key, { start: now, count: 1 });
        return true;
      }
      w.count++;
      return w.count <= max;
    },
  };
}

/** rateLimitPosts limits state-changing requests per client address on a route. */
export function rateLimitPosts(limiter: RateLimiter, name: string): MiddlewareHandler<AppEnv> {
  return async function rateLimitPosts(c, next) {
    if (c.req.method === "POST" && !limiter.hit(`${name}:${clientIp(c) || "local"}`))
      throw new AppError("rate_limited", "Too many attempts from your address. Wait a minute and try again.");
    return next();
  };
}
