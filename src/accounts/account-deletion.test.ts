import { afterEach, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../../tests/helpers/test-app.ts";
import { terminateAccount } from "./account-deletion.ts";

let t: TestApp;
afterEach(() => t.cleanup());

test("account delete --shred destroys the account's keys, deletes its rows, keeps the log verifiable and leaves other accounts alone", async () => {
  t = await createTestApp();
  const a = await t.setup({ email: "owner@a.example" });
  const b = await t.createAccount({ organisation: "Org B", email: "owner@b.example" });
  const dekOfA = (t.db.$client.query("SELECT id FROM data_keys WHERE account_id = ? AND data_class = 'user_pii'").get(a.accountId) as { id: string }).id;
  const r = terminateAccount(t.auth, a.accountId, (id) => t.keys.shred(id), "test");
  expect(r.keys).toBeGreaterThanOrEqual(2);
  expect(t.count("users", a.accountId)).toBe(0);
  expect(t.count("roles", a.accountId)).toBe(0);
  const keys = t.db.$client.query("SELECT status, wrapped FROM data_keys WHERE account_id = ?").all(a.accountId) as { status: string; wrapped: string }[];
  expect(keys.every((k) => k.status === "destroyed" && k.wrapped === "")).toBe(true);
  // Anything sealed under A's keys (a backup, the WAL) can no longer be opened; B is untouched.
  await expect(t.keys.openingKey(dekOfA)).rejects.toThrow(/destroyed/);
  expect((await t.auth.users.get(b.accountId, b.userId))!.email).toBe("owner@b.example");
  expect(t.audit.verify().ok).toBe(true);
  expect(t.db.$client.query("SELECT count(*) AS n FROM audit_log WHERE action = 'account.delete' AND target_id = ?").get(a.accountId)).toEqual({ n: 1 });
  expect(() => terminateAccount(t.auth, "nope", (id) => t.keys.shred(id), "test")).toThrow(/No account has the id/);
});
