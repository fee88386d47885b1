// A customer-managed key in OCI Vault through the real assembly (in-process app, the CMK service
// and router) and the real oci-keymanagement SDK against tests/support/fake-oci-vault-server.ts:
// an unreachable vault → fallback under the marked server key and re-seal on return; a vault that
// refuses (NotAuthorizedOrNotFound, disabled, pending deletion) → fails closed; nothing is lost
// and no value is stored in the clear.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { cmkHelpers } from "../../../tests/support/cmk-scenario.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApp, type TestApp } from "../../../tests/helpers/test-app.ts";
import { FakeOciVault, type FakeOciFault } from "../../../tests/support/fake-oci-vault-server.ts";
import type { Actor } from "../../accounts/actor.ts";
import { dekMark } from "../../storage/cmk-repo.ts";

const OCI_ENV = ["OCI_CONFIG_FILE", "OCI_REGION", "OCI_SDK_DEFAULT_RETRY_ENABLED", "OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED"];
const saved = new Map<string, string | undefined>();
let home = "";
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "conclave-cmk-oci-"));
  for (const k of OCI_ENV) {
    saved.set(k, process.env[k]);
    delete process.env[k];
  }
});
afterAll(() => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(home, { recursive: true, force: true });
});

let vault: FakeOciVault;
let keyId: string;
let t: TestApp;
let actor: Actor;
let licensedId: string;

beforeEach(async () => {
  vault = await FakeOciVault.start();
  keyId = vault.createKey();
  const { configFile } = vault.writeOciConfig(mkdtempSync(join(home, "oci-")));
  t = await createTestApp({
    config: (c) => {
      // The server key stays local; [oci_vault] gives the vault's endpoint and credentials.
      c.oci_vault.key_id = vault.createKey();
      c.oci_vault.crypto_endpoint = vault.endpoint;
      c.oci_vault.config_file = configFile;
      c.oci_vault.timeout_ms = 300;
      c.oci_vault.max_attempts = 1;
    },
  });
  const owner = await t.setup();
  actor = { accountId: owner.accountId, userId: owner.userId, label: owner.email, roleId: "", roleKind: "owner", permissions: new Set(), ip: "127.0.0.1", userAgent: "test" };
  licensedId = owner.userId;
});
afterEach(async () => {
  await t.cmk.idle();
  t.cleanup();
  await vault.close();
});

const { ctx, dekOf, wrappedBy, status, fallbackUserKeys, enrol: enrolKey } = cmkHelpers(() => ({ t, actor, licensedId }));
const enrol = (fallback: boolean): Promise<void> => enrolKey({ provider: "oci-vault", keyRef: keyId }, fallback);

describe("OCI Vault as a customer-managed key", () => {
  test("enrolment tests the key; a refused key is not enrolled and OCI's error is shown verbatim", async () => {
    vault.deny(keyId);
    const h = await t.cmk.testKey(actor, { provider: "oci-vault", keyRef: keyId, replicas: [] });
    expect(h.ok).toBe(false);
    expect(h.ok ? "" : (h.providerMessage ?? "")).toContain("NotAuthorizedOrNotFound (HTTP 404, opc-request-id ");
    vault.deny(keyId, false);
    await enrol(true);
    const sealed = await t.codec.seal(ctx(licensedId), "Olivia");
    expect(sealed).not.toContain("Olivia");
    expect(wrappedBy(dekOf(sealed))).toBe(`oci-vault:${keyId}`);
    t.keys.wipeCache();
    expect(await t.codec.open(ctx(licensedId), sealed)).toBe("Olivia");
    expect(vault.requests.some((r) => r.operation === "decrypt" && (r.body.associatedData as Record<string, string>)?.account === actor.accountId)).toBe(true);
  });

  const unreachable: [string, FakeOciFault][] = [
    ["timeout", { type: "delay", ms: 3000 }],
    ["5xx", { type: "status", status: 503 }],
    ["429 throttling", { type: "throttle" }],
  ];
  for (const [name, fault] of unreachable) {
    test(`${name}: fallback on → new content under the marked fallback key, re-sealed under the OCI key when it returns`, async () => {
      await enrol(true);
      vault.failNext(1000, fault);
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(status()).toBe("unreachable");
      t.keys.wipeCache();
      const during = await t.codec.seal(ctx(licensedId), "written during the outage");
      expect(during).not.toContain("written during the outage");
      const dek = dekOf(during);
      expect(dekMark(t.db, dek)?.slot).toBe("fallback");
      expect(wrappedBy(dek)).toStartWith("local:");
      vault.clearFaults();
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(status()).toBe("available");
      expect(wrappedBy(dek)).toBe(`oci-vault:${keyId}`);
      t.keys.wipeCache();
      expect(await t.codec.open(ctx(licensedId), during)).toBe("written during the outage");
      expect(t.mail.filter((m) => m.to === "secops@a.example").map((m) => m.subject)).toEqual([
        "Conclave: customer-managed key is unreachable",
        "Conclave: customer-managed key is available",
      ]);
    });
  }

  const denials: [string, () => void, () => void][] = [
    ["NotAuthorizedOrNotFound", () => vault.deny(keyId), () => vault.deny(keyId, false)],
    ["disabled key", () => vault.setKeyState(keyId, "DISABLED"), () => vault.setKeyState(keyId, "ENABLED")],
    ["pending deletion", () => vault.setKeyState(keyId, "PENDING_DELETION"), () => vault.setKeyState(keyId, "ENABLED")],
  ];
  for (const [name, deny, restore] of denials) {
    test(`${name}: fails closed even with fallback on; access restored → readable again, nothing lost`, async () => {
      await enrol(true);
      const sealed = await t.codec.seal(ctx(licensedId), "secret");
      deny();
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(status()).toBe("denied");
      await expect(t.codec.open(ctx(licensedId), sealed)).rejects.toThrow();
      expect(await t.codec.seal(ctx(licensedId), "new").catch((e: unknown) => (e as { kind?: string }).kind)).toBe("denied");
      // Denied never falls back for the user's content (the operation log is the CMK service's business).
      expect(fallbackUserKeys()).toEqual({ n: 0 });
      restore();
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(status()).toBe("available");
      expect(await t.codec.open(ctx(licensedId), sealed)).toBe("secret");
    });
  }
});
