import { describe, expect, test } from "bun:test";
import { AppError } from "../shared/errors.ts";
import type { Actor } from "./actor.ts";
import { ALL_PERMISSIONS, AREAS, DEFAULT_ADMIN_PERMISSIONS, effectivePermissions, isPermission, permissionLabel } from "./permissions.ts";
import { roleGrantable } from "./users.ts";
import { checkEmail, checkName, cleanText, throwIfErrors } from "./validate.ts";

describe("cleanText", () => {
  const cases: [string, unknown, string][] = [
    ["trims", "  Ann  ", "Ann"],
    ["strips control characters", "A\u0000n\u0007n\n", "Ann"],
    ["strips bidi overrides and isolates", "\u202Egnp.exe\u202C \u2066x\u2069", "gnp.exe x"],
    ["normalises to NFKC", "ﬁle Ｆｕｌｌ", "file Full"],
    ["turns null into an empty string", null, ""],
    ["stringifies numbers", 42, "42"],
  ];
  for (const [name, input, out] of cases) test(name, () => expect(cleanText(input)).toBe(out));
});

describe("checkName and checkEmail", () => {
  test("names are required and limited in characters, not bytes", () => {
    expect(checkName("n", "")).toEqual({ n: "Required." });
    expect(checkName("n", "é".repeat(100))).toEqual({});
    expect(checkName("n", "😀".repeat(100))).toEqual({});
    expect(checkName("n", "x".repeat(101))).toEqual({ n: "At most 100 characters." });
    expect(checkName("n", "x".repeat(61), 60)).toEqual({ n: "At most 60 characters." });
  });

  const good = ["a@b.co", "first.last+tag@sub.example.org", "ÿ@例え.jp"];
  const bad = ["", "plain", "a@b", "@b.co", "a@.co", "a b@c.co", "<a@b.co>", "a@b.co, c@d.co", "a@b@c.co", `${"a".repeat(250)}@b.co`, 'a"b@c.co'];
  for (const e of good) test(`accepts ${e}`, () => expect(checkEmail("e", e)).toEqual({}));
  for (const e of bad) test(`refuses ${JSON.stringify(e.slice(0, 30))}`, () => expect(checkEmail("e", e).e).toBeTruthy());

  test("throwIfErrors raises an invalid_input error carrying the fields", () => {
    expect(() => throwIfErrors({})).not.toThrow();
    try {
      throwIfErrors({ a: "bad" });
      throw new Error("no throw");
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("invalid_input");
      expect((e as AppError).fields).toEqual({ a: "bad" });
    }
  });
});

describe("permissions", () => {
  test("the catalogue has view and edit for every area, plus roles:assign", () => {
    expect(ALL_PERMISSIONS).toHaveLength(Object.keys(AREAS).length * 2 + 1);
    for (const a of Object.keys(AREAS)) {
      expect(isPermission(`${a}:view`)).toBe(true);
      expect(isPermission(`${a}:edit`)).toBe(true);
    }
    expect(isPermission("roles:assign")).toBe(true);
    expect(isPermission("users:delete")).toBe(false);
    expect(permissionLabel("users:edit")).toBe("User management: edit");
    expect(permissionLabel("roles:assign")).toBe("Assign roles to users");
  });

  test("Owner holds everything, Member nothing, whatever is stored; Admin and custom roles hold what is stored", () => {
    expect([...effectivePermissions("owner", [])].sort()).toEqual([...ALL_PERMISSIONS].sort());
    expect([...effectivePermissions("member", ["users:edit"])]).toEqual([]);
    expect([...effectivePermissions("admin", ["users:view", "bogus"])]).toEqual(["users:view"]);
    expect([...effectivePermissions("custom", ["audit:view"])]).toEqual(["audit:view"]);
  });

  test("the Admin starts without roles:edit and account:edit", () => {
    expect(DEFAULT_ADMIN_PERMISSIONS).not.toContain("roles:edit");
    expect(DEFAULT_ADMIN_PERMISSIONS).not.toContain("account:edit");
    expect(DEFAULT_ADMIN_PERMISSIONS).toContain("users:edit");
    expect(DEFAULT_ADMIN_PERMISSIONS).toContain("roles:assign");
  });
});

describe("roleGrantable", () => {
  const actor = (roleKind: Actor["roleKind"], perms: string[]): Actor => ({
    accountId: "a", userId: "u", label: "u", roleId: "r", roleKind, permissions: effectivePermissions(roleKind, perms), ip: "", userAgent: "",
  });
  const role = (kind: "owner" | "admin" | "member" | "custom", perms: string[] = []) => ({ id: kind, accountId: "a", name: kind, kind, description: "", permissions: JSON.stringify(perms), createdAt: 0 });

  const cases: { who: string; actor: Actor; role: ReturnType<typeof role>; ok: boolean }[] = [
    { who: "the Owner giving Admin", actor: actor("owner", []), role: role("admin", [...DEFAULT_ADMIN_PERMISSIONS]), ok: true },
    { who: "the Owner giving Owner", actor: actor("owner", []), role: role("owner"), ok: false },
    { who: "an Admin giving Member", actor: actor("admin", [...DEFAULT_ADMIN_PERMISSIONS]), role: role("member"), ok: true },
    { who: "an Admin giving Admin", actor: actor("admin", [...DEFAULT_ADMIN_PERMISSIONS]), role: role("admin", [...DEFAULT_ADMIN_PERMISSIONS]), ok: true },
    { who: "an Admin giving a role with roles:edit", actor: actor("admin", [...DEFAULT_ADMIN_PERMISSIONS]), role: role("custom", ["roles:edit"]), ok: false },
    { who: "an Admin giving Owner", actor: actor("admin", [...DEFAULT_ADMIN_PERMISSIONS]), role: role("owner"), ok: false },
    { who: "a holder without roles:assign giving a custom role", actor: actor("custom", ["users:edit", "users:view"]), role: role("custom", ["users:view"]), ok: false },
    { who: "a holder without roles:assign giving Member", actor: actor("custom", ["users:edit"]), role: role("member"), ok: true },
    { who: "a Member giving Member", actor: actor("member", []), role: role("member"), ok: true },
  ];
  for (const c of cases) test(`${c.ok ? "allows" : "refuses"} ${c.who}`, () => expect(roleGrantable(c.actor, c.role)).toBe(c.ok));
});
