import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { insertAccount, insertRole } from "./accounts-repo.ts";
import { openDatabase, type Db } from "./db.ts";
import { normaliseEmail, plainCodec, type PersonalContext, type PersonalDataCodec } from "./personal-data.ts";
import { createUsersRepo, type UsersRepo } from "./users-repo.ts";

/** A codec that reverses text and remembers every context, standing in for envelope encryption. */
function recordingCodec(): PersonalDataCodec & { sealed: PersonalContext[]; opened: PersonalContext[] } {
  const sealed: PersonalContext[] = [];
  const opened: PersonalContext[] = [];
  return {
    sealed,
    opened,
    async seal(ctx, value) {
      sealed.push(ctx);
      return `x1:${ctx.rowId}:${[...value].reverse().join("")}`;
    },
    async open(ctx, s) {
      opened.push(ctx);
      const prefix = `x1:${ctx.rowId}:`;
      if (!s.startsWith(prefix)) throw new Error("sealed for another row");
      return [...s.slice(prefix.length)].reverse().join("");
    },
    index: (column, v) => `k1:${column}:${v.length}:${[...v].reverse().join("")}`,
  };
}

let dir: string;
let db: Db;
let codec: ReturnType<typeof recordingCodec>;
let repo: UsersRepo;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-users-"));
  db = openDatabase(join(dir, "c.db")).db;
  insertAccount(db, { id: "acc", name: "Org", createdAt: 0 });
  insertAccount(db, { id: "other", name: "Other", createdAt: 0 });
  insertRole(db, { id: "r", accountId: "acc", name: "Member", kind: "member", createdAt: 0 });
  insertRole(db, { id: "r2", accountId: "other", name: "Member", kind: "member", createdAt: 0 });
  codec = recordingCodec();
  repo = createUsersRepo(db, codec);
});
afterAll(() => {
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("users repository and the personal-data codec", () => {
  test("name and e-mail are stored only in the codec's sealed form, bound to account, table, column and row", async () => {
    repo.insert(await repo.prepare({ id: "u1", accountId: "acc", roleId: "r", email: " Ann@Example.org ", name: "Ann Example", status: "active", passwordHash: null, now: 1 }));
    const raw = db.$client.query("SELECT * FROM users WHERE id = 'u1'").get() as Record<string, unknown>;
    const text = JSON.stringify(raw);
    expect(text).not.toContain("Ann Example");
    expect(text).not.toContain("Ann@Example.org");
    expect(codec.sealed).toEqual([
      { accountId: "acc", table: "users", column: "email", rowId: "u1" },
      { accountId: "acc", table: "users", column: "name", rowId: "u1" },
    ]);
    const u = (await repo.get("acc", "u1"))!;
    expect(u.email).toBe("Ann@Example.org");
    expect(u.name).toBe("Ann Example");
    expect(u).not.toHaveProperty("emailSealed");
    expect(u).not.toHaveProperty("emailIndex");
  });

  test("e-mail lookups go through the blind index of the normalised address", async () => {
    expect((await repo.findByEmail("ann@example.org"))?.id).toBe("u1");
    expect((await repo.findByEmail("  ANN@EXAMPLE.ORG"))?.id).toBe("u1");
    expect(repo.emailTaken("Ann@example.ORG")).toBe(true);
    expect(repo.emailTaken("bob@example.org")).toBe(false);
    const raw = db.$client.query("SELECT email_index FROM users WHERE id = 'u1'").get() as { email_index: string };
    expect(raw.email_index).toBe(codec.index("users.email", normaliseEmail("Ann@Example.org")));
  });

  test("reads are scoped by account", async () => {
    expect(await repo.get("other", "u1")).toBeUndefined();
    expect(await repo.list("other")).toEqual([]);
    expect(repo.count("acc")).toBe(1);
    repo.update("other", "u1", { status: "deactivated" });
    repo.delete("other", "u1");
    expect((await repo.get("acc", "u1"))?.status).toBe("active");
  });

  test("a renamed user's new name is sealed too", async () => {
    repo.setSealedName("acc", "u1", await repo.sealName("acc", "u1", "Ann Renamed"), 2);
    expect(JSON.stringify(db.$client.query("SELECT * FROM users WHERE id = 'u1'").get())).not.toContain("Ann Renamed");
    expect((await repo.get("acc", "u1"))!.name).toBe("Ann Renamed");
  });

  test("the e-mail is unique across the whole server", async () => {
    const dup = await repo.prepare({ id: "u2", accountId: "other", roleId: "r2", email: "ANN@example.org", name: "Impostor", status: "invited", passwordHash: null, now: 1 });
    expect(() => repo.insert(dup)).toThrow();
  });
});

describe("plainCodec", () => {
  const ctx = { accountId: "a", table: "users", column: "name", rowId: "r" };
  test("round-trips with a version prefix a later migration can find", async () => {
    const s = await plainCodec.seal(ctx, "Zoë");
    expect(s).toBe("p1:Zoë");
    expect(await plainCodec.open(ctx, s)).toBe("Zoë");
    await expect(plainCodec.open(ctx, "zz:Zoë")).rejects.toThrow();
  });

  test("indexes differ by column", () => {
    expect(plainCodec.index("users.email", "a@b.c")).not.toBe(plainCodec.index("users.other", "a@b.c"));
    expect(plainCodec.index("users.email", "a@b.c")).toMatch(/^h1:[0-9a-f]{64}$/);
  });
});
