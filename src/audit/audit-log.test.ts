import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../../tests/helpers/test-app.ts";
import { auditCsv, entryHash, GENESIS_HASH } from "./audit-log.ts";

const apps: TestApp[] = [];
async function fresh(): Promise<TestApp> {
  const t = await createTestApp();
  apps.push(t);
  await t.audit.prepare(who.accountId); // entries of an account are sealed with its log key
  // Creating that key is itself logged: start the tests from an empty log.
  const raw = new Database(t.paths.db);
  try {
    raw.run("DROP TRIGGER audit_log_no_delete");
    raw.run("DELETE FROM audit_log");
    raw.run("CREATE TRIGGER `audit_log_no_delete` BEFORE DELETE ON `audit_log` BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END");
  } finally {
    raw.close();
  }
  return t;
}
afterEach(() => {
  for (const t of apps.splice(0)) t.cleanup();
});

const who = { accountId: "acc1", userId: "u1", label: "Ann <ann@x.example>", ip: "192.0.2.7", userAgent: "UA" };

/** fill appends n entries and returns their ids in order. */
function fill(t: TestApp, n: number): string[] {
  return Array.from({ length: n }, (_, i) => t.audit.record(who, { action: `test.step${i + 1}`, targetType: "thing", targetId: `t${i + 1}`, before: { n: i }, after: { n: i + 1 } }).id);
}

type Row = { seq: number; id: string; prev_hash: string; hash: string; details: string };
const rowsOf = (t: TestApp): Row[] => t.db.$client.query("SELECT seq, id, prev_hash, hash, details FROM audit_log ORDER BY seq").all() as Row[];

/** tamper opens the database file as an attacker with shell access would. */
function tamper(t: TestApp, ...sql: string[]): void {
  const raw = new Database(t.paths.db);
  try {
    for (const s of sql) raw.run(s);
  } finally {
    raw.close();
  }
}

describe("audit log chain", () => {
  test("each entry stores the previous entry's hash, starting from the genesis hash", async () => {
    const t = await fresh();
    fill(t, 4);
    const rows = rowsOf(t);
    expect(rows).toHaveLength(4);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(4);
    expect(t.audit.verify()).toEqual({ ok: true, checked: 4 });
  });

  test("stores who, what, target, when, from where, and before/after", async () => {
    const t = await fresh();
    t.clock.advance(5000);
    const row = t.audit.record(who, { action: "user.update", targetType: "user", targetId: "u2", before: { name: "A" }, after: { name: "B" }, detail: { note: "x" } });
    expect(row).toMatchObject({ accountId: "acc1", actorId: "u1", actorLabel: who.label, action: "user.update", targetType: "user", targetId: "u2", ip: "192.0.2.7", userAgent: "UA", at: t.clock.now() });
    expect(JSON.parse(row.details)).toEqual({ note: "x", before: { name: "A" }, after: { name: "B" } });
  });

  test("the hash covers every stored field", async () => {
    const base = { prevHash: GENESIS_HASH, id: "i", accountId: "a", at: 1, actorId: "u", actorLabel: "l", action: "x", targetType: "t", targetId: "ti", ip: "", userAgent: "", details: "{}" };
    const h = entryHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    for (const [k, v] of Object.entries(base)) {
      const changed = { ...base, [k]: typeof v === "number" ? v + 1 : `${v}!` };
      expect(entryHash(changed)).not.toBe(h);
    }
    // field boundaries cannot be shifted to forge the same hash
    expect(entryHash({ ...base, actorLabel: "l", action: "x" })).not.toBe(entryHash({ ...base, actorLabel: "lx", action: "" }));
  });

  test("an entry recorded inside a failed transaction disappears with it", async () => {
    const t = await fresh();
    fill(t, 1);
    expect(() =>
      t.db.$client.transaction(() => {
        t.audit.record(who, { action: "doomed" });
        throw new Error("abort");
      })(),
    ).toThrow("abort");
    expect(rowsOf(t)).toHaveLength(1);
    expect(t.audit.verify().ok).toBe(true);
  });
});

describe("the database refuses edits to the log", () => {
  test("UPDATE and DELETE are aborted by triggers", async () => {
    const t = await fresh();
    fill(t, 2);
    expect(() => t.db.$client.run("UPDATE audit_log SET details = '{}' WHERE seq = 1")).toThrow(/append-only/);
    expect(() => t.db.$client.run("DELETE FROM audit_log WHERE seq = 1")).toThrow(/append-only/);
    expect(() => t.db.$client.run("DELETE FROM audit_log")).toThrow(/append-only/);
    expect(rowsOf(t)).toHaveLength(2);
  });
});

describe("verify() detects tampering and names the first broken entry", () => {
  test("a modified entry (trigger dropped by someone with file access) is named", async () => {
    const t = await fresh();
    const ids = fill(t, 5);
    tamper(t, "DROP TRIGGER audit_log_no_update", `UPDATE audit_log SET details = '{"after":{"n":999}}' WHERE id = '${ids[2]}'`);
    const r = t.audit.verify();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.brokenId).toBe(ids[2]!);
    expect(r.brokenSeq).toBe(3);
    expect(r.checked).toBe(2);
    expect(r.reason).toContain("modified");
  });

  test("a modified entry whose own hash was recomputed breaks the link of the next one", async () => {
    const t = await fresh();
    const ids = fill(t, 4);
    const row = t.db.$client.query("SELECT * FROM audit_log WHERE id = ?").get(ids[1]!) as Record<string, string | number | null>;
    const forged = { prevHash: row.prev_hash, id: row.id, accountId: row.account_id, at: row.at, actorId: row.actor_id, actorLabel: row.actor_label, action: "test.innocent", targetType: row.target_type, targetId: row.target_id, ip: row.ip, userAgent: row.user_agent, details: row.details } as Parameters<typeof entryHash>[0];
    tamper(t, "DROP TRIGGER audit_log_no_update", `UPDATE audit_log SET action = 'test.innocent', hash = '${entryHash(forged)}' WHERE id = '${ids[1]}'`);
    const r = t.audit.verify();
    expect(r).toMatchObject({ ok: false, brokenId: ids[2], brokenSeq: 3 });
    if (!r.ok) expect(r.reason).toContain("removed or reordered");
  });

  test("a deleted entry is reported at the entry that follows it", async () => {
    const t = await fresh();
    const ids = fill(t, 5);
    tamper(t, "DROP TRIGGER audit_log_no_delete", `DELETE FROM audit_log WHERE id = '${ids[1]}'`);
    const r = t.audit.verify();
    expect(r).toMatchObject({ ok: false, brokenId: ids[2], brokenSeq: 3, checked: 1 });
    if (!r.ok) expect(r.reason).toContain("removed");
  });

  test("a deleted first entry is reported at the new first entry", async () => {
    const t = await fresh();
    const ids = fill(t, 3);
    tamper(t, "DROP TRIGGER audit_log_no_delete", `DELETE FROM audit_log WHERE id = '${ids[0]}'`);
    expect(t.audit.verify()).toMatchObject({ ok: false, brokenId: ids[1], checked: 0 });
  });

  test("swapped entries are detected", async () => {
    const t = await fresh();
    const ids = fill(t, 4);
    tamper(t, "DROP TRIGGER audit_log_no_update", `UPDATE audit_log SET seq = 100 WHERE id = '${ids[1]}'`, `UPDATE audit_log SET seq = 2 WHERE id = '${ids[2]}'`, `UPDATE audit_log SET seq = 3 WHERE id = '${ids[1]}'`);
    expect(t.audit.verify()).toMatchObject({ ok: false, brokenSeq: 2, brokenId: ids[2] });
  });

  test("an empty log verifies", async () => {
    const t = await fresh();
    expect(t.audit.verify()).toEqual({ ok: true, checked: 0 });
  });

  test("a long log verifies across scan pages", async () => {
    const t = await fresh();
    t.db.$client.transaction(() => fill(t, 1001))();
    expect(t.audit.verify()).toEqual({ ok: true, checked: 1001 });
  });
});

describe("auditCsv", () => {
  const row = (over: Partial<Parameters<typeof auditCsv>[0][number]>) => ({
    seq: 1, id: "id", accountId: "a", at: Date.UTC(2026, 0, 2, 3, 4, 5), actorId: "u", actorLabel: "Ann", action: "user.update",
    targetType: "user", targetId: "u2", ip: "192.0.2.1", userAgent: "UA", details: "{}", prevHash: "p", hash: "h", ...over,
  });

  test("has a header and one CRLF-terminated line per entry", () => {
    const csv = auditCsv([row({}), row({ seq: 2 })]);
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe("seq,at,actor,action,target_type,target_id,ip,user_agent,details,hash");
    expect(lines[1]).toBe("1,2026-01-02T03:04:05.000Z,Ann,user.update,user,u2,192.0.2.1,UA,{},h");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe("");
  });

  const formulas: [string, string][] = [
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ["+1+1", "'+1+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tx", "'\tx"],
  ];
  for (const [input, expected] of formulas) {
    test(`neutralises a formula starting with ${JSON.stringify(input[0])}`, () => {
      const line = auditCsv([row({ actorLabel: input })]).split("\r\n")[1]!;
      expect(line.split(",")[2]).toBe(expected);
    });
  }

  test("quotes fields with commas, quotes and newlines, doubling inner quotes", () => {
    const line = auditCsv([row({ actorLabel: 'Ann "the, admin"', details: '{"a":"b"}', userAgent: "x\ny" })]).split("\r\n").slice(1, 3).join("\r\n");
    expect(line).toContain('"Ann ""the, admin"""');
    expect(line).toContain('"{""a"":""b""}"');
    expect(line).toContain('"x\ny"');
  });

  test("neutralises and quotes together", () => {
    const line = auditCsv([row({ actorLabel: '=HYPERLINK("http://evil.example","x")' })]).split("\r\n")[1]!;
    expect(line).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
  });
});
