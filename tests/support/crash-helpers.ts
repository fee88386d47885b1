// Helpers for crash tests: seeding a data directory with many accounts, users and data keys
// through the real composition root (in-process, while no server runs), reading the database
// behind the binary's back, a seeded PRNG (so a failing run can be replayed), and spawning the
// binary so it can be SIGKILLed at a chosen moment.

import { Database } from "bun:sqlite";
import type { Subprocess } from "bun";
import { createAccountWithOwner } from "../../src/accounts/account-setup.ts";
import type { Actor } from "../../src/accounts/actor.ts";
import { ALL_PERMISSIONS } from "../../src/accounts/permissions.ts";
import { inviteUser } from "../../src/accounts/users.ts";
import { defaults, type Config } from "../../src/config/schema.ts";
import { assemble, type Conclave } from "../../src/main.ts";
import { silentLogger } from "../../src/shared/logger.ts";
import { cleanEnv, requireBinary } from "./conclave.ts";

/** rng is a small seeded PRNG (mulberry32); `int(lo, hi)` is inclusive. */
export function rng(seed: number): { next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** localConfig is the default configuration (local key provider) on a data directory. */
export function localConfig(dataDir: string): Config {
  const c = defaults();
  c.server.data_dir = dataDir;
  c.log.level = "error";
  return c;
}

/** openLocal assembles the app in-process on a data directory with the local key provider. */
export function openLocal(dataDir: string): Promise<Conclave> {
  return assemble(localConfig(dataDir), silentLogger);
}

/** ExpectedUser is a user as created, in the clear. */
export interface ExpectedUser {
  email: string;
  name: string;
}

/** ownerActor builds the Owner's actor of an account (for calling the accounts module directly). */
export function ownerActor(c: Conclave, accountId: string): Actor {
  const row = c.db.$client
    .query("SELECT u.id AS id, u.role_id AS roleId FROM users u JOIN roles r ON r.id = u.role_id WHERE u.account_id = ? AND r.kind = 'owner'")
    .get(accountId) as { id: string; roleId: string } | null;
  if (!row) throw new Error(`account ${accountId} has no owner`);
  return { accountId, userId: row.id, label: "crash-test seed", roleId: row.roleId, roleKind: "owner", permissions: new Set(ALL_PERMISSIONS), ip: "127.0.0.1", userAgent: "crash-test" };
}

/** inviteMany invites `n` users into an account as its Owner; returns them in the clear. */
export async function inviteMany(c: Conclave, accountId: string, prefix: string, n: number): Promise<ExpectedUser[]> {
  const actor = ownerActor(c, accountId);
  const out: ExpectedUser[] = [];
  for (let i = 0; i < n; i++) {
    const u = { email: `${prefix}-${i}@crash.test`, name: `${prefix} Person ${i}` };
    await inviteUser(c.auth, actor, { ...u, roleId: "", groupIds: [] }, { baseUrl: "https://localhost", organisation: prefix });
    out.push(u);
  }
  return out;
}

/** SeededAccount is one extra account the seed made. */
export interface SeededAccount {
  accountId: string;
  users: ExpectedUser[];
}

/**
 * seedAccounts creates `n` accounts on a stopped data directory: an Owner, then `rotations`
 * times a rotation of the account's personal-data key followed by an invited user, so every
 * account holds `rotations` retired user_pii keys, an active one, and its audit key.
 */
export async function seedAccounts(c: Conclave, n: number, rotations: number, password: string): Promise<SeededAccount[]> {
  const out: SeededAccount[] = [];
  const batch = 8; // argon2id hashing dominates; a few at a time use the thread pool
  for (let i = 0; i < n; i += batch) {
    const made = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async (_, j) => {
        const k = i + j;
        const owner = { email: `owner-${k}@seed.crash.test`, name: `Seed Owner ${k}` };
        const { accountId } = await createAccountWithOwner(c.auth, { organisation: `Seed Org ${k}`, ownerName: owner.name, ownerEmail: owner.email, password, confirm: password }, { label: "crash-test seed" });
        return { accountId, owner };
      }),
    );
    for (const { accountId, owner } of made) {
      const users = [owner];
      for (let r = 0; r < rotations; r++) {
        await c.keys.rotate(accountId, "user_pii");
        users.push(...(await inviteMany(c, accountId, `seed-${accountId.slice(0, 8)}-${r}`, 1)));
      }
      out.push({ accountId, users });
    }
  }
  return out;
}

/** KeyCounts summarises the data_keys table. */
export interface KeyCounts {
  total: number;
  byProvider: Record<string, number>;
  byStatus: Record<string, number>;
  /** (account, class) pairs with more than one active key. */
  duplicateActive: number;
}

/** DbCheck is what the crash test reads after each kill. */
export interface DbCheck {
  integrity: string;
  keys: KeyCounts;
  users: number;
  auditEntries: number;
}

/** withDb opens the database (read-write so WAL recovery can run, as the next start would) and closes it. */
export function withDb<T>(path: string, fn: (db: Database) => T): T {
  const db = new Database(path, { readwrite: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** keyCounts reads the data_keys summary through an open handle. */
export function keyCounts(db: Database): KeyCounts {
  const byProvider: Record<string, number> = {};
  for (const r of db.query("SELECT substr(wrapped_by, 1, instr(wrapped_by, ':') - 1) AS p, count(*) AS n FROM data_keys GROUP BY p").all() as { p: string; n: number }[]) byProvider[r.p] = r.n;
  const byStatus: Record<string, number> = {};
  for (const r of db.query("SELECT status AS s, count(*) AS n FROM data_keys GROUP BY status").all() as { s: string; n: number }[]) byStatus[r.s] = r.n;
  const total = (db.query("SELECT count(*) AS n FROM data_keys").get() as { n: number }).n;
  const duplicateActive = (
    db.query("SELECT count(*) AS n FROM (SELECT account_id, data_class FROM data_keys WHERE status = 'active' GROUP BY account_id, data_class HAVING count(*) > 1)").get() as { n: number }
  ).n;
  return { total, byProvider, byStatus, duplicateActive };
}

/** checkDb runs PRAGMA integrity_check and counts keys, users and audit entries. */
export function checkDb(path: string): DbCheck {
  return withDb(path, (db) => {
    const rows = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
    return {
      integrity: rows.map((r) => r.integrity_check).join("\n"),
      keys: keyCounts(db),
      users: (db.query("SELECT count(*) AS n FROM users").get() as { n: number }).n,
      auditEntries: (db.query("SELECT count(*) AS n FROM audit_log").get() as { n: number }).n,
    };
  });
}

/** Spawned is a running binary whose output is collected. */
export interface Spawned {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output: Promise<{ stdout: string; stderr: string }>;
}

/** spawnConclave starts `dist/conclave ...args` with a clean environment plus `env`. */
export function spawnConclave(args: string[], opts: { cwd: string; env: Record<string, string> }): Spawned {
  const proc = Bun.spawn([requireBinary(), ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]).then(([stdout, stderr]) => ({ stdout, stderr }));
  return { proc, output };
}
