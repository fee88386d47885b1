import type { CacheItem, CacheProvider } from "@node-saml/node-saml";
import type { Clock } from "../../shared/clock.ts";

/** REQUEST_TTL_MS is how long an AuthnRequest id stays answerable (time to sign in at the IdP). */
export const REQUEST_TTL_MS = 15 * 60_000;

/** MAX_PENDING bounds the number of outstanding requests kept (oldest dropped first). */
const MAX_PENDING = 20_000;

/**
 * SamlRequestCache remembers the ids of AuthnRequests this process sent, so a response's
 * InResponseTo can be checked and used once. It lives in memory: one Conclave process serves
 * an installation, and a restart only means a user in the middle of signing in starts again.
 * Keys are scoped per account, so an IdP of one account cannot answer another's request.
 */
export interface SamlRequestCache {
  /** forAccount returns node-saml's CacheProvider view for one account. */
  forAccount(accountId: string): CacheProvider;
  /** size is the number of outstanding requests (tests). */
  size(): number;
}

/** createSamlRequestCache builds the in-memory request cache. */
export function createSamlRequestCache(clock: Clock, ttlMs = REQUEST_TTL_MS): SamlRequestCache {
  const entries = new Map<string, CacheItem>();
  const live = (item: CacheItem | undefined): item is CacheItem => item !== undefined && clock.now() - item.createdAt < ttlMs;
  const sweep = (): void => {
    for (const [k, v] of entries) {
      if (live(v) && entries.size < MAX_PENDING) break; // insertion order: the rest are younger
      entries.delete(k);
    }
  };
  return {
    forAccount(accountId) {
      const key = (k: string) => `${accountId}\u0000${k}`;
      return {
        async saveAsync(k, value) {
          sweep();
          if (entries.has(key(k))) return null;
          const item = { value, createdAt: clock.now() };
          entries.set(key(k), item);
          return item;
        },
        async getAsync(k) {
          const item = entries.get(key(k));
          return live(item) ? item.value : null;
        },
        async removeAsync(k) {
          if (k === null) return null;
          const item = entries.get(key(k));
          entries.delete(key(k));
          return item?.value ?? null;
        },
      };
    },
    size: () => entries.size,
  };
}
