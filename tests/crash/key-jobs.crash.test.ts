// Crash test (issue 4, SECURITY-TESTS "crash during rotation, rewrap, re-encryption, backup,
// audit append"): the compiled binary is SIGKILLed at random moments while it re-wraps every
// data key from the local key file to a SoftHSM2 token, while it rotates data keys, and while
// the server appends to the audit log. After every kill: PRAGMA integrity_check is "ok", no data
// key row is lost, every key row unwraps under exactly the provider its wrapped_by column names
// (never half-written), and the audit chain verifies. Afterwards the jobs run to completion, the
// local key file is taken away, and every user of every account still decrypts (over HTTP for
// the Owner's account, in-process for all of them).
//
// Randomness is seeded; the seed is printed, and CRASH_SEED=<n> replays a run. Nothing here
// asserts on timing: delays only choose where a kill lands, and the log says where it did.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaults } from "../../src/config/schema.ts";
import { createKeyProvider, type KeyProvider } from "../../src/crypto/kms/index.ts";
import { assemble } from "../../src/main.ts";
import { silentLogger } from "../../src/shared/logger.ts";
import { freePorts, removeDir, requireBinary, runCli, startConclave, tempDir, type ConclaveServer } from "../support/conclave.ts";
import { checkDb, inviteMany, openLocal, rng, seedAccounts, spawnConclave, withDb, type ExpectedUser, type SeededAccount } from "../support/crash-helpers.ts";
import { completeSetup, signIn, WebClient } from "../support/http.ts";
import { startSoftHsm, type SoftHsm, type SoftHsmToken } from "../support/softhsm.ts";

// A generous limit for a slow machine; nothing asserts on timing.
setDefaultTimeout(120_000);

const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const R = rng(SEED);

const OWNER = { organisation: "Crash Test Org", ownerName: "Crash Owner", ownerEmail: "owner@crash.test", password: "Crash-Owner-Pass-2026!" };
const SEED_PASSWORD = "Seed-Owner-Pass-2026!";
/** Bounded iteration counts. */
const REWRAP_KILLS = 8;
const ROTATE_KILLS = 3;
const REENCRYPT_KILLS = 4;
const AUDIT_KILLS = 3;
const SEED_ACCOUNTS = 80;
const SEED_ROTATIONS = 4;

let hsm: SoftHsm;
let token: SoftHsmToken;
let work = "";
let dataDir = "";
let dbPath = "";
let pkcs11Env: Record<string, string> = {};
let pinFile = "";
let ownerAccountId = "";
let ownerUsers: ExpectedUser[] = [];
let seeded: SeededAccount[] = [];
/** Every data key id with its wrapped form as the local key file wrapped it (before any rewrap). */
let originalWrapped = new Map<string, string>();
let server: ConclaveServer | undefined;

/** KeyRow is a data_keys row as the checks read it. */
interface KeyRow {
  id: string;
  account_id: string;
  data_class: string;
  version: number;
  wrapped: string;
  wrapped_by: string;
  status: string;
}

const readKeys = (): KeyRow[] => withDb(dbPath, (db) => db.query("SELECT id, account_id, data_class, version, wrapped, wrapped_by, status FROM data_keys").all() as KeyRow[]);
const providerOf = (wrappedBy: string): string => wrappedBy.slice(0, wrappedBy.indexOf(":"));
/** keyContext is the AAD a data key is wrapped under (frozen format, as the key service builds it). */
const keyContext = (r: KeyRow): Record<string, string> => ({ account: r.account_id, dataClass: r.data_class, dek: r.id, version: String(r.version) });

function pkcs11Options(createKeyIfMissing: boolean) {
  return {
    dataDir,
    localKeyFile: join(dataDir, "keys", "local.key"),
    pkcs11: { module: hsm.module, tokenLabel: token.label, keyLabel: "conclave-kek", pinFile, createKeyIfMissing },
  };
}

/**
 * verifyKeys checks every data key row: it unwraps under the provider its wrapped_by names (local
 * rows also still hold exactly the bytes the local key file wrapped), and no row is "destroyed".
 * Returns the count per provider.
 */
async function verifyKeys(rows: KeyRow[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[providerOf(r.wrapped_by)] = (counts[providerOf(r.wrapped_by)] ?? 0) + 1;
  expect(rows.filter((r) => r.status === "destroyed")).toEqual([]);
  expect(Object.keys(counts).filter((p) => p !== "local" && p !== "pkcs11")).toEqual([]);
  const failures: string[] = [];
  const check = async (provider: KeyProvider, which: string): Promise<void> => {
    for (const r of rows.filter((x) => providerOf(x.wrapped_by) === which)) {
      try {
        const key = await provider.unwrap(Buffer.from(r.wrapped, "base64"), keyContext(r));
        if (key.length !== 32) failures.push(`${r.id}: ${which} unwrap gave ${key.length} bytes`);
        key.fill(0);
      } catch (e) {
        failures.push(`${r.id} (${r.wrapped_by}): ${(e as Error).message}`);
      }
    }
  };
  if (counts.local) {
    for (const r of rows.filter((x) => providerOf(x.wrapped_by) === "local")) {
      const before = originalWrapped.get(r.id);
      if (before !== undefined && before !== r.wrapped) failures.push(`${r.id}: marked local but its wrapped bytes changed`);
    }
    const local = await createKeyProvider("local", { dataDir, localKeyFile: join(dataDir, "keys", "local.key") });
    await check(local, "local");
  }
  if (counts.pkcs11) {
    // The binary created the token key on its first start; open it without creating one.
    const p = await createKeyProvider("pkcs11", pkcs11Options(false));
    try {
      await check(p, "pkcs11");
    } finally {
      await p.close?.();
    }
  }
  expect(failures).toEqual([]);
  return counts;
}

/** auditVerify runs `conclave audit verify` and expects exit 0. */
async function expectAuditVerifies(): Promise<string> {
  const r = await runCli(["audit", "verify", "--data-dir", dataDir], { cwd: work });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return r.stdout.trim();
}

/** expectIntact runs integrity_check and returns the keys; ids of `before` must all still be there. */
function expectIntact(before: KeyRow[]): KeyRow[] {
  const c = checkDb(dbPath);
  expect(c.integrity).toBe("ok");
  expect(c.keys.duplicateActive).toBe(0);
  const rows = readKeys();
  const ids = new Set(rows.map((r) => r.id));
  expect(before.filter((r) => !ids.has(r.id)).map((r) => r.id)).toEqual([]);
  expect(rows.length).toBeGreaterThanOrEqual(before.length);
  return rows;
}

type KillPlan = { kind: "from-spawn"; ms: number } | { kind: "after-progress"; ms: number } | { kind: "at-count"; target: number };

/**
 * runAndKill starts `conclave <args>` and SIGKILLs it according to `plan`; `progress(db)` reads the
 * job's progress from the database through a connection held open for the whole run (as a
 * monitoring tool would). Returns whether the process had already exited by itself (and with
 * which code) when the kill was due.
 */
async function runAndKill(args: string[], plan: KillPlan, progress: (db: Database) => number): Promise<{ exitedFirst: boolean; code: number; stderr: string }> {
  const db = new Database(dbPath, { readwrite: true });
  try {
    const start = progress(db);
    const child = spawnConclave([...args, "--data-dir", dataDir], { cwd: work, env: pkcs11Env });
    let exited = false;
    void child.proc.exited.then(() => (exited = true));
    // A bound so a hung child cannot hang the test (not a timing assertion: it is killed either way).
    const deadline = Date.now() + 30_000;
    if (plan.kind === "from-spawn") await Bun.sleep(plan.ms);
    else {
      // Poll until the job has moved (or reached the target count).
      const reached = (n: number): boolean => (plan.kind === "at-count" ? n >= plan.target : n > start);
      while (!exited && Date.now() < deadline && !reached(progress(db))) await Bun.sleep(1);
      if (plan.kind === "after-progress" && !exited) await Bun.sleep(plan.ms);
    }
    const exitedFirst = exited;
    if (!exitedFirst) child.proc.kill("SIGKILL");
    const code = await child.proc.exited;
    const { stderr } = await child.output;
    return { exitedFirst, code, stderr };
  } finally {
    db.close();
  }
}

/** countWhere counts data keys matching a SQL condition. */
function countWhere(cond: string): (db: Database) => number {
  return (db) => (db.query(`SELECT count(*) AS n FROM data_keys WHERE ${cond}`).get() as { n: number }).n;
}
const countNow = (f: (db: Database) => number): number => withDb(dbPath, f);

beforeAll(async () => {
  requireBinary();
  console.log(`crash test seed: CRASH_SEED=${SEED}`);
  hsm = startSoftHsm();
  token = hsm.initToken("conclave-crash");
  work = tempDir("conclave-crash-");
  dataDir = join(work, "data");
  dbPath = join(dataDir, "conclave.db");
  pinFile = join(work, "pin");
  writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
  chmodSync(pinFile, 0o600);
  pkcs11Env = {
    ...hsm.env,
    CONCLAVE_KEYS_PROVIDER: "pkcs11",
    CONCLAVE_PKCS11_MODULE: hsm.module,
    CONCLAVE_PKCS11_TOKEN_LABEL: token.label,
    CONCLAVE_PKCS11_PIN_FILE: pinFile,
    CONCLAVE_PKCS11_CREATE_KEY: "true",
  };

  // 1. A real data directory: setup through the pages of the binary (local key file) …
  const first = await startConclave({ cwd: work, dataDir });
  await completeSetup(new WebClient(first.baseUrl), await first.setupUrl(), OWNER);
  expect(await first.stop()).toBe(0);

  // … then many accounts, users and key versions through the real modules while it is stopped.
  const c = await openLocal(dataDir);
  try {
    ownerAccountId = (c.db.$client.query("SELECT id FROM accounts").get() as { id: string }).id;
    ownerUsers = [{ email: OWNER.ownerEmail, name: OWNER.ownerName }, ...(await inviteMany(c, ownerAccountId, "crash-member", 20))];
    seeded = await seedAccounts(c, SEED_ACCOUNTS, SEED_ROTATIONS, SEED_PASSWORD);
  } finally {
    c.close();
  }
  const rows = readKeys();
  originalWrapped = new Map(rows.map((r) => [r.id, r.wrapped]));
  console.log(`seeded: ${seeded.length + 1} accounts, ${checkDb(dbPath).users} users, ${rows.length} data keys (all local: ${rows.every((r) => providerOf(r.wrapped_by) === "local")})`);
});

afterAll(async () => {
  await server?.stop();
  hsm?.close();
  removeDir(work);
});

describe("kill -9 during key jobs", () => {
  test("rewrap local key file → PKCS#11 (SoftHSM2), killed at random moments, resumes and finishes", async () => {
    let before = readKeys();
    expect(before.length).toBeGreaterThan(400);
    expect(before.every((r) => providerOf(r.wrapped_by) === "local")).toBe(true);
    const total = before.length;
    const rewrapped = countWhere("wrapped_by LIKE 'pkcs11:%'");
    const log: string[] = [];
    let midJob = 0;

    for (let i = 0; i < REWRAP_KILLS; i++) {
      const done = countNow(rewrapped);
      const left = REWRAP_KILLS - i;
      // Two kills at a random time from spawn (start-up: migrations, module load, key creation, or
      // early in the job); the rest once the job is running, a few ms in or at a random key count.
      const plan: KillPlan =
        i === 0 ? { kind: "from-spawn", ms: R.int(5, 150) }
        : i === 1 ? { kind: "from-spawn", ms: R.int(150, 450) }
        : i % 2 === 0 ? { kind: "after-progress", ms: R.int(0, 25) }
        : { kind: "at-count", target: done + R.int(1, Math.max(1, Math.floor((total - done) / left))) };
      // Every third run is the server itself, which re-wraps at start before it listens.
      const ports = freePorts(2);
      const args = i % 3 === 2 ? ["serve", "--https-port", String(ports[0]), "--http-port", String(ports[1]), "--bind", "127.0.0.1"] : ["keys", "rewrap"];
      const r = await runAndKill(args, plan, rewrapped);

      const rows = expectIntact(before);
      expect(rows.length).toBe(total); // a rewrap neither adds nor loses a key
      const counts = await verifyKeys(rows);
      const now = counts.pkcs11 ?? 0;
      const where = r.exitedFirst ? `exited by itself (code ${r.code})` : now === done ? "before the job moved" : now === total ? "after the last key" : "MID-JOB";
      if (!r.exitedFirst && now > done && now < total) midJob++;
      log.push(`#${i} ${args[0]} ${args[1] ?? ""} ${JSON.stringify(plan)}: pkcs11 ${done} → ${now} of ${total} (local ${counts.local ?? 0}); ${where}`);
      if (r.exitedFirst) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: r.stderr });
      before = rows;
    }
    console.log(`rewrap kills:\n  ${log.join("\n  ")}`);
    expect(midJob).toBeGreaterThan(0);

    // The job finishes: a last run exits 0 and leaves every key under the HSM.
    const fin = await runCli(["keys", "rewrap", "--data-dir", dataDir], { cwd: work, env: pkcs11Env });
    expect({ code: fin.code, stderr: fin.stderr.split("\n").filter((l) => l && !/^rewrapping data keys/.test(l)) }).toEqual({ code: 0, stderr: [] });
    expect(fin.stdout).toMatch(/\d+ data key\(s\) rewrapped under pkcs11:/);
    const rows = expectIntact(before);
    expect(rows.length).toBe(total);
    expect(await verifyKeys(rows)).toEqual({ pkcs11: total });
    console.log(`rewrap finished: ${fin.stdout.trim()}`);
    await expectAuditVerifies();

    // Every rewrapped key is accounted for in the audit log (DESIGN: every key event is audited),
    // including those re-wrapped by runs that were killed before the end of the job.
    const audited = withDb(dbPath, (db) =>
      (db.query("SELECT count(DISTINCT target_id) AS n FROM audit_log WHERE action = 'key.rewrap'").get() as { n: number }).n,
    );
    console.log(`keys re-wrapped: ${total}; keys counted by key.rewrap audit entries: ${audited}`);
    expect(audited).toBe(total);
  });

  test("keys rotate under PKCS#11, killed at random key counts, resumes and finishes", async () => {
    let before = readKeys();
    const retired = countWhere("status = 'retired'");
    const log: string[] = [];
    for (let i = 0; i < ROTATE_KILLS; i++) {
      const done = countNow(retired);
      const active = before.filter((r) => r.status === "active" && r.data_class !== "blind_index").length;
      const r = await runAndKill(["keys", "rotate"], { kind: "at-count", target: done + R.int(1, Math.max(1, Math.floor(active / 2))) }, retired);
      const rows = expectIntact(before);
      // Retired keys stay retired; a key never changes provider or bytes here.
      const byId = new Map(rows.map((x) => [x.id, x]));
      expect(before.filter((b) => b.status === "retired" && byId.get(b.id)?.status !== "retired").map((b) => b.id)).toEqual([]);
      expect(before.filter((b) => byId.get(b.id)?.wrapped !== b.wrapped).map((b) => b.id)).toEqual([]);
      const counts = await verifyKeys(rows);
      expect(counts).toEqual({ pkcs11: rows.length });
      log.push(`#${i}: retired ${done} → ${countNow(retired)} (keys ${before.length} → ${rows.length}); ${r.exitedFirst ? `exited by itself (code ${r.code})` : "killed"}`);
      before = rows;
      await expectAuditVerifies();
    }
    console.log(`rotate kills:\n  ${log.join("\n  ")}`);
    const fin = await runCli(["keys", "rotate", "--data-dir", dataDir], { cwd: work, env: pkcs11Env });
    expect({ code: fin.code, out: fin.stdout }).toMatchObject({ code: 0, out: expect.stringMatching(/data key\(s\) retired/) });
    const rows = expectIntact(before);
    expect(await verifyKeys(rows)).toEqual({ pkcs11: rows.length });

    // Every retired key has its rotation in the audit log (DESIGN: every key event is audited).
    const unaudited = withDb(dbPath, (db) =>
      db
        .query("SELECT id FROM data_keys k WHERE status = 'retired' AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'key.dek_rotated' AND a.target_id = k.id)")
        .all() as { id: string }[],
    );
    // … and every account key created by a (killed) start has its key.dek_created entry.
    const uncreated = withDb(dbPath, (db) =>
      db
        .query("SELECT id FROM data_keys k WHERE account_id <> 'server' AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'key.dek_created' AND a.target_id = k.id)")
        .all() as { id: string }[],
    );
    console.log(`retired keys without a key.dek_rotated audit entry: ${unaudited.length}; keys without key.dek_created: ${uncreated.length}`);
    expect({ unaudited, uncreated }).toEqual({ unaudited: [], uncreated: [] });
    await expectAuditVerifies();
  });

  test("keys reencrypt (values under retired keys → current keys), killed at random moments, resumes and finishes", async () => {
    type Sealed = { id: string; email_sealed: string; name_sealed: string };
    const readUsers = (db: Database): Sealed[] => db.query("SELECT id, email_sealed, name_sealed FROM users").all() as Sealed[];
    const original = new Map(withDb(dbPath, readUsers).map((u) => [u.id, u]));
    // Progress: users whose sealed e-mail has been re-sealed (changed) so far.
    const moved = (db: Database): number => readUsers(db).filter((u) => original.get(u.id)?.email_sealed !== u.email_sealed).length;
    const keysBefore = readKeys();
    const log: string[] = [];
    for (let i = 0; i < REENCRYPT_KILLS; i++) {
      const done = countNow(moved);
      const plan: KillPlan = i % 2 ? { kind: "after-progress", ms: R.int(1, 20) } : { kind: "at-count", target: done + R.int(1, 40) };
      const r = await runAndKill(["keys", "reencrypt"], plan, moved);
      expectIntact(keysBefore);
      // Never lost, never half-written: every value is still a sealed value, either the old one or a new one.
      const now = withDb(dbPath, readUsers);
      expect(now.length).toBe(original.size);
      expect(now.filter((u) => !u.email_sealed.startsWith("c1:") || !u.name_sealed.startsWith("c1:")).map((u) => u.id)).toEqual([]);
      log.push(`#${i} ${JSON.stringify(plan)}: users re-sealed ${done} → ${countNow(moved)} of ${original.size}; ${r.exitedFirst ? `exited by itself (code ${r.code})` : "killed"}`);
    }
    console.log(`reencrypt kills:\n  ${log.join("\n  ")}`);
    const fin = await runCli(["keys", "reencrypt", "--data-dir", dataDir], { cwd: work, env: pkcs11Env });
    expect({ code: fin.code, out: fin.stdout }).toMatchObject({ code: 0, out: expect.stringMatching(/value\(s\) re-encrypted/) });
    // Finished: a second run finds nothing left under a retired key.
    const again = await runCli(["keys", "reencrypt", "--data-dir", dataDir], { cwd: work, env: pkcs11Env });
    expect({ code: again.code, out: again.stdout.trim() }).toEqual({ code: 0, out: "0 value(s) re-encrypted under the current data keys." });
    expect(countNow(moved)).toBe(original.size);
    const entries = withDb(dbPath, (db) => (db.query("SELECT count(*) AS n FROM audit_log WHERE action = 'key.values_reencrypted'").get() as { n: number }).n);
    expect(entries).toBeGreaterThan(0);
    await expectAuditVerifies();
    // The next test decrypts every one of them (over HTTP and in-process) without the local key file.
  });

  test("without the local key file every row decrypts: over HTTP as the Owner, and every account in-process", async () => {
    renameSync(join(dataDir, "keys", "local.key"), join(work, "local.key.removed"));
    server = await startConclave({ cwd: work, dataDir, env: pkcs11Env });
    const owner = new WebClient(server.baseUrl);
    const signed = await signIn(owner, OWNER.ownerEmail, OWNER.password);
    expect(signed.status).toBe(303);
    const res = await owner.get("/api/v1/users");
    expect(res.status).toBe(200);
    const got = (JSON.parse(res.html) as { users: ExpectedUser[] }).users.map((u) => ({ email: u.email, name: u.name }));
    const sort = (a: ExpectedUser[]) => [...a].sort((x, y) => x.email.localeCompare(y.email));
    expect(sort(got)).toEqual(sort(ownerUsers));
    expect(await server.stop()).toBe(0);
    server = undefined;

    // Every account, through the real composition root on the HSM only.
    const config = defaults();
    config.server.data_dir = dataDir;
    config.keys.provider = "pkcs11";
    Object.assign(config.pkcs11, { module: hsm.module, token_label: token.label, pin_file: pinFile, create_key: false });
    const c = await assemble(config, silentLogger);
    try {
      const unreadable: string[] = [];
      for (const a of [{ accountId: ownerAccountId, users: ownerUsers }, ...seeded]) {
        const users = (await c.auth.users.list(a.accountId)).map((u) => ({ email: u.email, name: u.name }));
        expect(sort(users)).toEqual(sort(a.users));
        for (const e of await c.audit.list({ accountId: a.accountId, limit: 5000 })) if (e.details.startsWith("(unreadable")) unreadable.push(`${a.accountId}/${e.id} ${e.action}`);
      }
      expect(unreadable).toEqual([]);
    } finally {
      await c.keyProvider.close?.();
      c.close();
    }
    expect(existsSync(join(dataDir, "keys", "local.key"))).toBe(false);
    console.log(`audit verify: ${await expectAuditVerifies()}`);
  });

  test("kill -9 mid-burst of audited writes (group creation): the chain verifies and every group has its entry", async () => {
    const log: string[] = [];
    for (let i = 0; i < AUDIT_KILLS; i++) {
      const s = await startConclave({ cwd: work, dataDir, env: pkcs11Env });
      server = s;
      const client = new WebClient(s.baseUrl);
      expect((await signIn(client, OWNER.ownerEmail, OWNER.password)).status).toBe(303);
      expect((await client.get("/admin/groups")).status).toBe(200);
      const burst = 40;
      const killAfter = R.int(1, burst - 5);
      let answered = 0;
      let ok = 0;
      const posts = Array.from({ length: burst }, (_, j) =>
        client.post("/admin/groups", { name: `burst ${i}-${j}`, description: `crash burst ${i}` }).then(
          (p) => {
            answered++;
            if (p.status === 303) ok++;
            if (answered === killAfter) s.proc.kill("SIGKILL");
          },
          () => undefined, // requests in flight when the server died
        ),
      );
      await Promise.all(posts);
      await s.stop();
      server = undefined;

      const c = checkDb(dbPath);
      expect(c.integrity).toBe("ok");
      const { groups, entries, orphans, missing } = withDb(dbPath, (db) => ({
        groups: (db.query("SELECT count(*) AS n FROM groups WHERE name LIKE ?").get(`burst ${i}-%`) as { n: number }).n,
        entries: (db.query("SELECT count(*) AS n FROM audit_log WHERE action = 'group.create' AND target_id IN (SELECT id FROM groups WHERE name LIKE ?)").get(`burst ${i}-%`) as { n: number }).n,
        orphans: (db.query("SELECT count(*) AS n FROM audit_log a WHERE a.action = 'group.create' AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = a.target_id)").get() as { n: number }).n,
        missing: (db.query("SELECT count(*) AS n FROM groups g WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'group.create' AND a.target_id = g.id)").get() as { n: number }).n,
      }));
      // Acknowledged writes survived; group and entry were written together or not at all.
      expect(groups).toBeGreaterThanOrEqual(ok);
      expect({ entries, orphans, missing }).toEqual({ entries: groups, orphans: 0, missing: 0 });
      log.push(`#${i}: killed after ${killAfter} of ${burst} answers (${ok} acknowledged); ${groups} groups stored, audit ${c.auditEntries} entries`);
      await expectAuditVerifies();
    }
    console.log(`audit-append kills:\n  ${log.join("\n  ")}`);

    // And it starts and serves again afterwards.
    const s = await startConclave({ cwd: work, dataDir, env: pkcs11Env });
    server = s;
    expect((await signIn(new WebClient(s.baseUrl), OWNER.ownerEmail, OWNER.password)).status).toBe(303);
    expect(await s.stop()).toBe(0);
    server = undefined;
  });
});
