import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../shared/errors.ts";
import { CONCLAVE_APPLICATION_ID, dbHealthy, inspectDatabase, openDatabase, pendingMigrations, SCHEMA_VERSION } from "./db.ts";

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-db-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const path = () => join(dir, `db${++n}.db`);
const digest = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

/** refusal runs openDatabase and returns the error it must throw. */
function refusal(p: string): AppError {
  try {
    const r = openDatabase(p);
    r.db.$client.close();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error("openDatabase accepted the file");
}

describe("openDatabase on a new file", () => {
  test("creates the database in WAL mode, applies every migration and stamps it as Conclave's", () => {
    const p = path();
    const { db, created, applied } = openDatabase(p);
    try {
      expect(created).toBe(true);
      expect(applied).toBe(SCHEMA_VERSION);
      expect(SCHEMA_VERSION).toBeGreaterThan(0);
      const q = (s: string) => db.$client.query(s).get() as Record<string, unknown>;
      expect(q("PRAGMA journal_mode").journal_mode).toBe("wal");
      expect(q("PRAGMA application_id").application_id).toBe(CONCLAVE_APPLICATION_ID);
      expect(q("PRAGMA user_version").user_version).toBe(SCHEMA_VERSION);
      expect(q("PRAGMA foreign_keys").foreign_keys).toBe(1);
      expect(pendingMigrations(db)).toBe(0);
      expect(dbHealthy(db)).toBe(true);
      const tables = (db.$client.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      for (const t of ["accounts", "users", "roles", "groups", "group_members", "settings", "sessions", "one_time_tokens", "audit_log"]) expect(tables).toContain(t);
    } finally {
      db.$client.close();
    }
  });

  test("a second open applies nothing and reports the file as existing", () => {
    const p = path();
    openDatabase(p).db.$client.close();
    const again = openDatabase(p);
    try {
      expect(again.created).toBe(false);
      expect(again.applied).toBe(0);
    } finally {
      again.db.$client.close();
    }
  });

  test("an empty (0-byte) file is treated as new", () => {
    const p = path();
    writeFileSync(p, "");
    const r = openDatabase(p);
    expect(r.created).toBe(true);
    r.db.$client.close();
  });
});

describe("openDatabase refuses files that are not Conclave's, leaving them byte-identical", () => {
  test("a file that is not SQLite at all", () => {
    const p = path();
    writeFileSync(p, "these are my holiday notes\n".repeat(100));
    const before = digest(p);
    const e = refusal(p);
    expect(e.message).toContain("is not a SQLite database");
    expect(e.message).toContain("left untouched");
    expect(digest(p)).toBe(before);
    expect(existsSync(`${p}-wal`)).toBe(false);
  });

  test("another application's SQLite database (a table, no application_id)", () => {
    const p = path();
    const other = new Database(p);
    other.run("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
    other.run("INSERT INTO invoices (total) VALUES (12.5), (99)");
    other.close();
    const before = digest(p);
    const e = refusal(p);
    expect(e.message).toContain("is a SQLite database but not a Conclave one");
    expect(e.message).toContain("left untouched");
    expect(digest(p)).toBe(before);
    expect(existsSync(`${p}-wal`)).toBe(false);
    const check = new Database(p, { readonly: true });
    expect(check.query("SELECT count(*) AS n FROM invoices").get()).toEqual({ n: 2 });
    check.close();
  });

  test("a SQLite database with a foreign application_id", () => {
    const p = path();
    const other = new Database(p);
    other.run("PRAGMA application_id = 1234");
    other.run("CREATE TABLE t (x)");
    other.close();
    const before = digest(p);
    expect(refusal(p).message).toContain("application_id 1234");
    expect(digest(p)).toBe(before);
  });

  test("a Conclave database written by a newer binary", () => {
    const p = path();
    openDatabase(p).db.$client.close();
    const raw = new Database(p);
    raw.run(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.run("PRAGMA wal_checkpoint(TRUNCATE)");
    raw.close();
    const before = digest(p);
    const e = refusal(p);
    expect(e.message).toContain("newer Conclave");
    expect(e.message).toContain(`schema ${SCHEMA_VERSION + 1}`);
    expect(e.message).toContain("left untouched");
    expect(digest(p)).toBe(before);
  });
});

describe("inspectDatabase", () => {
  test("reports a missing file as not existing without creating it", () => {
    const p = path();
    expect(inspectDatabase(p)).toEqual({ exists: false, applicationId: 0, schemaVersion: 0, tableCount: 0 });
    expect(existsSync(p)).toBe(false);
  });
});
