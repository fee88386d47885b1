/**
 * Route × role within one account: which system role reaches which admin area. Allowed
 * requests use input that fails validation, so the matrix changes nothing it probes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_ADMIN_PERMISSIONS, type Permission } from "../accounts/permissions.ts";
import { createTestApp, snapshotAccount, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
const S: Record<"owner" | "admin" | "member", Signed> = {} as never;
let groupId = "";
let customRoleId = "";

beforeAll(async () => {
  t = await createTestApp();
  S.owner = await t.setup();
  S.admin = await t.inviteAndActivate(S.owner, { email: "admin@a.example", name: "Ada Admin", role: "Admin" });
  S.member = await t.inviteAndActivate(S.owner, { email: "member@a.example", name: "Mo Member", role: "Member" });
  const g = await S.owner.browser.postForm("/admin/groups", { name: "Ops", description: "" });
  groupId = g.headers.get("location")!.split("/")[3]!.split("?")[0]!;
  const r = await S.owner.browser.postForm("/admin/roles", { name: "Viewer", description: "", permissions: ["users:view"] });
  customRoleId = r.headers.get("location")!.split("/")[3]!.split("?")[0]!;
});
afterAll(() => t.cleanup());

interface Route {
  method: "GET" | "POST";
  /** :member, :group and :role stand for ids made in beforeAll. */
  path: string;
  /** null: any signed-in user. */
  perm: Permission | null;
  body?: Record<string, string | string[]>;
}

const routes: Route[] = [
  { method: "GET", path: "/admin", perm: null },
  { method: "GET", path: "/admin/users", perm: "users:view" },
  { method: "GET", path: "/admin/users/new", perm: "users:edit" },
  { method: "POST", path: "/admin/users/new", perm: "users:edit", body: { email: "not an e-mail", name: "" } },
  { method: "GET", path: "/admin/users/:member", perm: "users:view" },
  { method: "POST", path: "/admin/users/:member", perm: "users:edit", body: { name: "" } },
  { method: "GET", path: "/admin/groups", perm: "groups:view" },
  { method: "POST", path: "/admin/groups", perm: "groups:edit", body: { name: "" } },
  { method: "GET", path: "/admin/groups/:group", perm: "groups:view" },
  { method: "POST", path: "/admin/groups/:group", perm: "groups:edit", body: { name: "" } },
  { method: "GET", path: "/admin/roles", perm: "roles:view" },
  { method: "POST", path: "/admin/roles", perm: "roles:edit", body: { name: "" } },
  { method: "GET", path: "/admin/roles/:role", perm: "roles:view" },
  { method: "POST", path: "/admin/roles/:role", perm: "roles:edit", body: { name: "", permissions: ["no:such"] } },
  { method: "GET", path: "/admin/settings", perm: "settings:view" },
  { method: "POST", path: "/admin/settings", perm: "settings:edit", body: { key: "meeting.waiting_room", value: "maybe" } },
  { method: "GET", path: "/admin/settings/group/:group", perm: "settings:view" },
  { method: "POST", path: "/admin/settings/group/:group", perm: "settings:edit", body: { key: "meeting.waiting_room", value: "maybe" } },
  { method: "GET", path: "/admin/audit", perm: "audit:view" },
  { method: "GET", path: "/admin/audit/export.csv", perm: "audit:view" },
  { method: "POST", path: "/admin/account", perm: "account:edit", body: { name: "" } },
  { method: "GET", path: "/api/v1/me", perm: null },
  { method: "GET", path: "/api/v1/users", perm: "users:view" },
  { method: "GET", path: "/api/v1/users/:member", perm: "users:view" },
  { method: "GET", path: "/api/v1/groups", perm: "groups:view" },
  { method: "GET", path: "/api/v1/roles", perm: "roles:view" },
  { method: "GET", path: "/api/v1/audit", perm: "audit:view" },
];

const holds: Record<keyof typeof S, (p: Permission) => boolean> = {
  owner: () => true,
  admin: (p) => DEFAULT_ADMIN_PERMISSIONS.includes(p),
  member: () => false,
};

const pathOf = (r: Route): string => r.path.replace(":member", S.member.userId).replace(":group", groupId).replace(":role", customRoleId);

describe("route × role", () => {
  let before: string;
  beforeAll(() => {
    before = snapshotAccount(t, S.owner.accountId).replace(/"audit":\[[^\]]*\]/, "");
  });

  for (const role of ["owner", "admin", "member"] as const) {
    describe(role, () => {
      for (const r of routes) {
        const allowed = r.perm === null || holds[role](r.perm);
        test(`${allowed ? "reaches" : "is refused (403)"} ${r.method} ${r.path}`, async () => {
          const b = S[role].browser;
          const res = r.method === "GET" ? await b.get(pathOf(r)) : await b.postForm(pathOf(r), r.body ?? {});
          if (allowed) {
            expect([200, 400]).toContain(res.status);
            if (r.method === "POST") expect(res.status).toBe(400); // validation refused the probe
          } else {
            expect(res.status).toBe(403);
          }
        });
      }
    });
  }

  test("the probes changed nothing but the audit log (exports are audited)", () => {
    expect(snapshotAccount(t, S.owner.accountId).replace(/"audit":\[[^\]]*\]/, "")).toBe(before);
  });
});

describe("signed out", () => {
  for (const r of routes) {
    test(`${r.method} ${r.path} is refused`, async () => {
      const b = t.browser();
      const res = r.method === "GET" ? await b.get(pathOf(r)) : await b.postForm(pathOf(r), r.body ?? {});
      if (r.method === "GET" && !pathOf(r).startsWith("/api/")) {
        expect(res.status).toBe(303);
        expect(res.headers.get("location")).toStartWith("/signin?next=");
      } else {
        expect(res.status).toBe(401);
      }
    });
  }
});

describe("navigation", () => {
  test("shows each role only the areas it may open", async () => {
    const links = async (s: Signed) => [...(await (await s.browser.get("/admin")).text()).matchAll(/<nav aria-label="Admin">([\s\S]*?)<\/nav>/g)].map((m) => m[1]!).join("");
    const owner = await links(S.owner);
    const member = await links(S.member);
    expect(owner).toContain('href="/admin/roles"');
    expect(owner).toContain('href="/admin/audit"');
    expect(member).toContain('href="/admin"');
    for (const area of ["users", "groups", "roles", "settings", "audit"]) expect(member).not.toContain(`href="/admin/${area}"`);
  });

  test("a member may open their own settings page but not another user's", async () => {
    expect((await S.member.browser.get(`/admin/settings/user/${S.member.userId}`)).status).toBe(200);
    expect((await S.member.browser.get(`/admin/settings/user/${S.admin.userId}`)).status).toBe(403);
  });

  test("the API's /me lists the caller's permissions", async () => {
    const me = (await (await S.admin.browser.get("/api/v1/me")).json()) as { user: Record<string, unknown>; permissions: string[] };
    expect(new Set(me.permissions)).toEqual(new Set(DEFAULT_ADMIN_PERMISSIONS));
    expect(me.user.email).toBe("admin@a.example");
    expect(me.user).not.toHaveProperty("passwordHash");
    const memberMe = (await (await S.member.browser.get("/api/v1/me")).json()) as { permissions: string[] };
    expect(memberMe.permissions).toEqual([]);
  });
});
