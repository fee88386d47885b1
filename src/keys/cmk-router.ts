/**
 * The customer-managed-key router: decides for every new DEK whether the account's CMK, the
 * server key or the server fallback key wraps it, opens the CMK providers, and tracks each
 * account's key status (available → unreachable → denied → available) from health probes and
 * from real wrap/unwrap results. Status changes are audited, e-mailed to the recipients and
 * passed to listeners (the meetings module); a denial purges the account's cached CMK DEKs.
 */
import type { AuditLog } from "../audit/audit-log.ts";
import type { KeyProvider } from "../crypto/kms/types.ts";
import type { Mailer } from "../notify/mailer.ts";
import { AppError } from "../shared/errors.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/logger.ts";
import {
  cmkKeyById, cmkSettingsOf, dekMark, insertKeyUsage, licensedUsers, listRecipients, markDek, markedDeks, upsertCmkSettings, type CmkKeyRow, type CmkSettingsRow,
} from "../storage/cmk-repo.ts";
import type { Db } from "../storage/db.ts";
import { classifyKeyFailure, type CmkOpener, type KeyFailure } from "./cmk-providers.ts";
import { openRecipientEmail } from "./cmk-recipients.ts";
import type { DataClass, DekRouter, KekRoute, KeyService } from "./key-service.ts";

/** CmkStatus is an account's customer-key status as last observed. */
export type CmkStatus = "available" | "unreachable" | "denied" | "unknown";

/** CmkStatusChange is told to listeners (and audited, and e-mailed) when an account's key status changes. */
export interface CmkStatusChange {
  accountId: string;
  from: CmkStatus;
  to: CmkStatus;
  reason: string;
  providerMessage: string;
  at: number;
}

/** CMK_AUDIT_CLASS: the operation log keeps working while the CMK is unavailable (it records the outage itself), under the fallback key. */
const ALWAYS_FALLBACK: ReadonlySet<string> = new Set(["audit"]);

/** CmkUnavailableError is what users see when content cannot be stored or read because of the account's customer key. */
export class CmkUnavailableError extends AppError {
  readonly kind: "unreachable" | "denied";
  constructor(kind: "unreachable" | "denied", message: string) {
    super("unavailable", message);
    this.name = "CmkUnavailableError";
    this.kind = kind;
  }
}

/** CmkRouterDeps are what the router needs from the composition root. */
export interface CmkRouterDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  keys: KeyService;
  log: Logger;
  mailer: Mailer;
  opener: CmkOpener;
}

/** CmkRouter is the DekRouter plus status tracking. */
export interface CmkRouter extends DekRouter {
  /** settings returns an account's (cached) CMK settings. */
  settings(accountId: string): CmkSettingsRow | null;
  /** invalidate drops an account's cached settings and licences after a change. */
  invalidate(accountId: string): void;
  /** keyProvider opens (once) the provider of an enrolled key. */
  keyProvider(accountId: string, cmkKeyId: string): Promise<KeyProvider>;
  /** observe records an observed status; a change is audited, e-mailed and told to listeners. */
  observe(accountId: string, to: CmkStatus, failure: KeyFailure | null): void;
  /** onStatusChange registers a listener; returns its removal. */
  onStatusChange(listener: (change: CmkStatusChange) => void): () => void;
  /** whenAvailable registers what runs when a key becomes available again (the fallback re-seal). */
  whenAvailable(fn: (accountId: string) => void): void;
  /** idle resolves when the status-change work under way has finished (tests). */
  idle(): Promise<void>;
  /** close releases every open CMK provider. */
  close(): Promise<void>;
}

const label = (k: CmkKeyRow): string => `${k.provider}:${k.keyRef}`;

/** createCmkRouter builds the router; attach it with keys.attachRouter. */
export function createCmkRouter(d: CmkRouterDeps): CmkRouter {
  const settingsCache = new Map<string, CmkSettingsRow | null>();
  const licenceCache = new Map<string, Set<string>>();
  const keyCache = new Map<string, CmkKeyRow | null>();
  const providers = new Map<string, Promise<KeyProvider>>();
  const listeners = new Set<(c: CmkStatusChange) => void>();
  const onAvailable: ((accountId: string) => void)[] = [];
  let work: Promise<void> = Promise.resolve();

  const settings = (accountId: string): CmkSettingsRow | null => {
    if (!settingsCache.has(accountId)) settingsCache.set(accountId, cmkSettingsOf(d.db, accountId));
    return settingsCache.get(accountId) ?? null;
  };
  const keyRow = (accountId: string, id: string): CmkKeyRow | null => {
    if (!keyCache.has(id)) keyCache.set(id, cmkKeyById(d.db, accountId, id));
    return keyCache.get(id) ?? null;
  };
  const licensed = (accountId: string): Set<string> => {
    let s = licenceCache.get(accountId);
    if (!s) licenceCache.set(accountId, (s = licensedUsers(d.db, accountId)));
    return s;
  };
  const serverRoute = (): KekRoute => ({ slot: "server", cmkKeyId: null, label: d.keys.serverKek().label });
  const fallbackRoute = (cmkKeyId: string): KekRoute => ({ slot: "fallback", cmkKeyId, label: d.keys.serverKek().label });
  const describeKey = (accountId: string, id: string | null): string => {
    const k = id ? keyRow(accountId, id) : null;
    return k ? `${k.provider} key ${k.keyRef}` : "customer-managed key";
  };

  async function notify(change: CmkStatusChange): Promise<void> {
    const s = settings(change.accountId);
    const what = describeKey(change.accountId, s?.activeKeyId ?? null);
    try {
      // The log's key may be the CMK itself: make sure the (fallback) audit key is in memory first.
      await d.keys.warm(change.accountId, "audit");
      d.audit.record(
        { accountId: change.accountId, userId: null, label: "key service" },
        { action: "cmk.status_changed", targetType: "cmk_key", targetId: s?.activeKeyId ?? "", before: change.from, after: change.to, detail: { key: what, reason: change.reason, providerMessage: change.providerMessage } },
      );
    } catch (err) {
      d.log.error("could not audit a customer key status change", { accountId: change.accountId, error: err instanceof Error ? err.message : String(err) });
    }
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        d.log.error("a key status listener failed", { error: err instanceof Error ? err.message : String(err) });
      }
    }
    const text = [
      `The status of your organisation's ${what} changed from ${change.from} to ${change.to} at ${new Date(change.at).toISOString()}.`,
      change.to === "available"
        ? "Conclave can use the key again. Content stored under the fallback key while it was unavailable is being re-sealed under your key."
        : change.to === "denied"
          ? "The key service refused to let Conclave use the key (revoked, disabled, deleted or not permitted). Content protected by it can be neither stored nor read until access is restored; cached data keys were wiped."
          : s?.fallback
            ? "The key service cannot be reached. New content is sealed under the server fallback key and will be re-sealed under your key when it returns."
            : "The key service cannot be reached. Fallback is off, so new content protected by this key is not stored until it returns.",
      change.providerMessage ? `Key service said: ${change.providerMessage}` : "",
      s?.dropMeetings && change.to !== "available" ? "Meetings of your organisation are ended and refused while the key is unavailable." : "",
      "Manage the key on Conclave's Admin → Customer managed key page.",
    ].filter(Boolean).join("\n\n");
    for (const r of listRecipients(d.db, change.accountId)) {
      try {
        const to = await openRecipientEmail(d.keys, change.accountId, r.id, r.emailSealed);
        await d.mailer.send({ to, subject: `Conclave: customer-managed key is ${change.to}`, text });
      } catch (err) {
        d.log.error("could not e-mail a key status recipient", { accountId: change.accountId, error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (change.to === "available") for (const fn of onAvailable) fn(change.accountId);
  }

  const router: CmkRouter = {
    settings,
    invalidate(accountId) {
      settingsCache.delete(accountId);
      licenceCache.delete(accountId);
    },
    route(accountId, dataClass: DataClass, subject) {
      if (subject.keyScope === "server") return serverRoute();
      const s = settings(accountId);
      if (!s?.activeKeyId || !s.services.includes(dataClass)) return serverRoute();
      if (s.deprovisionAt !== null && d.clock.now() >= s.deprovisionAt) return serverRoute();
      // One user's content follows their licence; account-wide content follows the account's choice.
      if (subject.userId && !licensed(accountId).has(subject.userId)) return serverRoute();
      const k = keyRow(accountId, s.activeKeyId);
      if (!k) return serverRoute();
      if (s.status === "denied") {
        if (ALWAYS_FALLBACK.has(dataClass)) return fallbackRoute(k.id);
        throw deniedError(accountId, k.id, s.statusDetail, true);
      }
      if (s.status === "unreachable") {
        if (s.fallback || ALWAYS_FALLBACK.has(dataClass)) return fallbackRoute(k.id);
        throw unreachableError(accountId, k.id, s.statusDetail, true);
      }
      return { slot: "cmk", cmkKeyId: k.id, label: label(k) };
    },
    routeOf(row) {
      const m = dekMark(d.db, row.id);
      if (!m) return serverRoute();
      if (m.slot === "fallback") return fallbackRoute(m.cmkKeyId);
      const k = keyRow(row.accountId, m.cmkKeyId);
      return { slot: "cmk", cmkKeyId: m.cmkKeyId, label: k ? label(k) : row.wrappedBy };
    },
    async provider(accountId, route) {
      if (!route.cmkKeyId) throw new Error("a CMK route without a key");
      return router.keyProvider(accountId, route.cmkKeyId);
    },
    keyProvider(accountId, cmkKeyId) {
      let p = providers.get(cmkKeyId);
      if (!p) {
        const k = keyRow(accountId, cmkKeyId);
        if (!k) return Promise.reject(new AppError("unavailable", "This content's customer-managed key is unknown to this account."));
        p = d.opener({ provider: k.provider, keyRef: k.keyRef, replicas: k.replicas });
        // A key that could not be opened (HSM down) is tried again next time.
        p.catch(() => providers.delete(cmkKeyId));
        providers.set(cmkKeyId, p);
      }
      return p;
    },
    failed(accountId, dataClass, route, err, forSeal) {
      const f = classifyKeyFailure(err);
      router.observe(accountId, f.kind, f);
      const s = settings(accountId);
      const id = route.cmkKeyId ?? "";
      if (forSeal && (ALWAYS_FALLBACK.has(dataClass) || (f.kind === "unreachable" && s?.fallback))) return fallbackRoute(id);
      throw f.kind === "denied" ? deniedError(accountId, id, f.providerMessage, forSeal) : unreachableError(accountId, id, f.providerMessage, forSeal);
    },
    succeeded(accountId) {
      const s = settings(accountId);
      if (s && s.status !== "available") router.observe(accountId, "available", null);
    },
    created(dekId, accountId, dataClass, route) {
      if (route.slot === "server" || !route.cmkKeyId) return;
      markDek(d.db, { dekId, accountId, dataClass, slot: route.slot, cmkKeyId: route.cmkKeyId }, d.clock.now());
    },
    used(e) {
      const outcome = e.error === null ? "ok" : classifyKeyFailure(e.error).kind;
      const detail = e.error === null ? "" : classifyKeyFailure(e.error).providerMessage.slice(0, 500);
      insertKeyUsage(d.db, { at: d.clock.now(), accountId: e.accountId, op: e.op, dataClass: e.dataClass, purpose: e.purpose, userId: e.userId, slot: e.slot, provider: e.provider, dekId: e.dekId, outcome, detail });
    },
    observe(accountId, to, failure) {
      const s = settings(accountId);
      if (!s?.activeKeyId) return;
      const now = d.clock.now();
      // A refusal is only cleared by a success: a key last seen denied that now times out stays
      // denied (it may still be revoked), so fallback never applies to it.
      if (s.status === to || (s.status === "denied" && to === "unreachable")) {
        upsertCmkSettings(d.db, accountId, { lastCheckedAt: now });
        settingsCache.set(accountId, { ...s, lastCheckedAt: now });
        return;
      }
      const change: CmkStatusChange = { accountId, from: s.status as CmkStatus, to, reason: failure?.reason ?? "", providerMessage: failure?.providerMessage ?? "", at: now };
      const patch = { status: to, statusReason: change.reason, statusDetail: change.providerMessage, statusChangedAt: now, lastCheckedAt: now };
      upsertCmkSettings(d.db, accountId, patch);
      settingsCache.set(accountId, { ...s, ...patch });
      // Fail closed at once: no plaintext DEK under a refused key stays in memory.
      if (to === "denied") d.keys.forget(markedDeks(d.db, accountId, "cmk").map((r) => r.id));
      d.log.warn("customer-managed key status changed", { accountId, from: change.from, to, reason: change.reason });
      work = work.then(() => notify(change));
    },
    onStatusChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenAvailable(fn) {
      onAvailable.push(fn);
    },
    async idle() {
      let seen: Promise<void> | null = null;
      while (seen !== work) {
        seen = work;
        await work;
      }
    },
    async close() {
      for (const p of providers.values()) await p.then((x) => x.close?.()).catch(() => undefined);
      providers.clear();
    },
  };

  function unreachableError(accountId: string, keyId: string, providerMessage: string, forSeal: boolean): CmkUnavailableError {
    const what = describeKey(accountId, keyId);
    const why = providerMessage ? ` (${providerMessage})` : "";
    return new CmkUnavailableError(
      "unreachable",
      forSeal
        ? `Not saved: your organisation's ${what} cannot be reached right now${why}, and fallback to the server key is off. Nothing was stored; try again when the key service is back, or ask an account admin.`
        : `This content is protected by your organisation's ${what}, which cannot be reached right now${why}. Try again later.`,
    );
  }
  function deniedError(accountId: string, keyId: string, providerMessage: string, forSeal: boolean): CmkUnavailableError {
    const what = describeKey(accountId, keyId);
    const why = providerMessage ? ` (${providerMessage})` : "";
    return new CmkUnavailableError(
      "denied",
      forSeal
        ? `Not saved: your organisation's ${what} refuses to be used${why} — it was revoked, disabled or deleted. Nothing was stored; an account admin must restore access to the key.`
        : `This content is protected by your organisation's ${what}, which refuses to be used${why}. It cannot be read until an account admin restores access to the key.`,
    );
  }

  return router;
}
