import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { createAuditLog } from "../audit/audit-log.ts";
import { resetOwnerPassword as resetOwner } from "../auth/signin.ts";
import type { Config } from "../config/schema.ts";
import { AppError } from "../shared/errors.ts";
import { systemClock } from "../shared/clock.ts";
import { createLogger } from "../shared/logger.ts";
import { inspectDatabase, checkOpenable, openDatabase, pendingMigrations, SCHEMA_VERSION } from "../storage/db.ts";
import type { Root } from "./root.ts";

/** migrateOnly creates or upgrades the database and reports what it did. */
export function migrateOnly(root: Root, config: Config): number {
  const paths = root.pathsOf(config);
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const { db, created, applied } = openDatabase(paths.db);
  db.$client.close();
  console.log(`${created ? "created" : "opened"} ${paths.db}: ${applied} migration(s) applied; schema version ${SCHEMA_VERSION}`);
  return 0;
}

/** auditVerify walks the operation log's hash chain; exit 1 names the first broken entry. */
export function auditVerify(root: Root, config: Config): number {
  const paths = root.pathsOf(config);
  const info = inspectDatabase(paths.db);
  if (!info.exists) {
    console.error(`conclave: no database at ${paths.db}. Check --data-dir.`);
    return 1;
  }
  checkOpenable(paths.db, info);
  const { db } = openDatabase(paths.db, { migrate: false });
  try {
    if (pendingMigrations(db) > 0) {
      console.error(`conclave: the database needs migrating first (run conclave migrate --data-dir ${paths.dataDir}).`);
      return 1;
    }
    const r = createAuditLog(db, systemClock).verify();
    if (r.ok) {
      console.log(`audit chain OK: ${r.checked} entries verified`);
      return 0;
    }
    console.error(`audit chain BROKEN at entry #${r.brokenSeq} (id ${r.brokenId}): ${r.reason}. ${r.checked} entries before it verified.`);
    return 1;
  } finally {
    db.$client.close();
  }
}

async function readPassword(): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  const tty = process.stdin.isTTY;
  if (tty) process.stderr.write("New password (input is not hidden; prefer piping it in): ");
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return "";
}

/** resetOwnerPassword sets an Owner's password from stdin (never a flag: it would sit in shell history). */
export async function resetOwnerPassword(root: Root, config: Config, email: string): Promise<number> {
  if (!email) {
    console.error("conclave: give the Owner's e-mail address: conclave admin reset-owner-password --email owner@example.org (the password is read from stdin)");
    return 2;
  }
  const password = await readPassword();
  const c = await root.assemble(config, createLogger({ level: "warn" }));
  try {
    const user = await resetOwner(c.auth, email, password);
    console.log(`password reset for ${user.email}; their sessions were ended. The change is in the operation log.`);
    return 0;
  } catch (e) {
    if (e instanceof AppError) {
      console.error(`conclave: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    c.close();
  }
}
