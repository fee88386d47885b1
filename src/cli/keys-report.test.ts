// `conclave keys report`: the key usage report on the command line (filters, formats, bad input).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import { keysReport } from "./keys-report.ts";

let t: TestApp;
let a: Signed;
let b: Signed;
beforeAll(async () => {
  t = await createTestApp();
  a = await t.setup({ email: "owner@a.example" });
  b = await t.createAccount({ organisation: "Org B", email: "owner@b.example" });
  t.keys.wipeCache();
  await t.auth.users.get(a.accountId, a.userId); // an unwrap of account A's user data key
});
afterAll(() => t.cleanup());

function run(flags: Parameters<typeof keysReport>[1]): { code: number; out: string } {
  let out = "";
  const code = keysReport(t, flags, (s) => (out += s));
  return { code, out };
}

describe("conclave keys report", () => {
  test("CSV of one account: header, its wraps and unwraps with class, purpose, user, provider, outcome", () => {
    const r = run({ account: a.accountId, format: "csv" });
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("time,account,operation,data class,purpose,user,key slot,provider,data key,outcome,detail");
    expect(lines.slice(1).every((l) => l.includes(a.accountId))).toBe(true);
    expect(r.out).not.toContain(b.accountId);
    expect(lines.some((l) => /,unwrap,user_pii,users\.(name|email),/.test(l) && l.includes(`,${a.userId},server,local:`) && l.endsWith(",ok,"))).toBe(true);
  });

  test("table format and --since filter", () => {
    const all = run({});
    expect(all.code).toBe(0);
    expect(all.out.split("\n")[0]).toMatch(/^time\s+operation\s+data class/);
    expect(run({ since: "2999-01-01" }).out).toBe("no key usage recorded for this filter\n");
    expect(run({ since: "2026-01-01T00:00:00Z", format: "csv" }).out.split("\n").length).toBeGreaterThan(2);
  });

  test("bad flags are refused with what to fix", () => {
    expect(run({ since: "yesterday" }).code).toBe(2);
    expect(run({ format: "xml" }).code).toBe(2);
    expect(run({ account: "no-such-account" }).code).toBe(2);
    expect(run({ account: true }).code).toBe(2);
  });
});
