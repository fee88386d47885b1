// A customer-managed key in OCI Vault (the real oci-keymanagement SDK against the fake vault):
// enrolment, wrapping, and a disabled key failing closed.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createTestApp, type TestApp } from "../../tests/helpers/test-app.ts";
import { FakeOciVault } from "../../tests/support/fake-oci-vault-server.ts";
import type { Actor } from "../accounts/actor.ts";
import { decodeText, parseHeader } from "../crypto/aead/value-format.ts";

let vault: FakeOciVault;
let t: TestApp;
let actor: Actor;

beforeEach(async () => {
  vault = await FakeOciVault.start();
  t = await createTestApp({
    config: (c) => {
      const { configFile } = vault.writeOciConfig(join(c.server.data_dir, "oci"));
      c.oci_vault.crypto_endpoint = vault.endpoint;
      c.oci_vault.management_endpoint = vault.endpoint;
      c.oci_vault.config_file = configFile;
      c.oci_vault.timeout_ms = 500;
      c.oci_vault.max_attempts = 1;
    },
  });
  const o = await t.setup();
  actor = { accountId: o.accountId, userId: o.userId, label: o.email, roleId: "", roleKind: "owner", permissions: new Set(), ip: "127.0.0.1", userAgent: "test" };
});
afterEach(async () => {
  await t.cmk.idle();
  await t.cmk.close();
  t.cleanup();
  await vault.close();
});

test("an OCI Vault key (OCID; endpoints and credentials from [oci_vault]) wraps licensed content; disabled → fails closed", async () => {
  const ocid = vault.createKey({ name: "acme-cmk" });
  expect((await t.cmk.testKey(actor, { provider: "oci-vault", keyRef: "ocid1.key.bogus", replicas: [] })).ok).toBe(false);
  await t.cmk.addKey(actor, { provider: "oci-vault", keyRef: ocid, replicas: [] });
  await t.cmk.setServices(actor, ["user_pii"]);
  await t.cmk.setLicences(actor, [actor.userId]);
  const ctx = { accountId: actor.accountId, table: "users", column: "name", rowId: actor.userId };
  const sealed = await t.codec.seal(ctx, "Olivia");
  const dek = Buffer.from(parseHeader(decodeText(sealed)).dekId).toString("hex");
  expect((t.db.$client.query("SELECT wrapped_by AS w FROM data_keys WHERE id = ?").get(dek) as { w: string }).w).toBe(`oci-vault:${ocid}`);
  vault.setKeyState(ocid, "DISABLED");
  await t.cmk.checkNow(actor.accountId);
  await t.cmk.idle();
  expect(t.cmk.overview(actor.accountId).settings?.status).toBe("denied");
  await expect(t.codec.open(ctx, sealed)).rejects.toThrow(/refuses to be used/);
});
