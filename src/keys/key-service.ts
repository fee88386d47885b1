import type { AuditLog } from "../audit/audit-log.ts";
import { ROTATE_AT } from "../crypto/aead/counter.ts";
import type { KeyProvider } from "../crypto/kms/types.ts";
import { AppError } from "../shared/errors.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/logger.ts";
import type { Db } from "../storage/db.ts";
import {
  activeDataKey, dataKeyById, destroyAccountKeys, insertDataKey, latestVersion, listDataKeys, reserveInvocations, retireDataKey, setWrapped,
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

/** KeyService hands out DEKs: creates, unwraps (cached), counts invocations, rotates, rewraps, shreds. */
export interface KeyService {
  /** sealingKey returns the DEK to seal new content with, and counts one invocation. */
  sealingKey(accountId: string, dataClass: DataClass): Promise<Dek>;
  /** openingKey returns the DEK with this id (any status but destroyed). */
  openingKey(idHex: string): Promise<Dek>;
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

  async function unwrapRow(row: { id: string; accountId: string; dataClass: string; version: number; wrapped: string; status: string }): Promise<Dek> {
    if (row.status === "destroyed") throw new AppError("unavailable", "This content's key was destroyed (crypto-shredded); it cannot be read.");
    const key = await provider.unwrap(Buffer.from(row.wrapped, "base64"), context(row.accountId, row.dataClass, row.id, row.version));
    return remember({ id: Buffer.from(row.id, "hex"), idHex: row.id, version: row.version, key }, row.dataClass);
  }

  async function create(accountId: string, dataClass: DataClass): Promise<Dek> {
    const id = crypto.getRandomValues(new Uint8Array(16));
    const idHex = hex(id);
    const key = crypto.getRandomValues(new Uint8Array(32));
    const version = latestVersion(db, accountId, dataClass) + 1;
    const wrapped = await provider.wrap(key, context(accountId, dataClass, idHex, version));
    // The key and its audit entry are written together: a crash leaves both or neither.
    db.$client.transaction(() => {
      insertDataKey(db, {
        id: idHex, accountId, dataClass, version, wrapped: Buffer.from(wrapped).toString("base64"), wrappedBy: wrappedBy(),
        status: "active", invocations: 0, createdAt: clock.now(), retiredAt: null,
      });
      // Account keys are audited in the account's log; the server-wide index key is created once, at first start.
      if (accountId !== SERVER_SCOPE) audit.record({ accountId, userId: null, label: "key service" }, { action: "key.dek_created", targetType: "data_key", targetId: idHex, detail: { dataClass, version, wrappedBy: wrappedBy() } });
    }).immediate();
    if (accountId === SERVER_SCOPE) log.info("created the server blind-index key", { wrappedBy: wrappedBy() });
    const dek = remember({ id, idHex, version, key: new Uint8Array(key) }, dataClass);
    key.fill(0);
    return dek;
  }

  async function active(accountId: string, dataClass: DataClass): Promise<Dek> {
    const row = activeDataKey(db, accountId, dataClass);
    if (row) return cached(row.id) ?? (await unwrapRow(row));
    // One creation at a time per (account, class), so two concurrent first writes share a DEK.
    const k = `${accountId}\0${dataClass}`;
    let p = creating.get(k);
    if (!p) {
      p = create(accountId, dataClass).finally(() => creating.delete(k));
      creating.set(k, p);
    }
    return p;
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
    async warm(accountId, dataClass) {
      await active(accountId, dataClass);
      for (const row of listDataKeys(db, accountId)) if (row.dataClass === dataClass && row.status !== "destroyed" && !cached(row.id)) await unwrapRow(row);
    },
    sealingKeySync(accountId, dataClass) {
      const row = activeDataKey(db, accountId, dataClass);
      const dek = row ? cached(row.id) : null;
      return dek && take(dek) ? dek : null;
    },
    openingKeySync(idHex) {
      return cached(idHex);
    },
    async sealingKey(accountId, dataClass) {
      let dek = await active(accountId, dataClass);
      let left = budget.get(dek.idHex) ?? 0;
      if (left <= 0) {
        const total = reserveInvocations(db, dek.idHex, opts.reserveBlock);
        if (total >= opts.rotateAt) {
          log.info("data key reached its invocation limit; rotating", { dataClass, version: dek.version });
          await service.rotate(accountId, dataClass);
          dek = await active(accountId, dataClass);
          reserveInvocations(db, dek.idHex, opts.reserveBlock);
        }
        left = opts.reserveBlock;
      }
      budget.set(dek.idHex, left - 1);
      return dek;
    },
    async openingKey(idHex) {
      const hit = cached(idHex);
      if (hit) return hit;
      const row = dataKeyById(db, idHex);
      if (!row) throw new AppError("unavailable", "The key for this content is unknown to this server.");
      return unwrapRow(row);
    },
    async rotate(accountId, dataClass) {
      const row = activeDataKey(db, accountId, dataClass);
      if (!row) return;
      db.$client.transaction(() => {
        retireDataKey(db, row.id, clock.now());
        audit.record({ accountId: accountId === SERVER_SCOPE ? null : accountId, userId: null, label: "key service" }, { action: "key.dek_rotated", targetType: "data_key", targetId: row.id, detail: { dataClass, version: row.version } });
      }).immediate();
      budget.delete(row.id);
    },
    async rewrapAll(onProgress, previous) {
      const rows = listDataKeys(db).filter((r) => r.status !== "destroyed" && r.wrappedBy !== wrappedBy());
      let done = 0;
      for (const row of rows) {
        const byPrevious = previous && row.wrappedBy.startsWith(`${previous.name}:`);
        const dek = byPrevious
          ? { key: await previous.unwrap(Buffer.from(row.wrapped, "base64"), context(row.accountId, row.dataClass, row.id, row.version)) }
          : await service.openingKey(row.id);
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
