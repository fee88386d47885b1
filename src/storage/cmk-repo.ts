/**
 * Repository of the customer-managed-key tables (schema-cmk.ts). Every query that belongs to an
 * account filters on account_id.
 */
import type { Db } from "./db.ts";
import type { DataKeyRow } from "./data-keys-repo.ts";

/** CmkSettingsRow is an account's CMK choices and observed key status. */
export interface CmkSettingsRow {
  accountId: string;
  activeKeyId: string | null;
  services: string[];
  fallback: boolean;
  dropMeetings: boolean;
  status: string;
  statusReason: string;
  statusDetail: string;
  statusChangedAt: number | null;
  lastCheckedAt: number | null;
  deprovisionAt: number | null;
  deprovisionedAt: number | null;
  deprovisionedKey: string;
}

/** CmkKeyRow is one enrolled key. */
export interface CmkKeyRow {
  id: string;
  accountId: string;
  provider: string;
  keyRef: string;
  replicas: string[];
  state: string;
  createdAt: number;
  createdBy: string | null;
  retiredAt: number | null;
}

/** CmkJobRow is a rotation / deprovisioning / re-seal run. */
export interface CmkJobRow {
  id: string;
  accountId: string;
  kind: string;
  fromKeyId: string | null;
  toKeyId: string | null;
  state: string;
  total: number;
  done: number;
  error: string;
  startedAt: number;
  finishedAt: number | null;
}

/** KeyUsageRow is one recorded wrap or unwrap. */
export interface KeyUsageRow {
  seq: number;
  at: number;
  accountId: string;
  op: string;
  dataClass: string;
  purpose: string;
  userId: string | null;
  slot: string;
  provider: string;
  dekId: string;
  outcome: string;
  detail: string;
}

/** DekSlotName says what wraps a DEK. */
export type DekSlotName = "server" | "cmk" | "fallback";

const SETTINGS_COLS =
  "account_id AS accountId, active_key_id AS activeKeyId, services, fallback, drop_meetings AS dropMeetings, status, status_reason AS statusReason, status_detail AS statusDetail, status_changed_at AS statusChangedAt, last_checked_at AS lastCheckedAt, deprovision_at AS deprovisionAt, deprovisioned_at AS deprovisionedAt, deprovisioned_key AS deprovisionedKey";
const KEY_COLS = "id, account_id AS accountId, provider, key_ref AS keyRef, replicas, state, created_at AS createdAt, created_by AS createdBy, retired_at AS retiredAt";
const JOB_COLS = "id, account_id AS accountId, kind, from_key_id AS fromKeyId, to_key_id AS toKeyId, state, total, done, error, started_at AS startedAt, finished_at AS finishedAt";
const DEK_COLS =
  "d.id, d.account_id AS accountId, d.data_class AS dataClass, d.version, d.wrapped, d.wrapped_by AS wrappedBy, d.status, d.invocations, d.created_at AS createdAt, d.retired_at AS retiredAt";

type RawSettings = Omit<CmkSettingsRow, "services" | "fallback" | "dropMeetings"> & { services: string; fallback: number; dropMeetings: number };

/** cmkSettingsOf returns an account's CMK settings, or null when it never used the CMK pages. */
export function cmkSettingsOf(db: Db, accountId: string): CmkSettingsRow | null {
  const r = db.$client.query(`SELECT ${SETTINGS_COLS} FROM cmk_settings WHERE account_id = ?`).get(accountId) as RawSettings | null;
  return r ? { ...r, services: JSON.parse(r.services) as string[], fallback: r.fallback === 1, dropMeetings: r.dropMeetings === 1 } : null;
}

/** allCmkSettings lists every account's settings (the health probe, start-up). */
export function allCmkSettings(db: Db): CmkSettingsRow[] {
  return (db.$client.query(`SELECT ${SETTINGS_COLS} FROM cmk_settings`).all() as RawSettings[]).map((r) => ({
    ...r, services: JSON.parse(r.services) as string[], fallback: r.fallback === 1, dropMeetings: r.dropMeetings === 1,
  }));
}

/** upsertCmkSettings writes some settings of an account (creating its row). */
export function upsertCmkSettings(db: Db, accountId: string, patch: Partial<Omit<CmkSettingsRow, "accountId">>): void {
  db.$client.query("INSERT OR IGNORE INTO cmk_settings (account_id) VALUES (?)").run(accountId);
  const cols: Record<string, string> = {
    activeKeyId: "active_key_id", services: "services", fallback: "fallback", dropMeetings: "drop_meetings", status: "status", statusReason: "status_reason",
    statusDetail: "status_detail", statusChangedAt: "status_changed_at", lastCheckedAt: "last_checked_at", deprovisionAt: "deprovision_at",
    deprovisionedAt: "deprovisioned_at", deprovisionedKey: "deprovisioned_key",
  };
  const sets: string[] = [];
  const vals: (string | number | null)[] = [];
  for (const [k, v] of Object.entries(patch)) {
    const col = cols[k];
    if (!col || v === undefined) continue;
    sets.push(`${col} = ?`);
    vals.push(Array.isArray(v) ? JSON.stringify(v) : typeof v === "boolean" ? (v ? 1 : 0) : (v as string | number | null));
  }
  if (sets.length) db.$client.query(`UPDATE cmk_settings SET ${sets.join(", ")} WHERE account_id = ?`).run(...vals, accountId);
}

type RawKey = Omit<CmkKeyRow, "replicas"> & { replicas: string };
const key = (r: RawKey): CmkKeyRow => ({ ...r, replicas: JSON.parse(r.replicas) as string[] });

/** insertCmkKey stores an enrolled key reference. */
export function insertCmkKey(db: Db, k: CmkKeyRow): void {
  db.$client
    .query("INSERT INTO cmk_keys (id, account_id, provider, key_ref, replicas, state, created_at, created_by, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .run(k.id, k.accountId, k.provider, k.keyRef, JSON.stringify(k.replicas), k.state, k.createdAt, k.createdBy, k.retiredAt);
}

/** cmkKeyById finds a key of an account (null for foreign or unknown ids). */
export function cmkKeyById(db: Db, accountId: string, id: string): CmkKeyRow | null {
  const r = db.$client.query(`SELECT ${KEY_COLS} FROM cmk_keys WHERE id = ? AND account_id = ?`).get(id, accountId) as RawKey | null;
  return r ? key(r) : null;
}

/** listCmkKeys lists an account's keys, newest first. */
export function listCmkKeys(db: Db, accountId: string): CmkKeyRow[] {
  return (db.$client.query(`SELECT ${KEY_COLS} FROM cmk_keys WHERE account_id = ? ORDER BY created_at DESC, rowid DESC`).all(accountId) as RawKey[]).map(key);
}

/** setCmkKeyState moves a key to another state. */
export function setCmkKeyState(db: Db, accountId: string, id: string, state: string, at: number | null): void {
  db.$client.query("UPDATE cmk_keys SET state = ?, retired_at = ? WHERE id = ? AND account_id = ?").run(state, at, id, accountId);
}

/** activeDataKeyInSlot returns the newest active DEK of an account's class in one slot (server: DEKs with no CMK mark). */
export function activeDataKeyInSlot(db: Db, accountId: string, dataClass: string, slot: DekSlotName, cmkKeyId: string | null): DataKeyRow | undefined {
  const base = `SELECT ${DEK_COLS} FROM data_keys d`;
  const tail = "d.account_id = ? AND d.data_class = ? AND d.status = 'active' ORDER BY d.version DESC LIMIT 1";
  const r =
    slot === "server"
      ? db.$client.query(`${base} WHERE NOT EXISTS (SELECT 1 FROM cmk_data_keys c WHERE c.dek_id = d.id) AND ${tail}`).get(accountId, dataClass)
      : slot === "cmk"
        ? db.$client.query(`${base} JOIN cmk_data_keys c ON c.dek_id = d.id AND c.slot = 'cmk' AND c.cmk_key_id = ? WHERE ${tail}`).get(cmkKeyId ?? "", accountId, dataClass)
        : db.$client.query(`${base} JOIN cmk_data_keys c ON c.dek_id = d.id AND c.slot = 'fallback' WHERE ${tail}`).get(accountId, dataClass);
  return (r as DataKeyRow | null) ?? undefined;
}

/** DekMark is a DEK's CMK mark. */
export interface DekMark {
  dekId: string;
  accountId: string;
  dataClass: string;
  slot: "cmk" | "fallback";
  cmkKeyId: string;
}

/** dekMark returns a DEK's CMK mark, or null for a server-key DEK. */
export function dekMark(db: Db, dekId: string): DekMark | null {
  return db.$client.query("SELECT dek_id AS dekId, account_id AS accountId, data_class AS dataClass, slot, cmk_key_id AS cmkKeyId FROM cmk_data_keys WHERE dek_id = ?").get(dekId) as DekMark | null;
}

/** markDek records (or replaces) a DEK's mark. */
export function markDek(db: Db, m: DekMark, at: number): void {
  db.$client
    .query("INSERT INTO cmk_data_keys (dek_id, account_id, data_class, slot, cmk_key_id, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(dek_id) DO UPDATE SET slot = excluded.slot, cmk_key_id = excluded.cmk_key_id")
    .run(m.dekId, m.accountId, m.dataClass, m.slot, m.cmkKeyId, at);
}

/** unmarkDek makes a DEK a plain server-key DEK again (deprovisioning). */
export function unmarkDek(db: Db, dekId: string): void {
  db.$client.query("DELETE FROM cmk_data_keys WHERE dek_id = ?").run(dekId);
}

/** markedDeks lists an account's marked DEKs (not destroyed) of one slot, optionally of one CMK. */
export function markedDeks(db: Db, accountId: string, slot: "cmk" | "fallback", cmkKeyId?: string): (DataKeyRow & { cmkKeyId: string })[] {
  const byKey = cmkKeyId === undefined ? "" : " AND c.cmk_key_id = ?";
  const args: string[] = cmkKeyId === undefined ? [accountId, slot] : [accountId, slot, cmkKeyId];
  return db.$client
    .query(`SELECT ${DEK_COLS}, c.cmk_key_id AS cmkKeyId FROM data_keys d JOIN cmk_data_keys c ON c.dek_id = d.id WHERE c.account_id = ? AND c.slot = ? AND d.status <> 'destroyed'${byKey} ORDER BY d.created_at`)
    .all(...args) as (DataKeyRow & { cmkKeyId: string })[];
}

/** cmkMarkedIds lists the ids of every DEK wrapped by some CMK (the server-key rewrap skips them). */
export function cmkMarkedIds(db: Db): Set<string> {
  return new Set((db.$client.query("SELECT dek_id AS id FROM cmk_data_keys WHERE slot = 'cmk'").all() as { id: string }[]).map((r) => r.id));
}

/** licensedUsers lists the users of an account holding a CMK licence. */
export function licensedUsers(db: Db, accountId: string): Set<string> {
  return new Set((db.$client.query("SELECT user_id AS id FROM cmk_licences WHERE account_id = ?").all(accountId) as { id: string }[]).map((r) => r.id));
}

/** setLicences replaces an account's licensed users. */
export function setLicences(db: Db, accountId: string, userIds: readonly string[], at: number): void {
  db.$client.query("DELETE FROM cmk_licences WHERE account_id = ?").run(accountId);
  const ins = db.$client.query("INSERT INTO cmk_licences (account_id, user_id, granted_at) VALUES (?, ?, ?)");
  for (const u of userIds) ins.run(accountId, u, at);
}

/** RecipientRow is a stored notification recipient (address sealed). */
export interface RecipientRow {
  id: string;
  accountId: string;
  emailSealed: string;
  emailIndex: string;
  createdAt: number;
}

/** listRecipients lists an account's notification recipients. */
export function listRecipients(db: Db, accountId: string): RecipientRow[] {
  return db.$client
    .query("SELECT id, account_id AS accountId, email_sealed AS emailSealed, email_index AS emailIndex, created_at AS createdAt FROM cmk_recipients WHERE account_id = ? ORDER BY created_at, rowid")
    .all(accountId) as RecipientRow[];
}

/** insertRecipient adds a recipient. */
export function insertRecipient(db: Db, r: RecipientRow): void {
  db.$client.query("INSERT INTO cmk_recipients (id, account_id, email_sealed, email_index, created_at) VALUES (?, ?, ?, ?, ?)").run(r.id, r.accountId, r.emailSealed, r.emailIndex, r.createdAt);
}

/** deleteRecipient removes a recipient of an account; false when there was none with that id. */
export function deleteRecipient(db: Db, accountId: string, id: string): boolean {
  return db.$client.query("DELETE FROM cmk_recipients WHERE id = ? AND account_id = ?").run(id, accountId).changes > 0;
}

/** insertJob starts a job row. */
export function insertJob(db: Db, j: CmkJobRow): void {
  db.$client
    .query("INSERT INTO cmk_jobs (id, account_id, kind, from_key_id, to_key_id, state, total, done, error, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .run(j.id, j.accountId, j.kind, j.fromKeyId, j.toKeyId, j.state, j.total, j.done, j.error, j.startedAt, j.finishedAt);
}

/** updateJob records progress or the end of a job. */
export function updateJob(db: Db, id: string, patch: { state?: string; total?: number; done?: number; error?: string; finishedAt?: number | null }): void {
  const cur = db.$client.query(`SELECT ${JOB_COLS} FROM cmk_jobs WHERE id = ?`).get(id) as CmkJobRow | null;
  if (!cur) return;
  const n = { ...cur, ...patch };
  db.$client.query("UPDATE cmk_jobs SET state = ?, total = ?, done = ?, error = ?, finished_at = ? WHERE id = ?").run(n.state, n.total, n.done, n.error, n.finishedAt, id);
}

/** listJobs lists an account's jobs, newest first. */
export function listJobs(db: Db, accountId: string, limit = 20): CmkJobRow[] {
  return db.$client.query(`SELECT ${JOB_COLS} FROM cmk_jobs WHERE account_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(accountId, limit) as CmkJobRow[];
}

/** jobById finds a job of an account. */
export function jobById(db: Db, accountId: string, id: string): CmkJobRow | null {
  return db.$client.query(`SELECT ${JOB_COLS} FROM cmk_jobs WHERE id = ? AND account_id = ?`).get(id, accountId) as CmkJobRow | null;
}

/** runningJobs lists unfinished jobs of every account (resumed at start). */
export function runningJobs(db: Db): CmkJobRow[] {
  return db.$client.query(`SELECT ${JOB_COLS} FROM cmk_jobs WHERE state = 'running' ORDER BY started_at`).all() as CmkJobRow[];
}

/** insertKeyUsage appends one usage record (the table has no update or delete path). */
export function insertKeyUsage(db: Db, u: Omit<KeyUsageRow, "seq">): void {
  db.$client
    .query("INSERT INTO key_usage (at, account_id, op, data_class, purpose, user_id, slot, provider, dek_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    .run(u.at, u.accountId, u.op, u.dataClass, u.purpose, u.userId, u.slot, u.provider, u.dekId, u.outcome, u.detail);
}

/** KeyUsageFilter narrows the usage report. */
export interface KeyUsageFilter {
  accountId?: string;
  since?: number;
  until?: number;
  dataClass?: string;
  op?: string;
  outcome?: string;
  userId?: string;
  limit?: number;
}

/** listKeyUsage returns usage records, newest first. */
export function listKeyUsage(db: Db, f: KeyUsageFilter): KeyUsageRow[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (sql: string, v: string | number | undefined): void => {
    if (v === undefined || v === "") return;
    where.push(sql);
    args.push(v);
  };
  add("account_id = ?", f.accountId);
  add("at >= ?", f.since);
  add("at < ?", f.until);
  add("data_class = ?", f.dataClass);
  add("op = ?", f.op);
  add("outcome = ?", f.outcome);
  add("user_id = ?", f.userId);
  const w = where.length ? `WHERE ${where.join(" AND ")}` : "";
  return db.$client
    .query(
      `SELECT seq, at, account_id AS accountId, op, data_class AS dataClass, purpose, user_id AS userId, slot, provider, dek_id AS dekId, outcome, detail FROM key_usage ${w} ORDER BY seq DESC LIMIT ?`,
    )
    .all(...args, f.limit ?? 10_000) as KeyUsageRow[];
}

/** accountUserIds lists the ids of an account's users (licences may name only these). */
export function accountUserIds(db: Db, accountId: string): Set<string> {
  return new Set((db.$client.query("SELECT id FROM users WHERE account_id = ?").all(accountId) as { id: string }[]).map((r) => r.id));
}
