import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assemble } from "../main.ts";
import { silentLogger } from "../shared/logger.ts";
import { startSoftHsm, requireSoftHsm, type SoftHsm } from "../../tests/support/softhsm.ts";
import { createTestApp, PASSWORD, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
afterEach(() => t?.cleanup());

function rows(sql: string, ...args: string[]): Record<string, unknown>[] {
  return t.db.$client.query(sql).all(...args) as Record<string, unknown>[];
}

describe("personal data at rest", () => {
  test("names, e-mails and TOTP secrets are sealed (c1:), the e-mail index is keyed (b1:), and callers still see plaintext", async () => {
    t = await createTestApp();
    const owner = await t.setup({ email: "olivia.owner@a.example", name: "Olivia Sealed-Name" });
    const u = rows("SELECT email_sealed, name_sealed, email_index FROM users WHERE id = ?", owner.userId)[0]!;
    expect(String(u.email_sealed)).toStartWith("c1:");
    expect(String(u.name_sealed)).toStartWith("c1:");
    expect(String(u.email_index)).toStartWith("b1:");
    expect((await t.auth.users.get(owner.accountId, owner.userId))!.name).toBe("Olivia Sealed-Name");
    expect((await t.auth.users.findByEmail("OLIVIA.OWNER@a.example"))!.id).toBe(owner.userId);
  });

  test("a sealed value copied to another row or column does not decrypt", async () => {
    t = await createTestApp();
    const owner = await t.setup();
    const member = await t.inviteAndActivate(owner, { email: "mia@a.example", name: "Mia Member" });
    const ownerName = rows("SELECT name_sealed FROM users WHERE id = ?", owner.userId)[0]!.name_sealed as string;
    t.db.$client.query("UPDATE users SET name_sealed = ? WHERE id = ?").run(ownerName, member.userId);
    await expect(t.auth.users.get(member.accountId, member.userId)).rejects.toThrow();
    const email = rows("SELECT email_sealed FROM users WHERE id = ?", owner.userId)[0]!.email_sealed as string;
    t.db.$client.query("UPDATE users SET name_sealed = ? WHERE id = ?").run(email, owner.userId);
    await expect(t.auth.users.get(owner.accountId, owner.userId)).rejects.toThrow();
  });

  test("legacy plaintext rows (p1:/h1:) are re-sealed at start and stay readable", async () => {
    t = await createTestApp();
    const owner = await t.setup({ email: "legacy@a.example", name: "Lena Legacy" });
    // Rewrite the row as the pre-encryption format stored it.
    const { createHash } = await import("node:crypto");
    const h1 = `h1:${createHash("sha256").update("users.email\0legacy@a.example").digest("hex")}`;
    t.db.$client.query("UPDATE users SET email_sealed = 'p1:legacy@a.example', name_sealed = 'p1:Lena Legacy', email_index = ? WHERE id = ?").run(h1, owner.userId);
    const config = JSON.parse(JSON.stringify((await import("../config/schema.ts")).defaults()));
    config.server.data_dir = t.dir;
    t.close();
    const again = await assemble(config, silentLogger);
    try {
      const r = again.db.$client.query("SELECT email_sealed, name_sealed, email_index FROM users WHERE id = ?").get(owner.userId) as Record<string, string>;
      expect(r.email_sealed).toStartWith("c1:");
      expect(r.name_sealed).toStartWith("c1:");
      expect(r.email_index).toStartWith("b1:");
      expect((await again.auth.users.findByEmail("legacy@a.example"))!.name).toBe("Lena Legacy");
    } finally {
      again.close();
    }
  });

  test("no plaintext personal data anywhere in the data directory after use through the pages", async () => {
    t = await createTestApp();
    const owner = await t.setup({ email: "plain.owner@a.example", name: "Quentin Plainowner" });
    await t.inviteAndActivate(owner, { email: "plain.member@a.example", name: "Ursula Plainmember" });
    t.db.$client.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const needles = ["Quentin Plainowner", "Ursula Plainmember"];
    for (const f of readdirSync(t.dir, { recursive: true }) as string[]) {
      const path = join(t.dir, f);
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch {
        continue; // a directory
      }
      for (const n of needles) expect({ file: f, found: bytes.includes(n) }).toEqual({ file: f, found: false });
    }
  });

  test("GCM invocations are reserved in blocks before use, so a restart never reuses a count", async () => {
    t = await createTestApp();
    const owner = await t.setup();
    const dek = rows("SELECT id, invocations FROM data_keys WHERE account_id = ? AND data_class = 'user_pii'", owner.accountId)[0]!;
    expect(Number(dek.invocations)).toBeGreaterThanOrEqual(1);
    expect(t.keys.invocations(String(dek.id))).toBe(Number(dek.invocations));
  });

  test("crypto-shredding an account makes its personal data unreadable", async () => {
    t = await createTestApp();
    const owner = await t.setup();
    expect(t.keys.shred(owner.accountId)).toBeGreaterThan(0);
    await expect(t.auth.users.get(owner.accountId, owner.userId)).rejects.toThrow(/destroyed/);
    expect(rows("SELECT action FROM audit_log WHERE action = 'key.account_shredded'")).toHaveLength(1);
  });
});

describe("moving from the local key file to an HSM (SoftHSM2)", () => {
  let hsm: SoftHsm;
  beforeAll(() => {
    requireSoftHsm();
    hsm = startSoftHsm();
  });
  afterAll(() => hsm.close());

  test("data keys are re-wrapped under the HSM key at start; data stays readable without the key file", async () => {
    t = await createTestApp();
    const owner = await t.setup({ email: "hsm.owner@a.example", name: "Hana Hsm" });
    const token = hsm.initToken("conclave-test");
    const pinFile = join(t.dir, "pin");
    writeFileSync(pinFile, token.pin, { mode: 0o600 });
    const config = (await import("../config/schema.ts")).defaults();
    config.server.data_dir = t.dir;
    config.keys.provider = "pkcs11";
    config.pkcs11.module = hsm.module;
    config.pkcs11.token_label = token.label;
    config.pkcs11.pin_file = pinFile;
    config.pkcs11.create_key = true;
    t.close();
    const moved = await assemble(config, silentLogger);
    try {
      const wrappedBy = (moved.db.$client.query("SELECT DISTINCT wrapped_by FROM data_keys").all() as { wrapped_by: string }[]).map((r) => r.wrapped_by);
      expect(wrappedBy).toEqual(["pkcs11:conclave-test/conclave-kek"]);
      // One audit entry per re-wrapped key, written with it.
      const keyCount = (moved.db.$client.query("SELECT count(*) AS n FROM data_keys").get() as { n: number }).n;
      expect((moved.db.$client.query("SELECT count(*) AS n FROM audit_log WHERE action = 'key.rewrap'").get() as { n: number }).n).toBe(keyCount);
      expect(moved.keyProvider.describe().hsmGrade).toBe(true);
    } finally {
      moved.close();
    }
    // The local key file is no longer needed: remove it and read the data through the HSM alone.
    const { rmSync } = await import("node:fs");
    rmSync(join(t.dir, "keys", "local.key"));
    const again = await assemble(config, silentLogger);
    try {
      expect((await again.auth.users.get(owner.accountId, owner.userId))!.name).toBe("Hana Hsm");
      expect(PASSWORD).toBeTruthy();
    } finally {
      again.close();
      await again.keyProvider.close?.();
    }
  });
});

describe("the Keys page", () => {
  test("lists the account's data keys without key material; members cannot see it", async () => {
    t = await createTestApp();
    const owner = await t.setup();
    const html = await (await owner.browser.get("/admin/keys")).text();
    expect(html).toContain("not HSM-grade");
    expect(html).toContain("user_pii");
    expect(html).toContain("audit");
    const wrapped = rows("SELECT wrapped FROM data_keys WHERE account_id = ?", owner.accountId).map((r) => String(r.wrapped));
    for (const w of wrapped) expect(html).not.toContain(w);
    const member = await t.inviteAndActivate(owner, { email: "mia@a.example", name: "Mia Member" });
    expect((await member.browser.get("/admin/keys")).status).toBe(403);
  });
});

describe("rotation and re-encryption", () => {
  test("after rotate, new writes use a new key version; reencrypt moves old values over, resumably, and everything still decrypts", async () => {
    const { reencryptRetired } = await import("./reencrypt.ts");
    t = await createTestApp();
    const owner = await t.setup({ email: "rot.owner@a.example", name: "Rosa Rotation" });
    const m1 = await t.inviteAndActivate(owner, { email: "m1@a.example", name: "Member One" });
    const v1 = String(rows("SELECT id FROM data_keys WHERE account_id = ? AND data_class = 'user_pii' AND status = 'active'", owner.accountId)[0]!.id);
    await t.keys.rotate(owner.accountId, "user_pii");
    expect(rows("SELECT status FROM data_keys WHERE id = ?", v1)[0]!.status).toBe("retired");
    const m2 = await t.inviteAndActivate(owner, { email: "m2@a.example", name: "Member Two" });
    const versions = rows("SELECT version, status FROM data_keys WHERE account_id = ? AND data_class = 'user_pii' ORDER BY version", owner.accountId);
    expect(versions).toEqual([{ version: 1, status: "retired" }, { version: 2, status: "active" }]);
    // A crash part-way: only 2 values done; the rerun finishes the rest.
    const first = await reencryptRetired(t.db, t.codec, undefined, 2);
    expect(first).toMatchObject({ reencrypted: 2 });
    expect(first.remaining).toBeGreaterThan(0);
    const second = await reencryptRetired(t.db, t.codec);
    expect(second.remaining).toBe(0);
    expect((await reencryptRetired(t.db, t.codec)).reencrypted).toBe(0);
    for (const u of [owner, m1, m2]) expect((await t.auth.users.get(u.accountId, u.userId))!.email).toBe(u.email);
    expect(t.audit.verify().ok).toBe(true);
  });
});
