// A customer-managed key in Azure Key Vault through the real assembly (in-process app, the CMK
// service and router) and the real @azure/keyvault-keys SDK against
// tests/support/fake-keyvault-server.ts: an unreachable vault (timeout, 5xx, throttling) →
// fallback under the marked server key and re-seal on return; a vault that refuses (access
// denied, disabled key, deleted key) → fails closed; nothing is lost and nothing is stored in
// the clear. The config cannot name a test credential or TLS agent, so the test wraps the CMK
// opener (Overrides.cmkOpener) to hand the provider the fake vault's transport.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { cmkHelpers } from "../../../tests/support/cmk-scenario.ts";
import { AZURE_SDK_ENV, isolateEnv } from "../../../tests/support/test-env.ts";
import { createTestApp, type TestApp } from "../../../tests/helpers/test-app.ts";
import { FakeKeyVault, type FakeKeyVaultFault } from "../../../tests/support/fake-keyvault-server.ts";
import type { Actor } from "../../accounts/actor.ts";
import { dekMark } from "../../storage/cmk-repo.ts";
import { createAzureKeyVaultKeyProvider } from "./azure-keyvault.ts";

isolateEnv(AZURE_SDK_ENV);

const credential = { getToken: async () => ({ token: "test-token", expiresOnTimestamp: Date.now() + 3_600_000 }) };

let kv: FakeKeyVault;
let kid: string;
let t: TestApp;
let actor: Actor;
let licensedId: string;

beforeEach(async () => {
  kv = await FakeKeyVault.start();
  kid = kv.createKey("customer-kek");
  t = await createTestApp({
    overrides: {
      cmkOpener: (opener) => async (spec) =>
        spec.provider === "azure-keyvault"
          ? createAzureKeyVaultKeyProvider({ dataDir: "/nonexistent", localKeyFile: "/nonexistent/k", azure: { keyId: spec.keyRef, credential, httpsAgent: kv.agent, timeoutMs: 300, maxAttempts: 1 } })
          : opener(spec),
    },
  });
  const owner = await t.setup();
  actor = { accountId: owner.accountId, userId: owner.userId, label: owner.email, roleId: "", roleKind: "owner", permissions: new Set(), ip: "127.0.0.1", userAgent: "test" };
  licensedId = owner.userId;
});
afterEach(async () => {
  await t.cmk.idle();
  t.cleanup();
  await kv.close();
});

const { ctx, dekOf, wrappedBy, status, fallbackUserKeys, enrol: enrolKey } = cmkHelpers(() => ({ t, actor, licensedId }));
const enrol = (fallback: boolean): Promise<void> => enrolKey({ provider: "azure-keyvault", keyRef: kid }, fallback);

describe("Azure Key Vault as a customer-managed key", () => {
  test("enrolment tests the key; a refused key is not enrolled and Key Vault's error is shown verbatim", async () => {
    kv.setDeny("customer-kek", true);
    const h = await t.cmk.testKey(actor, { provider: "azure-keyvault", keyRef: kid, replicas: [] });
    expect(h.ok).toBe(false);
    expect(h.ok ? "" : (h.providerMessage ?? "")).toContain("does not have keys");
    kv.setDeny("customer-kek", false);
    await enrol(true);
    const sealed = await t.codec.seal(ctx(licensedId), "Olivia");
    expect(sealed).not.toContain("Olivia");
    expect(wrappedBy(dekOf(sealed))).toStartWith("azure-keyvault:");
    t.keys.wipeCache();
    expect(await t.codec.open(ctx(licensedId), sealed)).toBe("Olivia");
    expect(kv.count("unwrapkey")).toBeGreaterThan(0);
  });

  const unreachable: [string, FakeKeyVaultFault][] = [
    ["timeout", { type: "delay", ms: 3000 }],
    ["5xx", { type: "status", status: 503 }],
    ["429 throttling", { type: "throttle" }],
  ];
  for (const [name, fault] of unreachable) {
    test(`${name}: fallback on → new content under the marked fallback key, re-sealed under the vault key when it returns`, async () => {
      await enrol(true);
      kv.failNext(1000, fault);
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(status()).toBe("unreachable");
      t.keys.wipeCache();
      const during = await t.codec.seal(ctx(licensedId), "written during the outage");
      expect(during).not.toContain("written during the outage");
      const dek = dekOf(during);
      expect(dekMark(t.db, dek)?.slot).toBe("fallback");
      expect(wrappedBy(dek)).toStartWith("local:");
      kv.clearFaults();
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(status()).toBe("available");
      expect(wrappedBy(dek)).toStartWith("azure-keyvault:");
      t.keys.wipeCache();
      expect(await t.codec.open(ctx(licensedId), during)).toBe("written during the outage");
      expect(t.mail.filter((m) => m.to === "secops@a.example").map((m) => m.subject)).toEqual([
        "Conclave: customer-managed key is unreachable",
        "Conclave: customer-managed key is available",
      ]);
    });
  }

  test("fallback off: while the vault is unreachable new content is not stored, with the reason", async () => {
    await enrol(false);
    kv.failNext(1000, { type: "status", status: 500 });
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    t.keys.wipeCache();
    const err = await t.codec.seal(ctx(licensedId), "not stored").catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/unreachable|not (be )?(stored|saved)/i);
    expect(fallbackUserKeys()).toEqual({ n: 0 });
  });

  const denials: [string, () => void, () => void][] = [
    ["access denied (403)", () => kv.setDeny("customer-kek", true), () => kv.setDeny("customer-kek", false)],
    ["disabled key", () => kv.setEnabled("customer-kek", false), () => kv.setEnabled("customer-kek", true)],
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
      expect(fallbackUserKeys()).toEqual({ n: 0 });
      restore();
      await t.cmk.checkNow(actor.accountId);
      await t.cmk.idle();
      expect(status()).toBe("available");
      expect(await t.codec.open(ctx(licensedId), sealed)).toBe("secret");
    });
  }

  test("deleted key: fails closed and stays so (what was sealed under it is unreadable by design)", async () => {
    await enrol(true);
    const sealed = await t.codec.seal(ctx(licensedId), "secret");
    kv.deleteKey("customer-kek");
    await t.cmk.checkNow(actor.accountId);
    await t.cmk.idle();
    expect(status()).toBe("denied");
    t.keys.wipeCache();
    await expect(t.codec.open(ctx(licensedId), sealed)).rejects.toThrow();
    expect(JSON.stringify(t.db.$client.query("SELECT name_sealed FROM users").all())).not.toContain("secret");
  });
});
