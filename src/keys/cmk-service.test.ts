// Customer-managed keys through the real assembly (in-process app) against the fake AWS KMS
// (real @aws-sdk/client-kms, JSON 1.1 wire protocol) with fault injection.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { isolateAwsForFakeKms } from "../../tests/support/test-env.ts";
import { createTestApp, type TestApp } from "../../tests/helpers/test-app.ts";
import { FakeKms, type FakeKmsEndpoint, type FakeKmsFault } from "../../tests/support/fake-kms-server.ts";
import type { Actor } from "../accounts/actor.ts";
import { decodeText, parseHeader } from "../crypto/aead/value-format.ts";
import { dekMark } from "../storage/cmk-repo.ts";
import type { PersonalContext } from "../storage/personal-data.ts";
import { CmkUnavailableError, parseKeySpec, type CmkStatusChange } from "./cmk-service.ts";
import { keyUsageCsv } from "./key-usage.ts";
import { defaults } from "../config/schema.ts";
import { assemble } from "../main.ts";
import { captureMailer } from "../notify/mailer.ts";
import { silentLogger } from "../shared/logger.ts";

isolateAwsForFakeKms("AKIDCONCLAVECMK00001");

let kms: FakeKms;
let east: FakeKmsEndpoint;
let west: FakeKmsEndpoint;
let arn: string;
let replicaArn: string;
let t: TestApp;
let actor: Actor;
let licensedId: string;
let otherId: string;

beforeEach(async () => {
  kms = new FakeKms();
  arn = kms.createKey({ region: "us-east-1", multiRegion: true });
  replicaArn = kms.replicateKey(arn, "eu-west-1");
  east = await kms.serve("us-east-1");
  west = await kms.serve("eu-west-1");
  t = await createTestApp({
    config: (c) => {
      c.aws_kms.endpoint = east.url;
      c.aws_kms.region_endpoints = `eu-west-1=${west.url}`;
      c.aws_kms.timeout_ms = 300;
      c.aws_kms.max_attempts = 1;
    },
  });
  const owner = await t.setup();
  actor = { accountId: owner.accountId, userId: owner.userId, label: owner.email, roleId: "", roleKind: "owner", permissions: new Set(), ip: "127.0.0.1", userAgent: "test" };
  licensedId = owner.userId;
  otherId = (await t.inviteAndActivate(owner, { email: "una@a.example", name: "Una Unlicensed" })).userId;
});
afterEach(async () => {
  await t.cmk.idle();
  t.cleanup();
  await kms.close();
});

const ctx = (rowId: string, column = "name"): PersonalContext => ({ accountId: actor.accountId, table: "users", column, rowId });
const dekOf = (sealed: string): string => Buffer.from(parseHeader(decodeText(sealed)).dekId).toString("hex");

async function enrol(opts: { fallback?: boolean; services?: string[] } = {}): Promise<void> {
  await t.cmk.addKey(actor, { provider: "aws-kms", keyRef: arn, replicas: [] });
  await t.cmk.setServices(actor, opts.services ?? ["user_pii", "audit", "chat"]);
  await t.cmk.setLicences(actor, [licensedId]);
  await t.cmk.setOptions(actor, { fallback: opts.fallback ?? true, dropMeetings: true });
  await t.cmk.addRecipient(actor, "secops@a.example");
}

const wrappedBy = (dekId: string): string => (t.db.$client.query("SELECT wrapped_by AS w FROM data_keys WHERE id = ?").get(dekId) as { w: string }).w;

describe("enrolment", () => {
  test("a key is tested with a wrap/unwrap round trip; a refused key is not enrolled and the provider's error is shown verbatim", async () => {
    kms.setDeny(arn, true);
    const h = await t.cmk.testKey(actor, { provider: "aws-kms", keyRef: arn, replicas: [] });
    expect(h.ok).toBe(false);
    expect(h.ok ? "" : (h.providerMessage ?? "")).toContain("AccessDeniedException");
    await expect(t.cmk.addKey(actor, { provider: "aws-kms", keyRef: arn, replicas: [] })).rejects.toThrow(/could not be used/);
    expect(t.cmk.overview(actor.accountId).activeKey).toBeNull();
    kms.setDeny(arn, false);
    expect((await t.cmk.testKey(actor, { provider: "aws-kms", keyRef: arn, replicas: [] })).ok).toBe(true);
  });

  test("a multi-region replica entered with the key keeps it available while the primary region is down", async () => {
    await t.cmk.addKey(actor, parseKeySpec("aws-kms", arn, replicaArn));
    await t.cmk.setServices(actor, ["user_pii"]);
    await t.cmk.setLicences(actor, [licensedId]);
    const sealed = await t.codec.seal(ctx(licensedId), "via replica");
    await east.close();
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    expect(t.cmk.overview(actor.accountId).settings?.status).toBe("available");
    t.keys.wipeCache();
    expect(await t.codec.open(ctx(licensedId), sealed)).toBe("via replica");
    expect(west.requests.some((r) => r.operation === "Decrypt" && r.error === null)).toBe(true);
  });

  test("bad key references, replicas, licences and recipients are refused with what to fix", async () => {
    expect(() => parseKeySpec("local", "x", "")).toThrow();
    expect(() => parseKeySpec("aws-kms", "my-key", "")).toThrow();
    expect(() => parseKeySpec("aws-kms", arn, "not-an-arn")).toThrow();
    expect(() => parseKeySpec("pkcs11", "label", arn)).toThrow();
    expect(() => parseKeySpec("pkcs11", "bad\u0000label", "")).toThrow();
    expect(parseKeySpec("aws-kms", ` ${arn} `, "").keyRef).toBe(arn);
    expect(() => parseKeySpec("azure-keyvault", "contoso/keys/x", "")).toThrow();
    expect(parseKeySpec("azure-keyvault", "https://contoso.vault.azure.net/keys/acme/0123", "").keyRef).toBe("https://contoso.vault.azure.net/keys/acme/0123");
    expect(() => parseKeySpec("aws-kms", "x".repeat(3000), "")).toThrow();
    await enrol();
    const foreign = await t.createAccount({ organisation: "Org B", email: "b@b.example" });
    await expect(t.cmk.setLicences(actor, [foreign.userId])).rejects.toThrow(/highlighted/);
    await expect(t.cmk.setServices(actor, ["nonsense"])).rejects.toThrow();
    await expect(t.cmk.addRecipient(actor, "not an address")).rejects.toThrow();
    await expect(t.cmk.addRecipient(actor, "SECOPS@a.example")).rejects.toThrow();
    await expect(t.cmk.addKey(actor, { provider: "aws-kms", keyRef: arn, replicas: [] })).rejects.toThrow(/Rotate/);
  });

  test("only licensed users' content and the chosen account-wide classes are wrapped by the CMK", async () => {
    await enrol();
    const mine = await t.codec.seal(ctx(licensedId), "Olivia");
    const theirs = await t.codec.seal(ctx(otherId), "Una");
    expect(wrappedBy(dekOf(mine))).toBe(`aws-kms:${arn}`);
    expect(wrappedBy(dekOf(theirs))).toStartWith("local:");
    expect(dekMark(t.db, dekOf(mine))?.slot).toBe("cmk");
    // The operation log (account-wide) follows the account's choice.
    const audit = t.db.$client.query("SELECT d.wrapped_by AS w FROM data_keys d JOIN cmk_data_keys c ON c.dek_id = d.id WHERE d.account_id = ? AND d.data_class = 'audit'").all(actor.accountId) as { w: string }[];
    expect(audit.map((r) => r.w)).toContain(`aws-kms:${arn}`);
    // A class not chosen stays under the server key even for licensed users.
    const totp = await t.codec.seal(ctx(licensedId, "totp"), "JBSWY3DPEHPK3PXP");
    expect(wrappedBy(dekOf(totp))).toStartWith("local:");
    t.keys.wipeCache();
    expect(await t.codec.open(ctx(licensedId), mine)).toBe("Olivia");
    const usage = t.cmk.usage({ accountId: actor.accountId });
    expect(usage.some((u) => u.op === "unwrap" && u.slot === "cmk" && u.purpose === "users.name" && u.userId === licensedId && u.outcome === "ok")).toBe(true);
    expect(keyUsageCsv(usage).split("\n")[0]).toBe("time,account,operation,data class,purpose,user,key slot,provider,data key,outcome,detail");
  });
});

describe("outages", () => {
  const unreachable: [string, FakeKmsFault][] = [
    ["timeout", { type: "delay", ms: 3000 }],
    ["5xx", { type: "status", status: 503 }],
    ["throttling", { type: "throttle" }],
  ];
  for (const [name, fault] of unreachable) {
    test(`${name}: fallback on → new content under the marked fallback key, recipients e-mailed, re-sealed under the CMK when it returns`, async () => {
      await enrol({ fallback: true });
      const changes: CmkStatusChange[] = [];
      t.cmk.onStatusChange((c) => changes.push(c));
      east.failNext(1000, fault);
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(t.cmk.overview(actor.accountId).settings?.status).toBe("unreachable");
      expect(changes.map((c) => c.to)).toEqual(["unreachable"]);
      expect(t.mail.some((m) => m.to === "secops@a.example" && /unreachable/.test(m.subject))).toBe(true);
      expect(t.cmk.meetingsAllowed(actor.accountId).ok).toBe(false);
      // Written during the outage: sealed under a server-wrapped DEK marked "fallback".
      t.keys.wipeCache();
      const during = await t.codec.seal(ctx(licensedId), "written during the outage");
      const dek = dekOf(during);
      expect(dekMark(t.db, dek)?.slot).toBe("fallback");
      expect(wrappedBy(dek)).toStartWith("local:");
      expect(await t.codec.open(ctx(licensedId), during)).toBe("written during the outage");
      // The key returns: the probe notices, the fallback DEK is rewrapped under the CMK.
      east.clearFaults();
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(t.cmk.overview(actor.accountId).settings?.status).toBe("available");
      expect(t.cmk.overview(actor.accountId).dekCounts.fallback).toBe(0);
      expect(wrappedBy(dek)).toBe(`aws-kms:${arn}`);
      expect(dekMark(t.db, dek)?.slot).toBe("cmk");
      t.keys.wipeCache();
      expect(await t.codec.open(ctx(licensedId), during)).toBe("written during the outage");
      expect(changes.map((c) => c.to)).toEqual(["unreachable", "available"]);
      expect(t.mail.filter((m) => m.to === "secops@a.example").map((m) => m.subject)).toEqual([
        "Conclave: customer-managed key is unreachable",
        "Conclave: customer-managed key is available",
      ]);
      const log = await t.audit.list({ accountId: actor.accountId, limit: 200 });
      expect(log.filter((e) => e.action === "cmk.status_changed").length).toBe(2);
      expect(log.some((e) => e.action === "cmk.reseal_finished")).toBe(true);
    });
  }

  test("fallback off → content is not stored and the error says why; nothing under the fallback key", async () => {
    await enrol({ fallback: false });
    east.failNext(1000, { type: "status", status: 500 });
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    const before = t.db.$client.query("SELECT count(*) AS n FROM data_keys").get() as { n: number };
    const err = await t.codec.seal(ctx(licensedId), "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CmkUnavailableError);
    expect((err as Error).message).toMatch(/^Not saved: .*cannot be reached.*fallback to the server key is off/);
    expect(t.db.$client.query("SELECT count(*) AS n FROM data_keys").get()).toEqual(before);
    // Unlicensed users' content is not affected.
    expect(wrappedBy(dekOf(await t.codec.seal(ctx(otherId), "fine")))).toStartWith("local:");
  });

  test("fallback off: a page that would store protected content answers 503 with why, and the stored value is unchanged", async () => {
    await enrol({ fallback: false });
    const owner = (await t.auth.users.get(actor.accountId, licensedId))!;
    east.failNext(1000, { type: "status", status: 503 });
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    const b = await t.signIn(owner.email);
    const roleId = owner.roleId;
    const res = await b.postForm(`/admin/users/${licensedId}`, { name: "Renamed During Outage", roleId });
    expect(res.status).toBe(503);
    expect((await res.text()).replaceAll("&#39;", "'")).toContain("Not saved: your organisation's aws-kms key");
    east.clearFaults();
    expect((await t.auth.users.get(actor.accountId, licensedId))!.name).toBe(owner.name);
  });

  test("a deleted key (NotFoundException) is a denial: fails closed", async () => {
    await enrol({ fallback: true });
    const sealed = await t.codec.seal(ctx(licensedId), "secret");
    kms.deleteKey(arn);
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    expect(t.cmk.overview(actor.accountId).settings?.status).toBe("denied");
    expect(t.cmk.overview(actor.accountId).settings?.statusDetail).toContain("NotFoundException");
    await expect(t.codec.open(ctx(licensedId), sealed)).rejects.toThrow(/refuses to be used/);
    await expect(t.codec.seal(ctx(licensedId), "new")).rejects.toThrow(/^Not saved/);
  });

  test("a denied key that then times out stays denied: no fallback for a key last seen refusing", async () => {
    await enrol({ fallback: true });
    kms.setDeny(arn, true);
    await t.cmk.checkNow(actor.accountId);
    east.failNext(1000, { type: "status", status: 503 });
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    expect(t.cmk.overview(actor.accountId).settings?.status).toBe("denied");
    await expect(t.codec.seal(ctx(licensedId), "x")).rejects.toThrow(/refuses to be used/);
    east.clearFaults();
    kms.setDeny(arn, false);
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    expect(t.cmk.overview(actor.accountId).settings?.status).toBe("available");
  });

  test("the server starts while the CMK is unreachable: status unreachable, the operation log works under the fallback key", async () => {
    await enrol({ fallback: true });
    const sealed = await t.codec.seal(ctx(licensedId), "v");
    await t.cmk.idle();
    await t.cmk.close();
    t.close();
    east.failNext(1_000_000, { type: "status", status: 503 });
    const config = defaults();
    config.server.data_dir = t.dir;
    config.aws_kms.endpoint = east.url;
    config.aws_kms.timeout_ms = 300;
    config.aws_kms.max_attempts = 1;
    const c = await assemble(config, silentLogger, { clock: t.clock, mailer: captureMailer() });
    try {
      await c.cmk.idle();
      expect(c.cmk.overview(actor.accountId).settings?.status).toBe("unreachable");
      await c.cmk.setOptions(actor, { fallback: true, dropMeetings: false }); // audited
      expect((await c.audit.list({ accountId: actor.accountId, limit: 5 })).some((e) => e.action === "cmk.options_changed")).toBe(true);
      await expect(c.codec.open(ctx(licensedId), sealed)).rejects.toThrow(/cannot be reached/);
    } finally {
      await c.cmk.close();
      c.close();
    }
  });

  test("an outage seen on a real unwrap (not the probe) changes the status too", async () => {
    await enrol({ fallback: true });
    const sealed = await t.codec.seal(ctx(licensedId), "v");
    t.keys.wipeCache();
    east.failNext(1000, { type: "status", status: 503 });
    await expect(t.codec.open(ctx(licensedId), sealed)).rejects.toThrow(/cannot be reached/);
    await t.cmk.idle();
    expect(t.cmk.overview(actor.accountId).settings?.status).toBe("unreachable");
    east.clearFaults();
    expect(await t.codec.open(ctx(licensedId), sealed)).toBe("v");
    await t.cmk.idle();
    expect(t.cmk.overview(actor.accountId).settings?.status).toBe("available");
  });

  const denials: [string, () => void][] = [
    ["AccessDenied", () => kms.setDeny(arn, true)],
    ["DisabledException", () => kms.setKeyState(arn, "Disabled")],
    ["KMSInvalidStateException (pending deletion)", () => kms.setKeyState(arn, "PendingDeletion")],
  ];
  for (const [name, deny] of denials) {
    test(`${name}: fails closed even with fallback on, purges cached DEKs, e-mails; access restored → readable again`, async () => {
      await enrol({ fallback: true });
      const sealed = await t.codec.seal(ctx(licensedId), "secret");
      deny();
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(t.cmk.overview(actor.accountId).settings?.status).toBe("denied");
      // The cached DEK was wiped: reading needs the key, which refuses.
      await expect(t.codec.open(ctx(licensedId), sealed)).rejects.toThrow(/refuses to be used/);
      const err = await t.codec.seal(ctx(licensedId), "new").catch((e: unknown) => e);
      expect((err as CmkUnavailableError).kind).toBe("denied");
      // Only the operation log's key stands in (it records the denial itself); no content key does.
      expect(t.db.$client.query("SELECT data_class AS c FROM cmk_data_keys WHERE slot = 'fallback'").all()).toEqual([{ c: "audit" }]);
      expect(t.mail.some((m) => m.to === "secops@a.example" && /denied/.test(m.subject))).toBe(true);
      // The operation log still records the outage and admin actions (under the fallback key).
      await t.cmk.setOptions(actor, { fallback: true, dropMeetings: false });
      kms.setDeny(arn, false);
      kms.setKeyState(arn, "Enabled");
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(t.cmk.overview(actor.accountId).settings?.status).toBe("available");
      expect(await t.codec.open(ctx(licensedId), sealed)).toBe("secret");
      expect(t.audit.verify().ok).toBe(true);
    });
  }
});

describe("rotation and deprovisioning", () => {
  test("rotate: every DEK of the old key is rewrapped under the new one; the old key can then be disabled", async () => {
    await enrol();
    const sealed = await t.codec.seal(ctx(licensedId), "kept");
    const second = kms.createKey({ region: "us-east-1" });
    const job = await t.cmk.rotate(actor, { provider: "aws-kms", keyRef: second, replicas: [] });
    await t.cmk.idle();
    const done = t.cmk.job(actor.accountId, job.id);
    expect(done.state).toBe("done");
    expect(done.done).toBe(done.total);
    expect(done.total).toBeGreaterThan(0);
    const byOld = t.db.$client.query("SELECT count(*) AS n FROM data_keys WHERE account_id = ? AND wrapped_by = ?").get(actor.accountId, `aws-kms:${arn}`) as { n: number };
    expect(byOld.n).toBe(0);
    kms.setKeyState(arn, "Disabled");
    t.keys.wipeCache();
    expect(await t.codec.open(ctx(licensedId), sealed)).toBe("kept");
    expect(t.cmk.overview(actor.accountId).keys.find((k) => k.keyRef === arn)?.state).toBe("retired");
  });

  test("rotate: a failure stops the job with the provider's message; resume finishes it", async () => {
    await enrol();
    await t.codec.seal(ctx(licensedId), "kept");
    const second = kms.createKey({ region: "us-east-1" });
    kms.setKeyState(arn, "Disabled"); // the old key cannot unwrap: the job stops
    const job = await t.cmk.rotate(actor, { provider: "aws-kms", keyRef: second, replicas: [] });
    await t.cmk.idle();
    expect(t.cmk.job(actor.accountId, job.id).state).toBe("failed");
    expect(t.cmk.job(actor.accountId, job.id).error).toContain("DisabledException");
    kms.setKeyState(arn, "Enabled");
    await t.cmk.resumeJob(actor, job.id);
    await t.cmk.idle();
    expect(t.cmk.job(actor.accountId, job.id).state).toBe("done");
  });

  test("deprovision: on the scheduled date everything is rewrapped to the server key; the key may then be disabled", async () => {
    await enrol();
    const sealed = await t.codec.seal(ctx(licensedId), "kept");
    await t.cmk.scheduleDeprovision(actor, t.clock.now() + 86_400_000);
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    expect(t.cmk.overview(actor.accountId).settings?.deprovisionedAt).toBeNull();
    t.clock.advance(86_400_000);
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    const o = t.cmk.overview(actor.accountId);
    expect(o.settings?.deprovisionedAt).not.toBeNull();
    expect(o.settings?.deprovisionedKey).toContain(arn);
    expect(o.dekCounts).toEqual({ cmk: 0, fallback: 0 });
    kms.setKeyState(arn, "Disabled");
    t.keys.wipeCache();
    expect(await t.codec.open(ctx(licensedId), sealed)).toBe("kept");
    expect(wrappedBy(dekOf(await t.codec.seal(ctx(licensedId), "after")))).toStartWith("local:");
    expect(t.cmk.meetingsAllowed(actor.accountId).ok).toBe(true);
  });
});


describe("jobs after a crash", () => {
  test("an unfinished rotation (the process died mid-way) is finished by resumeJobs, as `keys rewrap --resume` does", async () => {
    await enrol();
    await t.codec.seal(ctx(licensedId), "kept");
    const second = kms.createKey({ region: "us-east-1" });
    kms.setKeyState(arn, "Disabled");
    const job = await t.cmk.rotate(actor, { provider: "aws-kms", keyRef: second, replicas: [] });
    await t.cmk.idle();
    // As if the server had died while the job was running: the row still says "running".
    t.db.$client.query("UPDATE cmk_jobs SET state = 'running' WHERE id = ?").run(job.id);
    expect(t.cmk.summary()[0]?.jobs.map((j) => j.state)).toEqual(["running"]);
    kms.setKeyState(arn, "Enabled");
    const seen: number[] = [];
    expect(await t.cmk.resumeJobs((j) => seen.push(j.done))).toBe(1);
    expect(t.cmk.job(actor.accountId, job.id).state).toBe("done");
    expect(seen.at(-1)).toBe(t.cmk.job(actor.accountId, job.id).total);
    expect(t.cmk.summary()[0]?.jobs).toEqual([]);
  });
});

describe("storage rules", () => {
  test("the usage report is append-only; deleting an account removes its CMK settings, keys, licences, recipients and jobs", async () => {
    await enrol();
    await t.codec.seal(ctx(licensedId), "x");
    expect(() => t.db.$client.query("UPDATE key_usage SET outcome = 'ok'").run()).toThrow(/append-only/);
    expect(() => t.db.$client.query("DELETE FROM key_usage").run()).toThrow(/append-only/);
    const { terminateAccount } = await import("../accounts/account-deletion.ts");
    terminateAccount(t.auth, actor.accountId, (id) => t.keys.shred(id), "test");
    for (const table of ["cmk_settings", "cmk_keys", "cmk_data_keys", "cmk_licences", "cmk_recipients", "cmk_jobs"]) {
      expect(t.db.$client.query(`SELECT count(*) AS n FROM ${table} WHERE account_id = ?`).get(actor.accountId)).toEqual({ n: 0 });
    }
    expect((t.db.$client.query("SELECT count(*) AS n FROM key_usage WHERE account_id = ?").get(actor.accountId) as { n: number }).n).toBeGreaterThan(0);
  });
});
