import type { AuditLog } from "../audit/audit-log.ts";
import { ROTATE_AT } from "../crypto/aead/counter.ts";
import type { KeyProvider } from "../crypto/kms/types.ts";
import { activeDataKeyInSlot, cmkMarkedIds, type DekSlotName } from "../storage/cmk-repo.ts";
import { AppError } from "../shared/errors.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/logger.ts";
import type { Db } from "../storage/db.ts";
import {
  dataKeyById, destroyAccountKeys, insertDataKey, latestVersion, listDataKeys, reserveInvocations, retireDataKey, setWrapped,
} from "../storage/data-keys-repo.ts";

/** DATA_CLASSES are the kinds of content that get their own DEK per account. */
export const DATA_CLASSES = ["user_pii", "totp", "saml", "audit", "chat", "meeting_metadata", "recordings"] as const;
/** DataClass is one data class; "blind_index" is the server-wide lookup key. */
export type DataClass = (typeof DATA_CLASSES)[number] | "blind_index";

/** SERVER_SCOPE owns server-wide keys (the blind-index key). */
export const SERVER_SCOPE = "server";

/** Dek is plaintext key material held only in memory; use it synchronously (eviction zeroes it). */
export interface Dek {
  id: Uint8Array;
  idHex: string;
  version: number;
  key: Uint8Array;
}

/** KeyServiceOptions tune caching and rotation. */
export interface KeyServiceOptions {
  /** Plaintext DEKs stay cached this long, then are wiped. */
  cacheTtlMs: number;
  /** GCM invocations are reserved from the database in blocks of this size. */
  reserveBlock: number;
  /** A DEK is retired once its reserved invocations reach this count (below 2^32). */
  rotateAt: number;
}

/** DEFAULT_KEY_OPTIONS: 5 min cache, blocks of 4096, rotate at 2^31 (half the NIST limit for random nonces). */
export const DEFAULT_KEY_OPTIONS: KeyServiceOptions = { cacheTtlMs: 5 * 60_000, reserveBlock: 4096, rotateAt: ROTATE_AT };

/** DekSlot says what wraps a DEK: the server key, the account's CMK, or the server key standing in for an unreachable CMK. */
export type DekSlot = DekSlotName;

/** KeySubject says whose content a key is needed for and why (routing by CMK licence, the usage report). */
export interface KeySubject {
  /** The user the content belongs to; absent for account-wide content (audit details, SAML log, …). */
  userId?: string | null;
  /** Why, e.g. "users.email" or "chat_messages.body". */
  purpose?: string;
  /** "server": always a server-key DEK (data needed while a customer key is unavailable, e.g. its notification recipients). */
  keyScope?: "server";
}

/** KekRoute names the key-encryption key for a DEK: its slot, the CMK row (slot cmk) and the wrapped_by label. */
export interface KekRoute {
  slot: DekSlot;
  cmkKeyId: string | null;
  label: string;
}

/** KeyUseEvent is one wrap or unwrap of a DEK, for the key usage report. */
export interface KeyUseEvent {
  accountId: string;
  dataClass: string;
  op: "wrap" | "unwrap";
  slot: DekSlot;
  provider: string;
  dekId: string;
  purpose: string;
  userId: string | null;
  error: unknown;
}

/**
 * DekRouter decides which key-encryption key wraps an account's DEKs (customer-managed keys):
 * the key service asks it for every new DEK and every unwrap, and tells it what happened.
 */
export interface DekRouter {
  /** route picks the KEK for new content of (account, class); throws AppError when none may be used. Synchronous (pinned classes). */
  route(accountId: string, dataClass: DataClass, subject: KeySubject): KekRoute;
  /** routeOf says which KEK wrapped a stored DEK. */
  routeOf(row: { id: string; accountId: string; dataClass: string; wrappedBy: string }): KekRoute;
  /** provider opens (or returns the open) provider of a CMK route; throws KeyUnavailableError when it cannot. */
  provider(accountId: string, route: KekRoute): Promise<KeyProvider>;
  /** failed is told of a failed CMK call; for a seal it returns the route to use instead (fallback) or throws the error to show. */
  failed(accountId: string, dataClass: string, route: KekRoute, err: unknown, forSeal: boolean): KekRoute;
  /** succeeded is told of a successful CMK call (a key observed working again). */
  succeeded(accountId: string, route: KekRoute): void;
  /** created marks a new DEK's slot; called inside the transaction that stores it. */
  created(dekId: string, accountId: string, dataClass: string, route: KekRoute): void;
  /** used records one wrap or unwrap (usage report). */
  used(e: KeyUseEvent): void;
}

/** KeyService hands out DEKs: creates, unwraps (cached), counts invocations, rotates, rewraps, shreds. */
export interface KeyService {
  /** sealingKey returns the DEK to seal new content with, and counts one invocation. */
  sealingKey(accountId: string, dataClass: DataClass, subject?: KeySubject): Promise<Dek>;
  /** openingKey returns the DEK with this id (any status but destroyed). */
  openingKey(idHex: string, subject?: KeySubject): Promise<Dek>;
  /** attachRouter installs the customer-managed-key router (once, at assembly). */
  attachRouter(router: DekRouter): void;
  /** forget wipes these DEKs from memory (a customer key was denied). */
  forget(ids: Iterable<string>): void;
  /** serverProvider is the server KEK's provider and its wrapped_by label (CMK jobs rewrap to and from it). */
  serverKek(): { provider: KeyProvider; label: string };
  /** rotate retires the active DEK of a class; the next write creates a new version. */
  rotate(accountId: string, dataClass: DataClass): Promise<void>;
  /** rewrapAll re-wraps every DEK not yet wrapped by the current provider; `previous` unwraps those wrapped by another one. */
  rewrapAll(onProgress?: (done: number, total: number) => void, previous?: KeyProvider | null): Promise<number>;
  /** shred destroys every DEK of an account: its content becomes unreadable. */
  shred(accountId: string): number;
  /** wipeCache forgets every cached plaintext DEK (zeroing the bytes). */
  wipeCache(): void;
  /** status summarises the keys for the CLI and pages. */
  status(): { provider: string; keyId: string; hsmGrade: boolean; keys: number; byStatus: Record<string, number> };
  /** invocations reports a DEK's reserved invocation count (tests, status). */
  invocations(idHex: string): number;
  /** accountKeys lists an account's data keys for the admin pages (never key material). */
  accountKeys(accountId: string): DataKeyInfo[];
  /**
   * warm unwraps (creating if needed) an account's keys of a pinned class and keeps them in
   * memory, so `sealingKeySync`/`openingKeySync` can serve writers that run inside a
   * synchronous transaction (the operation log).
   */
  warm(accountId: string, dataClass: DataClass): Promise<void>;
  /** sealingKeySync returns the active DEK when it is in memory, else null (the caller fails closed). */
  sealingKeySync(accountId: string, dataClass: DataClass): Dek | null;
  /** openingKeySync returns a DEK by id when it is in memory, else null. */
  openingKeySync(idHex: string): Dek | null;
}

/** DataKeyInfo is what the pages show about one data key. */
export interface DataKeyInfo {
  id: string;
  dataClass: string;
  version: number;
  status: string;
  wrappedBy: string;
  invocations: number;
  createdAt: number;
  retiredAt: number | null;
}

/** PINNED_CLASSES stay in memory once unwrapped (until wipeCache): the operation log seals inside transactions. */
export const PINNED_CLASSES: ReadonlySet<string> = new Set(["audit"]);

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** dekContext is the wrap context (bound as AAD by every provider) of a DEK. */
export function dekContext(accountId: string, dataClass: string, idHex: string, version: number): Record<string, string> {
  return context(accountId, dataClass, idHex, version);
}

function context(accountId: string, dataClass: string, idHex: string, version: number): Record<string, string> {
  return { account: accountId, dataClass, dek: idHex, version: String(version) };
}

/** createKeyService builds the DEK service over a key provider. */
export function createKeyService(db: Db, provider: KeyProvider, clock: Clock, audit: AuditLog, log: Logger, opts: KeyServiceOptions = DEFAULT_KEY_OPTIONS): KeyService {
  const cache = new Map<string, { dek: Dek; expires: number }>();
  /** Invocations left in the block reserved for each active DEK. */
  const budget = new Map<string, number>();
  const creating = new Map<string, Promise<Dek>>();
  const wrappedBy = (): string => `${provider.name}:${provider.describe().keyId}`;
  let router: DekRouter | null = null;
  const serverRoute = (): KekRoute => ({ slot: "server", cmkKeyId: null, label: wrappedBy() });
  const routeFor = (accountId: string, dataClass: DataClass, subject: KeySubject): KekRoute =>
    router && accountId !== SERVER_SCOPE ? router.route(accountId, dataClass, subject) : serverRoute();
  const routeOfRow = (row: { id: string; accountId: string; dataClass: string; wrappedBy: string }): KekRoute =>
    router && row.accountId !== SERVER_SCOPE ? router.routeOf(row) : serverRoute();
  const providerOf = async (accountId: string, route: KekRoute): Promise<KeyProvider> => (route.slot === "cmk" && router ? router.provider(accountId, route) : provider);

  const remember = (dek: Dek, dataClass: string): Dek => {
    cache.set(dek.idHex, { dek, expires: PINNED_CLASSES.has(dataClass) ? Number.POSITIVE_INFINITY : clock.now() + opts.cacheTtlMs });
    return dek;
  };
  const evict = (idHex: string): void => {
    const e = cache.get(idHex);
    if (e) e.dek.key.fill(0);
    cache.delete(idHex);
  };
  const cached = (idHex: string): Dek | null => {
    const e = cache.get(idHex);
    if (!e) return null;
    if (e.expires <= clock.now()) {
      evict(idHex);
      return null;
    }
    return e.dek;
  };
  const used = (accountId: string, dataClass: string, op: "wrap" | "unwrap", route: KekRoute, dekId: string, subject: KeySubject, error: unknown): void =>
    router?.used({ accountId, dataClass, op, slot: route.slot, provider: route.label, dekId, purpose: subject.purpose ?? "", userId: subject.userId ?? null, error });

  /** unwrapRow unwraps a stored DEK with the KEK that wrapped it; failures are recorded and rethrown as they are. */
  async function unwrapRow(row: { id: string; accountId: string; dataClass: string; version: number; wrapped: string; wrappedBy: string; status: string }, subject: KeySubject): Promise<Dek> {
    if (row.status === "destroyed") throw new AppError("unavailable", "This content's key was destroyed (crypto-shredded); it cannot be read.");
    const route = routeOfRow(row);
    let key: Uint8Array;
    try {
      key = await (await providerOf(row.accountId, route)).unwrap(Buffer.from(row.wrapped, "base64"), context(row.accountId, row.dataClass, row.id, row.version));
    } catch (err) {
      used(row.accountId, row.dataClass, "unwrap", route, row.id, subject, err);
      throw err;
    }
    used(row.accountId, row.dataClass, "unwrap", route, row.id, subject, null);
    if (route.slot === "cmk") router?.succeeded(row.accountId, route);
    return remember({ id: Buffer.from(row.id, "hex"), idHex: row.id, version: row.version, key }, row.dataClass);
  }

  async function create(accountId: string, dataClass: DataClass, route: KekRoute, subject: KeySubject): Promise<Dek> {
    const id = crypto.getRandomValues(new Uint8Array(16));
    const idHex = hex(id);
    const key = crypto.getRandomValues(new Uint8Array(32));
    const version = latestVersion(db, accountId, dataClass) + 1;
    let wrapped: Uint8Array;
    try {
      wrapped = await (await providerOf(accountId, route)).wrap(key, context(accountId, dataClass, idHex, version));
    } catch (err) {
      used(accountId, dataClass, "wrap", route, idHex, subject, err);
      key.fill(0);
      throw err;
    }
    if (route.slot === "cmk") router?.succeeded(accountId, route);
    // The key and its audit entry are written together: a crash leaves both or neither.
    db.$client.transaction(() => {
      insertDataKey(db, {
        id: idHex, accountId, dataClass, version, wrapped: Buffer.from(wrapped).toString("base64"), wrappedBy: route.label,
        status: "active", invocations: 0, createdAt: clock.now(), retiredAt: null,
      });
      if (route.slot !== "server") router?.created(idHex, accountId, dataClass, route);
      // Account keys are audited in the account's log; the server-wide index key is created once, at first start.
      if (accountId !== SERVER_SCOPE) audit.record({ accountId, userId: null, label: "key service" }, { action: "key.dek_created", targetType: "data_key", targetId: idHex, detail: { dataClass, version, wrappedBy: route.label, slot: route.slot } });
    }).immediate();
    used(accountId, dataClass, "wrap", route, idHex, subject, null);
    if (accountId === SERVER_SCOPE) log.info("created the server blind-index key", { wrappedBy: wrappedBy() });
    const dek = remember({ id, idHex, version, key: new Uint8Array(key) }, dataClass);
    key.fill(0);
    return dek;
  }

  async function activeIn(accountId: string, dataClass: DataClass, route: KekRoute, subject: KeySubject): Promise<Dek> {
    const row = activeDataKeyInSlot(db, accountId, dataClass, route.slot, route.cmkKeyId);
    if (row) return cached(row.id) ?? (await unwrapRow(row, subject));
    // One creation at a time per (account, class, slot), so two concurrent first writes share a DEK.
    const k = `${accountId}\0${dataClass}\0${route.slot}\0${route.cmkKeyId ?? ""}`;
    let p = creating.get(k);
    if (!p) {
      p = create(accountId, dataClass, route, subject).finally(() => creating.delete(k));
      creating.set(k, p);
    }
    return p;
  }

  async function active(accountId: string, dataClass: DataClass, subject: KeySubject = {}): Promise<Dek> {
    const route = routeFor(accountId, dataClass, subject);
    try {
      return await activeIn(accountId, dataClass, route, subject);
    } catch (err) {
      if (route.slot !== "cmk" || !router) throw err;
      // The customer key failed: the router records the status and says whether a fallback applies (else it throws).
      return activeIn(accountId, dataClass, router.failed(accountId, dataClass, route, err, true), subject);
    }
  }

  /** take counts one invocation against a DEK's reserved block; false when the block cannot be renewed without rotating. */
  const take = (dek: Dek): boolean => {
    let left = budget.get(dek.idHex) ?? 0;
    if (left <= 0) {
      if (reserveInvocations(db, dek.idHex, opts.reserveBlock) >= opts.rotateAt) return false;
      left = opts.reserveBlock;
    }
    budget.set(dek.idHex, left - 1);
    return true;
  };

  const service: KeyService = {
    attachRouter(r) {
      router = r;
    },
    forget(ids) {
      for (const id of ids) evict(id);
    },
    serverKek() {
      return { provider, label: wrappedBy() };
    },
    async warm(accountId, dataClass) {
      await active(accountId, dataClass);
      let cmkDown = false; // after one failure, the account's other CMK keys are not tried (each could wait for timeouts)
      for (const row of listDataKeys(db, accountId)) {
        if (row.dataClass !== dataClass || row.status === "destroyed" || cached(row.id)) continue;
        const route = routeOfRow(row);
        if (cmkDown && route.slot === "cmk") continue;
        try {
          await unwrapRow(row, { purpose: "warm" });
        } catch (err) {
          // Content under an unavailable customer key stays unreadable until it returns; the rest of the log works.
          if (route.slot !== "cmk" || !router) throw err;
          cmkDown = true;
          try {
            router.failed(accountId, dataClass, route, err, false);
          } catch {
            /* recorded */
          }
        }
      }
    },
    sealingKeySync(accountId, dataClass) {
      const route = routeFor(accountId, dataClass, {});
      const row = activeDataKeyInSlot(db, accountId, dataClass, route.slot, route.cmkKeyId);
      const dek = row ? cached(row.id) : null;
      return dek && take(dek) ? dek : null;
    },
    openingKeySync(idHex) {
      return cached(idHex);
    },
    async sealingKey(accountId, dataClass, subject = {}) {
      let dek = await active(accountId, dataClass, subject);
      let left = budget.get(dek.idHex) ?? 0;
      if (left <= 0) {
        const total = reserveInvocations(db, dek.idHex, opts.reserveBlock);
        if (total >= opts.rotateAt) {
          log.info("data key reached its invocation limit; rotating", { dataClass, version: dek.version });
          await service.rotate(accountId, dataClass);
          dek = await active(accountId, dataClass, subject);
          reserveInvocations(db, dek.idHex, opts.reserveBlock);
        }
        left = opts.reserveBlock;
      }
      budget.set(dek.idHex, left - 1);
      return dek;
    },
    async openingKey(idHex, subject = {}) {
      const hit = cached(idHex);
      if (hit) return hit;
      const row = dataKeyById(db, idHex);
      if (!row) throw new AppError("unavailable", "The key for this content is unknown to this server.");
      try {
        return await unwrapRow(row, subject);
      } catch (err) {
        const route = routeOfRow(row);
        if (route.slot !== "cmk" || !router) throw err;
        router.failed(row.accountId, row.dataClass, route, err, false);
        throw err;
      }
    },
    async rotate(accountId, dataClass) {
      const rows = listDataKeys(db, accountId).filter((r) => r.dataClass === dataClass && r.status === "active");
      if (!rows.length) return;
      db.$client.transaction(() => {
        for (const row of rows) {
          retireDataKey(db, row.id, clock.now());
          audit.record({ accountId: accountId === SERVER_SCOPE ? null : accountId, userId: null, label: "key service" }, { action: "key.dek_rotated", targetType: "data_key", targetId: row.id, detail: { dataClass, version: row.version } });
        }
      }).immediate();
      for (const row of rows) budget.delete(row.id);
    },
    async rewrapAll(onProgress, previous) {
      // DEKs wrapped by a customer-managed key stay with it (rotated on the CMK pages).
      const byCmk = cmkMarkedIds(db);
      const rows = listDataKeys(db).filter((r) => r.status !== "destroyed" && r.wrappedBy !== wrappedBy() && !byCmk.has(r.id));
      let done = 0;
      for (const row of rows) {
        const byPrevious = previous && row.wrappedBy.startsWith(`${previous.name}:`);
        const dek = byPrevious
          ? { key: await previous.unwrap(Buffer.from(row.wrapped, "base64"), context(row.accountId, row.dataClass, row.id, row.version)) }
          : await service.openingKey(row.id, { purpose: "rewrap" });
        const wrapped = await provider.wrap(dek.key, context(row.accountId, row.dataClass, row.id, row.version));
        // Each key is re-wrapped and audited in one transaction: a crash leaves it wholly old or wholly new.
        db.$client.transaction(() => {
          setWrapped(db, row.id, Buffer.from(wrapped).toString("base64"), wrappedBy());
          audit.record(
            { accountId: row.accountId === SERVER_SCOPE ? null : row.accountId, userId: null, label: "key service" },
            { action: "key.rewrap", targetType: "data_key", targetId: row.id, detail: { dataClass: row.dataClass, version: row.version, from: row.wrappedBy, to: wrappedBy() } },
          );
        }).immediate();
        if (byPrevious) dek.key.fill(0);
        done++; // not inside the optional call below: `f?.(++x)` skips the increment when f is undefined
        onProgress?.(done, rows.length);
      }
      return done;
    },
    shred(accountId) {
      for (const row of listDataKeys(db, accountId)) evict(row.id);
      const n = destroyAccountKeys(db, accountId, clock.now());
      audit.record({ accountId, userId: null, label: "key service" }, { action: "key.account_shredded", targetType: "account", targetId: accountId, detail: { keys: n } });
      return n;
    },
    wipeCache() {
      for (const id of [...cache.keys()]) evict(id);
    },
    status() {
      const rows = listDataKeys(db);
      const byStatus: Record<string, number> = {};
      for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      const d = provider.describe();
      return { provider: d.provider, keyId: d.keyId, hsmGrade: d.hsmGrade, keys: rows.length, byStatus };
    },
    accountKeys(accountId) {
      return listDataKeys(db, accountId)
        .map(({ wrapped: _w, accountId: _a, ...info }) => info)
        .sort((a, b) => a.dataClass.localeCompare(b.dataClass) || b.version - a.version);
    },
    invocations(idHex) {
      return dataKeyById(db, idHex)?.invocations ?? 0;
    },
  };
  return service;
}
