// Crash safety of the customer-managed-key rotation job: an account's data keys are wrapped by
// one SoftHSM2 key; a rotation to a second key is left "running" (as if the server had died),
// and `conclave keys rewrap --resume` (the compiled binary) finishes it while being SIGKILLed at
// random moments. After every kill: PRAGMA integrity_check is ok, every data key's wrapped_by
// names the key its CMK mark points at, and the job's progress equals the keys moved. At the end
// the job is done, the old key is retired and can be destroyed, and every value still decrypts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaults, type Config } from "../../src/config/schema.ts";
import { assemble } from "../../src/main.ts";
import { newId } from "../../src/shared/ids.ts";
import { silentLogger } from "../../src/shared/logger.ts";
import { insertCmkKey, insertJob, setCmkKeyState, upsertCmkSettings } from "../../src/storage/cmk-repo.ts";
import type { PersonalContext } from "../../src/storage/personal-data.ts";
import { removeDir, requireBinary, runCli, tempDir } from "../support/conclave.ts";
import { checkDb, ownerActor, rng, seedAccounts, spawnConclave, withDb } from "../support/crash-helpers.ts";
import { findKeys, generateAesKey, requireSoftHsm, startSoftHsm, type SoftHsm, type SoftHsmToken } from "../support/softhsm.ts";

setDefaultTimeout(180_000);

const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const R = rng(SEED);
/** Bounded: this many kills, over this many CMK data keys. */
const KILLS = 8;
const DEKS = 400;

let hsm: SoftHsm;
let token: SoftHsmToken;
let work = "";
let dataDir = "";
let cfgPath = "";
let accountId = "";
let jobId = "";
let oldKeyId = "";
let newKeyId = "";
const values: { ctx: PersonalContext; plain: string; sealed: string }[] = [];

function config(): Config {
  const c = defaults();
  c.server.data_dir = dataDir;
  c.log.level = "error";
  c.pkcs11.module = hsm.module;
  c.pkcs11.token_label = token.label;
  c.pkcs11.pin_file = join(work, "pin");
  return c;
}

/** consistency reads the invariants that must hold after any crash. */
function consistency(): { mislabelled: number; moved: number; done: number; state: string } {
  return withDb(join(dataDir, "conclave.db"), (db) => {
    const mislabelled = (
      db.query("SELECT count(*) AS n FROM data_keys d JOIN cmk_data_keys c ON c.dek_id = d.id JOIN cmk_keys k ON k.id = c.cmk_key_id WHERE c.slot = 'cmk' AND d.wrapped_by <> 'pkcs11:' || k.key_ref").get() as { n: number }
    ).n;
    const moved = (db.query("SELECT count(*) AS n FROM cmk_data_keys WHERE cmk_key_id = ?").get(newKeyId) as { n: number }).n;
    const job = db.query("SELECT done, state FROM cmk_jobs WHERE id = ?").get(jobId) as { done: number; state: string };
    return { mislabelled, moved, done: job.done, state: job.state };
  });
}

beforeAll(async () => {
  requireBinary();
  requireSoftHsm();
  hsm = startSoftHsm();
  token = hsm.initToken("cmk-crash");
  hsm.withSession(token, (s) => {
    generateAesKey(s, { label: "cmk-1" });
    generateAesKey(s, { label: "cmk-2" });
  });
  work = tempDir("conclave-cmk-crash-");
  dataDir = join(work, "data");
  writeFileSync(join(work, "pin"), token.pin, { mode: 0o600 });
  cfgPath = join(work, "conclave.toml");
  writeFileSync(cfgPath, ["[log]", 'level = "error"', "[pkcs11]", `module = "${hsm.module}"`, `token_label = "${token.label}"`, `pin_file = "${join(work, "pin")}"`].join("\n"));

  // Seed in-process: an account whose Owner's data keys are wrapped by cmk-1, one per value.
  const c = await assemble(config(), silentLogger);
  try {
    accountId = (await seedAccounts(c, 1, 0, "Seed-Owner-Pass-2026!"))[0]!.accountId;
    const actor = ownerActor(c, accountId);
    oldKeyId = (await c.cmk.addKey(actor, { provider: "pkcs11", keyRef: "cmk-1", replicas: [] })).id;
    await c.cmk.setServices(actor, ["user_pii"]);
    await c.cmk.setLicences(actor, [actor.userId]);
    for (let i = 0; i < DEKS; i++) {
      await c.keys.rotate(accountId, "user_pii");
      const ctx = { accountId, table: "users", column: "name", rowId: actor.userId };
      const plain = `value ${i} ${newId()}`;
      values.push({ ctx, plain, sealed: await c.codec.seal(ctx, plain) });
    }
    // The rotation as the page starts it, but the process "dies" before the job runs.
    newKeyId = newId();
    insertCmkKey(c.db, { id: newKeyId, accountId, provider: "pkcs11", keyRef: "cmk-2", replicas: [], state: "active", createdAt: Date.now(), createdBy: actor.userId, retiredAt: null });
    setCmkKeyState(c.db, accountId, oldKeyId, "rotating", null);
    upsertCmkSettings(c.db, accountId, { activeKeyId: newKeyId });
    jobId = newId();
    insertJob(c.db, { id: jobId, accountId, kind: "rotate", fromKeyId: oldKeyId, toKeyId: newKeyId, state: "running", total: 0, done: 0, error: "", startedAt: Date.now(), finishedAt: null });
  } finally {
    await c.cmk.close();
    c.close();
  }
});

afterAll(() => {
  hsm?.close();
  removeDir(work);
});

describe(`kill -9 during a customer-managed key rotation (CRASH_SEED=${SEED})`, () => {
  test("keys rewrap --resume, killed at random moments, resumes and finishes; every value decrypts without the old key", async () => {
    const env = { ...hsm.env };
    const args = ["keys", "rewrap", "--resume", "--data-dir", dataDir, "--config", cfgPath];
    let midway = 0;
    // Kill at a random moment; when a run was killed before it moved anything (start-up is slow
    // on a busy machine), let the next one live longer.
    let extra = 0;
    let before = 0;
    for (let i = 0; i < KILLS; i++) {
      const run = spawnConclave(args, { cwd: work, env });
      await Bun.sleep(extra + R.int(50, 600));
      run.proc.kill(9);
      await run.proc.exited;
      await run.output;
      expect(checkDb(join(dataDir, "conclave.db")).integrity).toBe("ok");
      const s = consistency();
      expect(s.mislabelled).toBe(0);
      expect(s.done).toBe(s.moved); // progress and the keys it counts are written together
      if (s.moved > 0 && s.moved < DEKS) midway++;
      if (process.env.CRASH_DEBUG) console.log(`kill ${i}: moved ${s.moved}, state ${s.state}, extra ${extra}`);
      extra = s.moved === before ? extra + 400 : extra;
      before = s.moved;
      if (s.state === "done") break;
    }
    const last = await runCli(args, { cwd: work, env, timeoutMs: 120_000 });
    expect(last.code).toBe(0);
    const s = consistency();
    expect(s).toEqual({ mislabelled: 0, moved: s.done, done: s.done, state: "done" });
    expect(s.moved).toBeGreaterThanOrEqual(DEKS);
    console.log(`cmk crash test: seed ${SEED}, ${midway} kill(s) landed mid-job, ${s.moved} data keys moved`);

    // The old key is no longer needed: destroy it, then every value opens under the new one.
    hsm.withSession(token, (sess) => {
      for (const h of findKeys(sess, "cmk-1")) sess.lib.C_DestroyObject(sess.session, h);
    });
    const c = await assemble(config(), silentLogger);
    try {
      expect(withDb(join(dataDir, "conclave.db"), (db) => (db.query("SELECT state FROM cmk_keys WHERE id = ?").get(oldKeyId) as { state: string }).state)).toBe("retired");
      const wrong: string[] = [];
      for (const v of values) if ((await c.codec.open(v.ctx, v.sealed)) !== v.plain) wrong.push(v.plain);
      expect(wrong).toEqual([]);
      expect(c.audit.verify().ok).toBe(true);
    } finally {
      await c.cmk.close();
      c.close();
    }
  });
});
