import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { AppError } from "../shared/errors.ts";
import { embeddedMigrations } from "./migrations.gen.ts";
import * as schema from "./schema.ts";

/** Db is the drizzle handle every repository receives. */
export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

/** CONCLAVE_APPLICATION_ID marks a SQLite file as Conclave's (PRAGMA application_id, "Cncl"). */
export const CONCLAVE_APPLICATION_ID = 0x436e636c;

/** SCHEMA_VERSION is the number of migrations this binary carries. */
export const SCHEMA_VERSION = embeddedMigrations.length;

/** DbInfo describes an existing database file without changing it. */
export interface DbInfo {
  exists: boolean;
  applicationId: number;
  schemaVersion: number;
  tableCount: number;
}

const SQLITE_MAGIC = "SQLite format 3\0";

/** inspectDatabase reads a database file's identity read-only; it never writes to it. */
export function inspectDatabase(path: string): DbInfo {
  if (!existsSync(path) || statSync(path).size === 0) return { exists: false, applicationId: 0, schemaVersion: 0, tableCount: 0 };
  const fd = openSync(path, "r");
  const header = Buffer.alloc(100);
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (header.subarray(0, 16).toString("latin1") !== SQLITE_MAGIC)
    throw new AppError("unavailable", `${path} is not a SQLite database, so it is not Conclave's. Point --data-dir at an empty directory or at a Conclave data directory; the file was left untouched.`);
  // Without a WAL file every committed change is in the main file: read the header fields and
  // open nothing (opening, even read-only, would create -wal/-shm files beside a foreign file).
  if (!existsSync(`${path}-wal`)) {
    const schemaCookie = header.readUInt32BE(40);
    return { exists: true, applicationId: header.readInt32BE(68), schemaVersion: header.readInt32BE(60), tableCount: schemaCookie === 0 ? 0 : 1 };
  }
  // A WAL file exists (a running or crashed writer): ask SQLite, which reads the WAL too.
  const db = new Database(path, { readonly: true });
  try {
    const appId = (db.query("PRAGMA application_id").get() as { application_id: number }).application_id;
    const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    const tables = (db.query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
    return { exists: true, applicationId: appId, schemaVersion: version, tableCount: tables };
  } finally {
    db.close();
  }
}

/** checkOpenable refuses files that are not Conclave's or are newer than this binary. */
export function checkOpenable(path: string, info: DbInfo): void {
  if (!info.exists) return;
  if (info.applicationId !== CONCLAVE_APPLICATION_ID && info.tableCount > 0)
    throw new AppError("unavailable", `${path} is a SQLite database but not a Conclave one (application_id ${info.applicationId}). Refusing to open it; the file was left untouched.`);
  if (info.schemaVersion > SCHEMA_VERSION)
    throw new AppError("unavailable", `${path} was written by a newer Conclave (schema ${info.schemaVersion}; this binary knows up to ${SCHEMA_VERSION}). Run the newer binary or restore a backup; the file was left untouched.`);
}

/** OpenResult reports what opening did. */
export interface OpenResult {
  db: Db;
  created: boolean;
  applied: number;
}

/** openDatabase checks, opens (WAL), and migrates the database; `migrate: false` skips migrating. */
export function openDatabase(path: string, opts: { migrate?: boolean } = {}): OpenResult {
  const info = inspectDatabase(path);
  checkOpenable(path, info);
  const client = new Database(path, { create: true, readwrite: true, strict: true });
  client.exec("PRAGMA journal_mode = WAL");
  client.exec("PRAGMA synchronous = NORMAL");
  client.exec("PRAGMA foreign_keys = ON");
  client.exec("PRAGMA busy_timeout = 5000");
  const db = drizzle({ client, schema }) as Db;
  let applied = 0;
  if (opts.migrate !== false) applied = migrate(db);
  return { db, created: !info.exists, applied };
}

/** pendingMigrations counts migrations the database has not yet applied. */
export function pendingMigrations(db: Db): number {
  const v = (db.$client.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  return SCHEMA_VERSION - v;
}

/** migrate applies the embedded migrations and stamps the file as Conclave's; returns how many ran. */
export function migrate(db: Db): number {
  const before = pendingMigrations(db);
  if (before <= 0) return 0;
  const migrations = embeddedMigrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
  // The same entries drizzle's readMigrationFiles builds from the folder, so either path agrees.
  (db as unknown as { dialect: { migrate(m: unknown, s: unknown, c: unknown): void }; session: unknown }).dialect.migrate(
    migrations,
    (db as unknown as { session: unknown }).session,
    {},
  );
  db.$client.exec(`PRAGMA application_id = ${CONCLAVE_APPLICATION_ID}`);
  db.$client.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  return before;
}

/** dbHealthy runs a trivial query; used by /readyz. */
export function dbHealthy(db: Db): boolean {
  try {
    return (db.$client.query("SELECT 1 AS ok").get() as { ok: number }).ok === 1;
  } catch {
    return false;
  }
}
