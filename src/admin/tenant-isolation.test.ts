/**
 * Tenant isolation (IDOR): for every route that takes an id, a user of account A addressing an
 * object of account B gets 404 — exactly what a made-up id gets — or 403 when they lack the
 * permission for the area anyway; and nothing of account B changes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_ADMIN_PERMISSIONS, type Permission } from "../accounts/permissions.ts";
import { createTestApp, snapshotAccount, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
const A: Record<"owner" | "admin" | "member", Signed> = {} as never;
const B: Record<"owner" | "admin" | "member", Signed> = {} as never;
const ids = { bInvited: "", bGroup: "", bCustomRole: "", bAdminRole: "", bOwnerRole: "", aGroup: "", aCustomRole: "" };

beforeAll(async () => {
  t = await createTestApp();
  A.owner = await t.setup({ organisation: "Org A", email: "owner@a.example" });
  A.admin = await t.inviteAndActivate(A.owner, { email: "admin@a.example", name: "A Admin", role: "Admin" });
  A.member = await t.inviteAndActivate(A.owner, { email: "member@a.example", name: "A Member", role: "Member" });
  B.owner = await t.createAccount({ organisation: "Org B", email: "owner@b.example" });
  B.admin = await t.inviteAndActivate(B.owner, { email: "admin@b.example", name: "B Admin", role: "Admin" });
  B.member = await t.inviteAndActivate(B.owner, { email: "member@b.example", name: "B Member", role: "Member" });
  await B.owner.browser.postForm("/admin/users/new", { email: "invited@b.example", name: "B Invited" });
  ids.bInvited = (await t.auth.users.findByEmail("invited@b.example"))!.id;

  for (const [who, acc] of [["b", B], ["a", A]] as const) {
    const g = await acc.owner.browser.postForm("/admin/groups", { name: `${who} group`, description: "" });
    const r = await acc.owner.browser.postForm("/admin/roles", { name: `${who} custom`, description: "", permissions: ["users:view"] });
    const groupId = g.headers.get("location")!.split("/")[3]!.split("?")[0]!;
    const roleId = r.headers.get("location")!.split("/")[3]!.split("?")[0]!;
    if (who === "b") Object.assign(ids, { bGroup: groupId, bCustomRole: roleId });
    else Object.assign(ids, { aGroup: groupId, aCustomRole: roleId });
  }
  ids.bAdminRole = t.roleId(B.owner.accountId, "Admin");
  ids.bOwnerRole = t.roleId(B.owner.accountId, "Owner");
  // B stores settings at every level, so a leak or overwrite would show.
  await B.owner.browser.postForm("/admin/settings", { key: "meeting.waiting_room", value: "false", locked: "1" });
  await B.owner.browser.postForm(`/admin/settings/group/${ids.bGroup}`, { key: "meeting.mute_on_entry", value: "true" });
  await B.owner.browser.postForm(`/admin/settings/user/${B.member.userId}`, { key: "meeting.screen_share", value: "all" });
  await B.owner.browser.postForm(`/admin/users/${B.member.userId}`, { name: "B Member", roleId: t.roleId(B.owner.accountId, "Member"), groupIds: [ids.bGroup] });
});
afterAll(() => t.cleanup());

interface IdRoute {
  method: "GET" | "POST";
  label: string;
  path: () => string;
  /** The permission the area needs; without it the answer is 403 whatever the id. */
  perm: Permission;
  body?: () => Record<string, string | string[]>;
  /** The same route with a made-up id in place of B's. */
  madeUp: () => string;
}

const fake = "AAAAAAAAAAAAAAAA";
const idRoutes: IdRoute[] = [
  { method: "GET", label: "/admin/users/:B-member", path: () => `/admin/users/${B.member.userId}`, perm: "users:view", madeUp: () => `/admin/users/${fake}` },
  { method: "GET", label: "/admin/users/:B-owner", path: () => `/admin/users/${B.owner.userId}`, perm: "users:view", madeUp: () => `/admin/users/${fake}` },
  { method: "POST", label: "/admin/users/:B-member", path: () => `/admin/users/${B.member.userId}`, perm: "users:edit", body: () => ({ name: "Hacked", roleId: "", groupIds: [] }), madeUp: () => `/admin/users/${fake}` },
  { method: "POST", label: "/admin/users/:B-admin", path: () => `/admin/users/${B.admin.userId}`, perm: "users:edit", body: () => ({ name: "B Admin", roleId: ids.bOwnerRole }), madeUp: () => `/admin/users/${fake}` },
  { method: "POST", label: "/admin/users/:B-member/deactivate", path: () => `/admin/users/${B.member.userId}/deactivate`, perm: "users:edit", madeUp: () => `/admin/users/${fake}/deactivate` },
  { method: "POST", label: "/admin/users/:B-member/reactivate", path: () => `/admin/users/${B.member.userId}/reactivate`, perm: "users:edit", madeUp: () => `/admin/users/${fake}/reactivate` },
  { method: "POST", label: "/admin/users/:B-member/delete", path: () => `/admin/users/${B.member.userId}/delete`, perm: "users:edit", madeUp: () => `/admin/users/${fake}/delete` },
  { method: "POST", label: "/admin/users/:B-invited/resend", path: () => `/admin/users/${ids.bInvited}/resend`, perm: "users:edit", madeUp: () => `/admin/users/${fake}/resend` },
  { method: "GET", label: "/admin/groups/:B-group", path: () => `/admin/groups/${ids.bGroup}`, perm: "groups:view", madeUp: () => `/admin/groups/${fake}` },
  { method: "POST", label: "/admin/groups/:B-group", path: () => `/admin/groups/${ids.bGroup}`, perm: "groups:edit", body: () => ({ name: "Hacked", description: "" }), madeUp: () => `/admin/groups/${fake}` },
  { method: "POST", label: "/admin/groups/:B-group/delete", path: () => `/admin/groups/${ids.bGroup}/delete`, perm: "groups:edit", madeUp: () => `/admin/groups/${fake}/delete` },
  { method: "GET", label: "/admin/roles/:B-custom-role", path: () => `/admin/roles/${ids.bCustomRole}`, perm: "roles:view", madeUp: () => `/admin/roles/${fake}` },
  { method: "GET", label: "/admin/roles/:B-admin-role", path: () => `/admin/roles/${ids.bAdminRole}`, perm: "roles:view", madeUp: () => `/admin/roles/${fake}` },
  { method: "POST", label: "/admin/roles/:B-custom-role", path: () => `/admin/roles/${ids.bCustomRole}`, perm: "roles:edit", body: () => ({ name: "Hacked", description: "", permissions: [] }), madeUp: () => `/admin/roles/${fake}` },
  { method: "POST", label: "/admin/roles/:B-admin-role", path: () => `/admin/roles/${ids.bAdminRole}`, perm: "roles:edit", body: () => ({ name: "Admin", description: "", permissions: [] }), madeUp: () => `/admin/roles/${fake}` },
  { method: "POST", label: "/admin/roles/:B-custom-role/delete", path: () => `/admin/roles/${ids.bCustomRole}/delete`, perm: "roles:edit", madeUp: () => `/admin/roles/${fake}/delete` },
  { method: "GET", label: "/admin/settings/user/:B-member", path: () => `/admin/settings/user/${B.member.userId}`, perm: "settings:view", madeUp: () => `/admin/settings/user/${fake}` },
  { method: "POST", label: "/admin/settings/user/:B-member", path: () => `/admin/settings/user/${B.member.userId}`, perm: "settings:edit", body: () => ({ key: "meeting.screen_share", value: "host" }), madeUp: () => `/admin/settings/user/${fake}` },
  { method: "GET", label: "/admin/settings/group/:B-group", path: () => `/admin/settings/group/${ids.bGroup}`, perm: "settings:view", madeUp: () => `/admin/settings/group/${fake}` },
  { method: "POST", label: "/admin/settings/group/:B-group", path: () => `/admin/settings/group/${ids.bGroup}`, perm: "settings:edit", body: () => ({ key: "meeting.mute_on_entry", value: "false", locked: "1" }), madeUp: () => `/admin/settings/group/${fake}` },
  { method: "GET", label: "/api/v1/users/:B-member", path: () => `/api/v1/users/${B.member.userId}`, perm: "users:view", madeUp: () => `/api/v1/users/${fake}` },
];

/** What each system role of A holds (Admin: the default set). */
const HOLDS: Record<"owner" | "admin" | "member", (p: Permission) => boolean> = {
  owner: () => true,
  admin: (p) => DEFAULT_ADMIN_PERMISSIONS.includes(p),
  member: () => false,
};

async function send(s: Signed, method: "GET" | "POST", path: string, body: Record<string, string | string[]> = {}, htmx = false): Promise<Response> {
  if (method === "GET") return s.browser.get(path);
  return htmx ? s.browser.htmxPost(path, body) : s.browser.postForm(path, body);
}

function bodyText(html: string): string {
  // Compare the message a page shows, not the per-request CSRF token or navigation.
  return /<main id="main">([\s\S]*)<\/main>/.exec(html)?.[1] ?? html;
}

describe("a user of account A addressing account B's ids", () => {
  let before: string;
  beforeAll(() => {
    before = snapshotAccount(t, B.owner.accountId);
  });

  for (const role of ["owner", "admin", "member"] as const) {
    for (const r of idRoutes) {
      const expected = HOLDS[role](r.perm) ? 404 : 403;
      test(`${role} of A: ${r.method} ${r.label} → ${expected}`, async () => {
        const res = await send(A[role], r.method, r.path(), r.body?.());
        expect(res.status).toBe(expected);
        if (expected === 404) {
          // indistinguishable from an id that exists nowhere
          const made = await send(A[role], r.method, r.madeUp(), r.body?.());
          expect(made.status).toBe(404);
          const [x, y] = [await res.text(), await made.text()];
          expect(bodyText(x).replaceAll(/[A-Za-z0-9_-]{16}/g, "ID")).toBe(bodyText(y).replaceAll(/[A-Za-z0-9_-]{16}/g, "ID"));
          expect(x).not.toContain("B Member");
          expect(x).not.toContain("member@b.example");
        }
      });
    }
  }

  test("htmx setting posts to B's scopes are 404 too", async () => {
    expect((await A.admin.browser.htmxPost(`/admin/settings/group/${ids.bGroup}`, { key: "meeting.mute_on_entry", value: "false" })).status).toBe(404);
    expect((await A.owner.browser.htmxPost(`/admin/settings/user/${B.member.userId}`, { key: "meeting.screen_share", value: "host" })).status).toBe(404);
  });

  test("B's role and group ids cannot be smuggled into A's forms", async () => {
    const invite = await A.owner.browser.postForm("/admin/users/new", { email: "smuggle@a.example", name: "Smuggle", roleId: ids.bAdminRole });
    expect(invite.status).toBe(400);
    expect(await invite.text()).toContain("Choose one of the listed roles.");
    const withGroup = await A.owner.browser.postForm("/admin/users/new", { email: "smuggle@a.example", name: "Smuggle", groupIds: [ids.bGroup] });
    expect(withGroup.status).toBe(400);
    expect(await withGroup.text()).toContain("Choose groups from the list.");
    expect(await t.auth.users.findByEmail("smuggle@a.example")).toBeUndefined();
    const edit = await A.owner.browser.postForm(`/admin/users/${A.member.userId}`, { name: "A Member", roleId: ids.bCustomRole, groupIds: [ids.bGroup] });
    expect(edit.status).toBe(400);
    const memberships = t.db.$client.query("SELECT count(*) AS n FROM group_members WHERE user_id = ?").get(A.member.userId) as { n: number };
    expect(memberships.n).toBe(0);
  });

  test("A's lists and exports never show B's users, groups, roles or audit entries", async () => {
    const pages = ["/admin/users", "/admin/groups", "/admin/roles", "/admin/audit", "/admin/audit/export.csv", "/api/v1/users", "/api/v1/groups", "/api/v1/roles", "/api/v1/audit", "/admin"];
    for (const p of pages) {
      const res = await A.owner.browser.get(p);
      expect(res.status).toBe(200);
      const text = await res.text();
      for (const secret of ["@b.example", "Org B", "b group", "b custom", ids.bGroup, ids.bCustomRole, B.member.userId, B.owner.accountId]) expect(text).not.toContain(secret);
    }
  });

  test("a B id in the audit filter finds nothing", async () => {
    const res = await A.owner.browser.get(`/api/v1/audit?target=${ids.bGroup}`);
    expect(((await res.json()) as { entries: unknown[] }).entries).toEqual([]);
  });

  test("nothing of account B changed", () => {
    expect(snapshotAccount(t, B.owner.accountId)).toBe(before);
  });

  test("B's owner still sees B's own objects (the ids were real)", async () => {
    for (const p of [`/admin/users/${B.member.userId}`, `/admin/groups/${ids.bGroup}`, `/admin/roles/${ids.bCustomRole}`, `/admin/settings/group/${ids.bGroup}`, `/admin/settings/user/${B.member.userId}`]) {
      expect((await B.owner.browser.get(p)).status).toBe(200);
    }
  });
});

describe("signed out", () => {
  for (const r of idRoutes) {
    const path = r.label;
    const api = path.startsWith("/api/");
    const expected = r.method === "GET" && !api ? 303 : 401;
    test(`${r.method} ${path} → ${expected}`, async () => {
      const b = t.browser();
      const res = r.method === "GET" ? await b.get(r.path()) : await b.postForm(r.path(), r.body?.() ?? {});
      expect(res.status).toBe(expected);
      if (expected === 303) expect(res.headers.get("location")).toBe(`/signin?next=${encodeURIComponent(r.path())}`);
    });
  }
});
