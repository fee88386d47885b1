/**
 * Customer-managed keys per account (Admin → Customer managed key): enrol and test a key,
 * choose the data classes it protects and the licensed users, notification recipients,
 * fallback control, the "drop meetings" option, rotation, deprovisioning and the key usage
 * report. Every change is audited and scoped to the actor's account. Routing of DEKs and key
 * status tracking live in cmk-router.ts; the rewrap jobs in cmk-jobs.ts.
 */
import { auditActor, type Actor } from "../accounts/actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { HealthResult } from "../crypto/kms/types.ts";
import type { Mailer } from "../notify/mailer.ts";
import { AppError, invalid, notFound } from "../shared/errors.ts";
import type { Clock } from "../shared/clock.ts";
import { newId } from "../shared/ids.ts";
import type { Logger } from "../shared/logger.ts";
import {
  accountUserIds, allCmkSettings, cmkSettingsOf, deleteRecipient, insertCmkKey, insertRecipient, jobById, licensedUsers, listCmkKeys, listJobs, listKeyUsage,
  listRecipients, markedDeks, runningJobs, setCmkKeyState, setLicences, upsertCmkSettings, type CmkJobRow, type CmkKeyRow, type CmkSettingsRow, type KeyUsageFilter,
  type KeyUsageRow,
} from "../storage/cmk-repo.ts";
import type { Db } from "../storage/db.ts";
import { normaliseEmail } from "../storage/personal-data.ts";
import { runJob, startJob, type CmkJobKind } from "./cmk-jobs.ts";
import { classifyHealth, classifyKeyFailure, cmkProviderNames, type CmkKeySpec, type CmkOpener } from "./cmk-providers.ts";
import { openRecipientEmail, sealRecipientEmail } from "./cmk-recipients.ts";
import { createCmkRouter, type CmkRouter, type CmkStatus, type CmkStatusChange } from "./cmk-router.ts";
import { DATA_CLASSES, type KeyService } from "./key-service.ts";

export type { CmkStatus, CmkStatusChange } from "./cmk-router.ts";
export type { CmkJobRow, CmkKeyRow, KeyUsageRow } from "../storage/cmk-repo.ts";
export { CmkUnavailableError } from "./cmk-router.ts";

/** CmkServiceDeps are what the composition root passes in. */
export interface CmkServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  keys: KeyService;
  log: Logger;
  mailer: Mailer;
  opener: CmkOpener;
  /** The keyed blind index of the personal-data codec (duplicate recipients). */
  index: (column: string, normalised: string) => string;
  /** Health probe interval of every enrolled key, ms (also how soon a due deprovisioning starts). */
  probeIntervalMs: number;
}

/** CmkOverview is what the pages show for an account. */
export interface CmkOverview {
  settings: CmkSettingsRow | null;
  activeKey: CmkKeyRow | null;
  keys: CmkKeyRow[];
  jobs: CmkJobRow[];
  licensed: Set<string>;
  /** DEKs per slot: cmk, fallback. */
  dekCounts: { cmk: number; fallback: number };
}

/** MeetingsVerdict answers the meetings module's "may this account meet now?". */
export type MeetingsVerdict = { ok: true } | { ok: false; message: string };

/** CmkService is the customer-managed-key domain API. */
export interface CmkService {
  /** router is attached to the key service (keys.attachRouter) at assembly. */
  readonly router: CmkRouter;
  /** providers lists the provider names an account may choose. */
  providers(): string[];
  /** overview returns an account's CMK state for the pages. */
  overview(accountId: string): CmkOverview;
  /** testKey runs a wrap/unwrap round trip with a key reference; the provider's message is verbatim. */
  testKey(actor: Actor, spec: CmkKeySpec): Promise<HealthResult>;
  /** addKey tests and enrols the account's first (or, after deprovisioning, new) key. */
  addKey(actor: Actor, spec: CmkKeySpec): Promise<CmkKeyRow>;
  /** setServices chooses the data classes the key protects. */
  setServices(actor: Actor, classes: string[]): Promise<void>;
  /** setLicences chooses the users whose own content the key protects. */
  setLicences(actor: Actor, userIds: string[]): Promise<void>;
  /** recipients lists who is e-mailed on status changes. */
  recipients(accountId: string): Promise<{ id: string; email: string }[]>;
  addRecipient(actor: Actor, email: string): Promise<void>;
  removeRecipient(actor: Actor, id: string): Promise<void>;
  /** setOptions sets fallback control and "drop meetings when keys are unavailable". */
  setOptions(actor: Actor, opts: { fallback: boolean; dropMeetings: boolean }): Promise<void>;
  /** rotate tests a new key, makes it active and starts moving every DEK of the old key to it. */
  rotate(actor: Actor, spec: CmkKeySpec): Promise<CmkJobRow>;
  /** resumeJob restarts a failed job of the account. */
  resumeJob(actor: Actor, jobId: string): Promise<CmkJobRow>;
  /** scheduleDeprovision sets (or with null cancels) the date from which everything goes back to the server key. */
  scheduleDeprovision(actor: Actor, at: number | null): Promise<void>;
  /** job returns one job of the account (progress polling). */
  job(accountId: string, id: string): CmkJobRow;
  /** checkNow probes every enrolled key (or one account's) and starts due jobs. */
  checkNow(accountId?: string): Promise<void>;
  /** meetingsAllowed tells the meetings module whether an account may hold meetings now. */
  meetingsAllowed(accountId: string): MeetingsVerdict;
  /** onStatusChange registers a listener for key status changes (e.g. end meetings); returns its removal. */
  onStatusChange(listener: (change: CmkStatusChange) => void): () => void;
  /** usage returns key usage records (newest first). */
  usage(filter: KeyUsageFilter): KeyUsageRow[];
  /** summary lists every account with an enrolled key: key, status and unfinished jobs (CLI `keys status`). */
  summary(): { accountId: string; key: string; status: string; detail: string; jobs: CmkJobRow[] }[];
  /** resumeJobs runs every unfinished (running or failed) job to its end, reporting progress; returns how many finished. */
  resumeJobs(onProgress?: (job: CmkJobRow) => void): Promise<number>;
  /** start resumes unfinished jobs and starts the periodic health probe (an unref'd timer). */
  start(): void;
  /** idle waits for status notifications and jobs under way (tests, shutdown). */
  idle(): Promise<void>;
  /** close stops the probe and releases the CMK providers. */
  close(): Promise<void>;
}

const MAX_REF = 2048;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** parseKeySpec validates what an admin entered for a key. */
export function parseKeySpec(provider: string, keyRef: string, replicas: string): CmkKeySpec {
  const errors: Record<string, string> = {};
  const names = cmkProviderNames();
  if (!names.includes(provider)) errors.provider = `Choose a provider: ${names.join(", ")}.`;
  const ref = keyRef.trim();
  if (ref === "") errors.keyRef = "Enter the key: an ARN (aws-kms), a key identifier URL (azure-keyvault), a key label (pkcs11) or an OCID (oci-vault).";
  else if (ref.length > MAX_REF || CONTROL.test(ref)) errors.keyRef = `The key reference must be at most ${MAX_REF} printable characters.`;
  else if (provider === "aws-kms" && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/\S+$/.test(ref)) errors.keyRef = "Enter the full key ARN, arn:aws:kms:REGION:ACCOUNT:key/ID (or an alias ARN).";
  else if (provider === "azure-keyvault" && !/^https:\/\/[^/\s]+\/keys\/[^/\s]+(\/[^/\s]+)?\/?$/.test(ref)) errors.keyRef = "Enter the key identifier, https://VAULT.vault.azure.net/keys/NAME[/VERSION].";
  const list = replicas.split(/[\s,]+/).filter(Boolean);
  if (list.length && provider !== "aws-kms") errors.replicas = "Replica keys apply to aws-kms multi-region keys only.";
  else if (list.some((r) => !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/mrk-\S+$/.test(r))) errors.replicas = "Each replica must be a multi-region key ARN, arn:aws:kms:REGION:ACCOUNT:key/mrk-….";
  else if (list.length > 10) errors.replicas = "At most 10 replica keys.";
  if (Object.keys(errors).length) throw invalid(errors);
  return { provider, keyRef: ref, replicas: list };
}

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

/** createCmkService builds the CMK service and its router (attached to the key service here). */
export function createCmkService(d: CmkServiceDeps): CmkService {
  const router = createCmkRouter({ db: d.db, clock: d.clock, audit: d.audit, keys: d.keys, log: d.log, mailer: d.mailer, opener: d.opener });
  d.keys.attachRouter(router);
  const jobDeps = { db: d.db, clock: d.clock, audit: d.audit, keys: d.keys, router };
  const running = new Map<string, Promise<void>>();
  let timer: ReturnType<typeof setInterval> | null = null;

  /** launch runs a job in the background, one per account at a time. */
  const launch = (job: CmkJobRow): void => {
    const p = runJob(jobDeps, job)
      .catch((err) => d.log.warn("customer key job stopped", { accountId: job.accountId, kind: job.kind, error: err instanceof Error ? err.message : String(err) }))
      .finally(() => running.delete(job.accountId));
    running.set(job.accountId, p);
  };
  const busy = (accountId: string): boolean => running.has(accountId) || runningJobs(d.db).some((j) => j.accountId === accountId);
  const record = (actor: Actor, action: string, detail: Record<string, unknown>, before?: unknown, after?: unknown): void => {
    d.audit.record(auditActor(actor), { action, targetType: "cmk", targetId: actor.accountId, detail, before, after });
  };
  /** change applies a settings change with its audit entry, then warms the log key the new routing picks. */
  const change = async (actor: Actor, fn: () => void): Promise<void> => {
    d.db.$client.transaction(fn).immediate();
    router.invalidate(actor.accountId);
    await d.keys.warm(actor.accountId, "audit");
  };
  async function probeSpec(spec: CmkKeySpec): Promise<HealthResult> {
    try {
      const p = await d.opener(spec);
      try {
        return await p.health();
      } finally {
        await p.close?.();
      }
    } catch (err) {
      const f = classifyKeyFailure(err);
      return { ok: false, detail: err instanceof Error ? err.message : String(err), kind: f.kind, providerMessage: f.providerMessage };
    }
  }
  const reseal = (accountId: string): void => {
    const s = router.settings(accountId);
    if (!s?.activeKeyId || s.status !== "available" || busy(accountId) || markedDeks(d.db, accountId, "fallback").length === 0) return;
    launch(startJob(jobDeps, accountId, "reseal", null, s.activeKeyId));
  };
  router.whenAvailable(reseal);

  async function check(s: CmkSettingsRow): Promise<void> {
    if (!s.activeKeyId) return;
    const now = d.clock.now();
    if (s.deprovisionAt !== null && now >= s.deprovisionAt && s.deprovisionedAt === null) {
      if (!busy(s.accountId)) launch(startJob(jobDeps, s.accountId, "deprovision", null, null));
      return;
    }
    let h: HealthResult;
    try {
      h = await (await router.keyProvider(s.accountId, s.activeKeyId)).health();
    } catch (err) {
      const f = classifyKeyFailure(err);
      h = { ok: false, detail: f.providerMessage, kind: f.kind, providerMessage: f.providerMessage };
    }
    const f = classifyHealth(h);
    router.observe(s.accountId, f ? f.kind : "available", f);
    if (!f) reseal(s.accountId);
  }

  const service: CmkService = {
    router,
    providers: cmkProviderNames,
    overview(accountId) {
      const settings = cmkSettingsOf(d.db, accountId);
      const keys = listCmkKeys(d.db, accountId);
      return {
        settings,
        keys,
        activeKey: keys.find((k) => k.id === settings?.activeKeyId) ?? null,
        jobs: listJobs(d.db, accountId),
        licensed: licensedUsers(d.db, accountId),
        dekCounts: { cmk: markedDeks(d.db, accountId, "cmk").length, fallback: markedDeks(d.db, accountId, "fallback").length },
      };
    },
    async testKey(actor, spec) {
      const h = await probeSpec(spec);
      d.db.$client.transaction(() => record(actor, "cmk.key_tested", { provider: spec.provider, key: spec.keyRef, ok: h.ok, detail: h.ok ? "" : (h.providerMessage ?? h.detail).slice(0, 500) })).immediate();
      return h;
    },
    async addKey(actor, spec) {
      const s = cmkSettingsOf(d.db, actor.accountId);
      if (s?.activeKeyId) throw new AppError("conflict", "This account already has a customer-managed key; use Rotate key to replace it.");
      const h = await probeSpec(spec);
      if (!h.ok) throw invalid({ keyRef: `The key failed its wrap/unwrap test: ${h.providerMessage ?? h.detail}` }, "The key could not be used; nothing was changed.");
      const key: CmkKeyRow = { id: newId(), accountId: actor.accountId, provider: spec.provider, keyRef: spec.keyRef, replicas: spec.replicas, state: "active", createdAt: d.clock.now(), createdBy: actor.userId, retiredAt: null };
      await change(actor, () => {
        insertCmkKey(d.db, key);
        upsertCmkSettings(d.db, actor.accountId, {
          activeKeyId: key.id, status: "available", statusReason: "", statusDetail: "", statusChangedAt: d.clock.now(), lastCheckedAt: d.clock.now(),
          deprovisionAt: null, deprovisionedAt: null, deprovisionedKey: "",
        });
        record(actor, "cmk.key_added", { provider: spec.provider, key: spec.keyRef, replicas: spec.replicas });
      });
      return key;
    },
    async setServices(actor, classes) {
      const unknown = classes.filter((c) => !(DATA_CLASSES as readonly string[]).includes(c));
      if (unknown.length) throw invalid({ services: `Unknown data classes: ${unknown.join(", ")}.` });
      const before = cmkSettingsOf(d.db, actor.accountId)?.services ?? [];
      const after = DATA_CLASSES.filter((c) => classes.includes(c));
      await change(actor, () => {
        upsertCmkSettings(d.db, actor.accountId, { services: after });
        record(actor, "cmk.services_changed", {}, before, after);
      });
    },
    async setLicences(actor, userIds) {
      const known = accountUserIds(d.db, actor.accountId);
      const unique = [...new Set(userIds)];
      // Users of other accounts are refused like unknown ones (no hint that they exist).
      if (unique.some((u) => !known.has(u))) throw invalid({ users: "Some of the chosen users are not users of this account." });
      const before = [...licensedUsers(d.db, actor.accountId)].sort();
      await change(actor, () => {
        setLicences(d.db, actor.accountId, unique, d.clock.now());
        record(actor, "cmk.licences_changed", { count: unique.length }, before, [...unique].sort());
      });
    },
    async recipients(accountId) {
      const out: { id: string; email: string }[] = [];
      for (const r of listRecipients(d.db, accountId)) out.push({ id: r.id, email: await openRecipientEmail(d.keys, accountId, r.id, r.emailSealed) });
      return out;
    },
    async addRecipient(actor, email) {
      const e = email.trim();
      if (!EMAIL.test(e) || e.length > 254) throw invalid({ email: "Enter an e-mail address such as secops@example.org." });
      const idx = d.index("cmk_recipients.email", normaliseEmail(e));
      if (listRecipients(d.db, actor.accountId).some((r) => r.emailIndex === idx)) throw invalid({ email: "This address is already a recipient." });
      if (listRecipients(d.db, actor.accountId).length >= 50) throw invalid({ email: "At most 50 recipients." });
      const id = newId();
      const sealed = await sealRecipientEmail(d.keys, actor.accountId, id, e);
      await change(actor, () => {
        insertRecipient(d.db, { id, accountId: actor.accountId, emailSealed: sealed, emailIndex: idx, createdAt: d.clock.now() });
        record(actor, "cmk.recipient_added", { email: e });
      });
    },
    async removeRecipient(actor, id) {
      await change(actor, () => {
        if (!deleteRecipient(d.db, actor.accountId, id)) throw notFound("No such recipient.");
        record(actor, "cmk.recipient_removed", { recipient: id });
      });
    },
    async setOptions(actor, opts) {
      const s = cmkSettingsOf(d.db, actor.accountId);
      const before = { fallback: s?.fallback ?? false, dropMeetings: s?.dropMeetings ?? false };
      await change(actor, () => {
        upsertCmkSettings(d.db, actor.accountId, opts);
        record(actor, "cmk.options_changed", {}, before, opts);
      });
    },
    async rotate(actor, spec) {
      const s = cmkSettingsOf(d.db, actor.accountId);
      if (!s?.activeKeyId) throw new AppError("conflict", "There is no customer-managed key to rotate; add one first.");
      if (busy(actor.accountId)) throw new AppError("conflict", "A key job is still running for this account; wait for it to finish.");
      const old = listCmkKeys(d.db, actor.accountId).find((k) => k.id === s.activeKeyId)!;
      if (old.provider === spec.provider && old.keyRef === spec.keyRef) throw invalid({ keyRef: "Enter a different key than the current one." });
      const h = await probeSpec(spec);
      if (!h.ok) throw invalid({ keyRef: `The new key failed its wrap/unwrap test: ${h.providerMessage ?? h.detail}` }, "The new key could not be used; nothing was changed.");
      const key: CmkKeyRow = { id: newId(), accountId: actor.accountId, provider: spec.provider, keyRef: spec.keyRef, replicas: spec.replicas, state: "active", createdAt: d.clock.now(), createdBy: actor.userId, retiredAt: null };
      let job: CmkJobRow | null = null;
      await change(actor, () => {
        insertCmkKey(d.db, key);
        setCmkKeyState(d.db, actor.accountId, old.id, "rotating", null);
        upsertCmkSettings(d.db, actor.accountId, { activeKeyId: key.id, status: "available", statusReason: "", statusDetail: "", statusChangedAt: d.clock.now() });
        job = startJob(jobDeps, actor.accountId, "rotate", old.id, key.id);
        record(actor, "cmk.key_rotated", { from: `${old.provider}:${old.keyRef}`, to: `${spec.provider}:${spec.keyRef}`, job: job.id });
      });
      launch(job!);
      return job!;
    },
    async resumeJob(actor, jobId) {
      const job = jobById(d.db, actor.accountId, jobId);
      if (!job) throw notFound("No such job.");
      if (job.state !== "failed") throw new AppError("conflict", "Only a failed job can be resumed.");
      if (busy(actor.accountId)) throw new AppError("conflict", "A key job is still running for this account.");
      await change(actor, () => record(actor, "cmk.job_resumed", { job: job.id, kind: job.kind as CmkJobKind }));
      launch(job);
      return job;
    },
    async scheduleDeprovision(actor, at) {
      const s = cmkSettingsOf(d.db, actor.accountId);
      if (!s?.activeKeyId) throw new AppError("conflict", "There is no customer-managed key to deprovision.");
      if (at !== null && (!Number.isFinite(at) || at < d.clock.now() - 86_400_000)) throw invalid({ date: "Choose today or a later date." });
      if (at === null && busy(actor.accountId) && s.deprovisionAt !== null && d.clock.now() >= s.deprovisionAt) throw new AppError("conflict", "Deprovisioning has already started and cannot be cancelled.");
      await change(actor, () => {
        upsertCmkSettings(d.db, actor.accountId, { deprovisionAt: at });
        record(actor, at === null ? "cmk.deprovision_cancelled" : "cmk.deprovision_scheduled", at === null ? {} : { at: new Date(at).toISOString() });
      });
    },
    job(accountId, id) {
      const j = jobById(d.db, accountId, id);
      if (!j) throw notFound("No such job.");
      return j;
    },
    async checkNow(accountId) {
      for (const s of allCmkSettings(d.db)) if (accountId === undefined || s.accountId === accountId) await check(s);
    },
    meetingsAllowed(accountId) {
      const s = router.settings(accountId);
      if (!s?.activeKeyId || !s.dropMeetings || s.status === "available" || s.status === "unknown") return { ok: true };
      return {
        ok: false,
        message:
          s.status === "denied"
            ? "Meetings are unavailable: your organisation's encryption key was revoked or disabled. An account admin must restore access to it."
            : "Meetings are unavailable: your organisation's encryption key cannot be reached right now. Try again in a few minutes.",
      };
    },
    onStatusChange: (l) => router.onStatusChange(l),
    summary() {
      return allCmkSettings(d.db)
        .filter((s) => s.activeKeyId)
        .map((s) => {
          const k = listCmkKeys(d.db, s.accountId).find((x) => x.id === s.activeKeyId);
          return { accountId: s.accountId, key: k ? `${k.provider}:${k.keyRef}` : "?", status: s.status, detail: s.statusDetail, jobs: listJobs(d.db, s.accountId).filter((j) => j.state !== "done") };
        });
    },
    async resumeJobs(onProgress) {
      const todo = (d.db.$client.query("SELECT id, account_id AS accountId FROM cmk_jobs WHERE state <> 'done' ORDER BY started_at").all() as { id: string; accountId: string }[])
        .map((r) => jobById(d.db, r.accountId, r.id)!)
        // Only the newest unfinished job of an account matters; an older one was superseded.
        .filter((j, i, all) => all.findLastIndex((x) => x.accountId === j.accountId) === i);
      let finished = 0;
      for (const j of todo) {
        const timer = onProgress ? setInterval(() => onProgress(jobById(d.db, j.accountId, j.id)!), 500) : null;
        try {
          await runJob(jobDeps, j);
          finished++;
        } catch (err) {
          // Recorded on the job (state failed, the provider's message); `keys status` shows it.
          d.log.warn("customer key job stopped", { accountId: j.accountId, kind: j.kind, error: err instanceof Error ? err.message : String(err) });
        } finally {
          if (timer) clearInterval(timer);
          onProgress?.(jobById(d.db, j.accountId, j.id)!);
        }
      }
      return finished;
    },
    usage: (f) => listKeyUsage(d.db, f),
    start() {
      for (const j of runningJobs(d.db)) if (!running.has(j.accountId)) launch(j);
      // The status stored at the last shutdown may be stale: check every key once at start.
      void service.checkNow().catch((err) => d.log.error("customer key check failed", { error: err instanceof Error ? err.message : String(err) }));
      if (timer === null) {
        timer = setInterval(() => void service.checkNow().catch((err) => d.log.error("customer key check failed", { error: err instanceof Error ? err.message : String(err) })), d.probeIntervalMs);
        timer.unref?.();
      }
    },
    async idle() {
      for (;;) {
        await router.idle();
        const jobs = [...running.values()];
        if (!jobs.length) break;
        await Promise.all(jobs);
      }
      await router.idle();
    },
    async close() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      await Promise.all(running.values());
      await router.close();
    },
  };
  return service;
}
