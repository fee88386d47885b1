/**
 * The customer-managed-key jobs: rotation (DEKs move from the old CMK to the new one), fallback
 * re-seal (DEKs made under the server fallback key move to the CMK) and deprovisioning (every
 * DEK moves to the server key). Each DEK is rewrapped and its progress recorded in one
 * transaction, so a job resumes after a crash from the DEKs still left; the plaintext DEK never
 * changes, so the content sealed under it needs no re-encryption.
 */
import type { AuditLog } from "../audit/audit-log.ts";
import type { KeyProvider } from "../crypto/kms/types.ts";
import type { Clock } from "../shared/clock.ts";
import { newId } from "../shared/ids.ts";
import {
  cmkKeyById, insertJob, listCmkKeys, markDek, markedDeks, setCmkKeyState, unmarkDek, updateJob, upsertCmkSettings, type CmkJobRow,
} from "../storage/cmk-repo.ts";
import { retireDataKey, setWrapped, type DataKeyRow } from "../storage/data-keys-repo.ts";
import type { Db } from "../storage/db.ts";
import type { CmkRouter } from "./cmk-router.ts";
import { dekContext, type DekSlot, type KeyService } from "./key-service.ts";

/** CmkJobDeps are what the jobs need. */
export interface CmkJobDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  keys: KeyService;
  router: CmkRouter;
}

/** CmkJobKind names the three jobs. */
export type CmkJobKind = "rotate" | "reseal" | "deprovision";

const system = (accountId: string) => ({ accountId, userId: null, label: "key service" });

/** startJob records a new running job and returns it. */
export function startJob(d: CmkJobDeps, accountId: string, kind: CmkJobKind, fromKeyId: string | null, toKeyId: string | null): CmkJobRow {
  const job: CmkJobRow = { id: newId(), accountId, kind, fromKeyId, toKeyId, state: "running", total: 0, done: 0, error: "", startedAt: d.clock.now(), finishedAt: null };
  insertJob(d.db, job);
  return job;
}

interface Move {
  row: DataKeyRow;
  fromSlot: DekSlot;
  fromKeyId: string | null;
}

/** moveDek unwraps one DEK with its current KEK and wraps it with the target, recording both uses. */
async function rewrapBytes(d: CmkJobDeps, m: Move, from: KeyProvider, fromLabel: string, to: KeyProvider, toLabel: string, toSlot: DekSlot, purpose: string): Promise<string> {
  const { row } = m;
  const ctx = dekContext(row.accountId, row.dataClass, row.id, row.version);
  const use = (op: "wrap" | "unwrap", slot: DekSlot, provider: string, error: unknown): void =>
    d.router.used({ accountId: row.accountId, dataClass: row.dataClass, op, slot, provider, dekId: row.id, purpose, userId: null, error });
  let key: Uint8Array;
  try {
    key = await from.unwrap(Buffer.from(row.wrapped, "base64"), ctx);
  } catch (err) {
    use("unwrap", m.fromSlot, fromLabel, err);
    throw err;
  }
  use("unwrap", m.fromSlot, fromLabel, null);
  try {
    const wrapped = await to.wrap(key, ctx);
    use("wrap", toSlot, toLabel, null);
    return Buffer.from(wrapped).toString("base64");
  } catch (err) {
    use("wrap", toSlot, toLabel, err);
    throw err;
  } finally {
    key.fill(0);
  }
}

/**
 * runJob runs (or resumes) a job to its end: it recomputes the DEKs still to move, so running it
 * again after a crash or a failure continues where it stopped. Failures are recorded on the job
 * (state "failed", the provider's message) and rethrown.
 */
export async function runJob(d: CmkJobDeps, job: CmkJobRow): Promise<void> {
  const { accountId } = job;
  const server = d.keys.serverKek();
  const keyLabel = (id: string): string => {
    const k = cmkKeyById(d.db, accountId, id);
    return k ? `${k.provider}:${k.keyRef}` : id;
  };
  let moves: Move[];
  if (job.kind === "rotate") moves = markedDeks(d.db, accountId, "cmk", job.fromKeyId ?? "").map((row) => ({ row, fromSlot: "cmk", fromKeyId: row.cmkKeyId }));
  else if (job.kind === "reseal") moves = markedDeks(d.db, accountId, "fallback").map((row) => ({ row, fromSlot: "fallback", fromKeyId: null }));
  else
    moves = [
      ...markedDeks(d.db, accountId, "cmk").map((row): Move => ({ row, fromSlot: "cmk", fromKeyId: row.cmkKeyId })),
      ...markedDeks(d.db, accountId, "fallback").map((row): Move => ({ row, fromSlot: "fallback", fromKeyId: null })),
    ];
  let done = job.done;
  // Each step is audited inside its transaction: the log's key must be in memory.
  await d.keys.warm(accountId, "audit");
  updateJob(d.db, job.id, { state: "running", total: done + moves.length, error: "" });
  try {
    for (const m of moves) {
      const from = m.fromSlot === "cmk" ? await d.router.keyProvider(accountId, m.fromKeyId!) : server.provider;
      const fromLabel = m.fromSlot === "cmk" ? keyLabel(m.fromKeyId!) : server.label;
      const toKeyId = job.kind === "deprovision" ? null : job.toKeyId!;
      const to = toKeyId ? await d.router.keyProvider(accountId, toKeyId) : server.provider;
      const toLabel = toKeyId ? keyLabel(toKeyId) : server.label;
      const toSlot: DekSlot = toKeyId ? "cmk" : "server";
      const wrapped = await rewrapBytes(d, m, from, fromLabel, to, toLabel, toSlot, job.kind === "reseal" ? "fallback reseal" : job.kind);
      done++;
      d.db.$client.transaction(() => {
        setWrapped(d.db, m.row.id, wrapped, toLabel);
        if (toKeyId) markDek(d.db, { dekId: m.row.id, accountId, dataClass: m.row.dataClass, slot: "cmk", cmkKeyId: toKeyId }, d.clock.now());
        else unmarkDek(d.db, m.row.id);
        // A fallback DEK (or a deprovisioned CMK DEK) only keeps decrypting: new content gets the proper key's DEK.
        if (job.kind !== "rotate" && m.row.status === "active") retireDataKey(d.db, m.row.id, d.clock.now());
        updateJob(d.db, job.id, { done });
        d.audit.record(system(accountId), { action: "cmk.dek_rewrapped", targetType: "data_key", targetId: m.row.id, detail: { job: job.kind, dataClass: m.row.dataClass, from: fromLabel, to: toLabel } });
      }).immediate();
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    d.db.$client.transaction(() => {
      updateJob(d.db, job.id, { state: "failed", error: message.slice(0, 1000), finishedAt: d.clock.now() });
      d.audit.record(system(accountId), { action: "cmk.job_failed", targetType: "cmk_job", targetId: job.id, detail: { job: job.kind, done, error: message.slice(0, 500) } });
    }).immediate();
    throw err;
  }
  const now = d.clock.now();
  d.db.$client.transaction(() => {
    if (job.kind === "rotate" && job.fromKeyId && job.toKeyId) {
      d.db.$client.query("UPDATE cmk_data_keys SET cmk_key_id = ? WHERE account_id = ? AND slot = 'fallback' AND cmk_key_id = ?").run(job.toKeyId, accountId, job.fromKeyId);
      setCmkKeyState(d.db, accountId, job.fromKeyId, "retired", now);
    }
    if (job.kind === "deprovision") {
      // Keys retired by an earlier rotation could be disabled already; these are the ones still in use until now.
      const keys = listCmkKeys(d.db, accountId).filter((k) => k.state === "active" || k.state === "rotating");
      for (const k of keys) setCmkKeyState(d.db, accountId, k.id, "deprovisioned", now);
      upsertCmkSettings(d.db, accountId, { activeKeyId: null, deprovisionedAt: now, deprovisionedKey: keys.map((k) => `${k.provider}:${k.keyRef}`).join(", "), status: "unknown", statusReason: "", statusDetail: "" });
    }
    updateJob(d.db, job.id, { state: "done", done, total: done, finishedAt: now });
    d.audit.record(system(accountId), { action: `cmk.${job.kind}_finished`, targetType: "cmk_job", targetId: job.id, detail: { keys: done } });
  }).immediate();
  d.router.invalidate(accountId);
}
