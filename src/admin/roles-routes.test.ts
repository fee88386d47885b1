import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, lastAudit, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;
let admin: Signed;
let member: Signed;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup();
  admin = await t.inviteAndActivate(owner, { email: "admin@a.example", name: "Ada Admin", role: "Admin" });
  member = await t.inviteAndActivate(owner, { email: "member@a.example", name: "Mo Member", role: "Member" });
});
afterAll(() => t.cleanup());

function idFrom(res: Response): string {
  return res.headers.get("location")!.split("/")[3]!.split("?")[0]!;
}

function rolePerms(id: string): string[] {
  return JSON.parse((t.db.$client.query("SELECT permissions FROM roles WHERE id = ?").get(id) as { permissions: string }).permissions);
}

/** giveRole has the Owner move a user to a role; their sessions end, so they sign in again. */
async function giveRole(s: Signed, roleName: string): Promise<Signed> {
  const res = await owner.browser.postForm(`/admin/users/${s.userId}`, { name: s.name, roleId: t.roleId(owner.accountId, roleName) });
  expect(res.status).toBe(303);
  return { ...s, browser: await t.signIn(s.email) };
}

describe("system roles", () => {
  test("the roles page lists Owner, Admin and Member with their permissions", async () => {
    const res = await owner.browser.get("/admin/roles");
    const html = await res.text();
    expect(html.indexOf(">Owner<")).toBeLessThan(html.indexOf(">Admin<"));
    expect(html.indexOf(">Admin<")).toBeLessThan(html.indexOf(">Member<"));
    expect(html).toContain("All privileges");
  });

  test("the Admin cannot edit roles at first (roles:edit is the Owner's)", async () => {
    const create = await admin.browser.postForm("/admin/roles", { name: "Sneaky", permissions: ["users:view"] });
    expect(create.status).toBe(403);
    const editOwn = await admin.browser.postForm(`/admin/roles/${t.roleId(owner.accountId, "Admin")}`, { name: "Admin", permissions: ["roles:edit"] });
    expect(editOwn.status).toBe(403);
    expect(await (await admin.browser.get("/admin/roles")).text()).not.toContain("New custom role");
  });

  test("Owner and Member permissions are fixed", async () => {
    for (const name of ["Owner", "Member"]) {
      const res = await owner.browser.postForm(`/admin/roles/${t.roleId(owner.accountId, name)}`, { name, permissions: ["users:view"] });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("fixed");
    }
    expect(rolePerms(t.roleId(owner.accountId, "Member"))).toEqual([]);
  });

  test("system roles cannot be deleted", async () => {
    for (const name of ["Owner", "Admin", "Member"]) {
      const res = await owner.browser.postForm(`/admin/roles/${t.roleId(owner.accountId, name)}/delete`);
      expect(res.status).toBe(403);
    }
    expect(t.count("roles", owner.accountId)).toBeGreaterThanOrEqual(3);
  });

  test("the Owner can change the Admin's permissions; Admins feel it at their next request", async () => {
    const adminRole = t.roleId(owner.accountId, "Admin");
    const before = rolePerms(adminRole);
    expect((await admin.browser.get("/admin/audit")).status).toBe(200);
    const res = await owner.browser.postForm(`/admin/roles/${adminRole}`, { name: "Renamed?", description: "", permissions: before.filter((p) => p !== "audit:view") });
    expect(res.status).toBe(303);
    expect(rolePerms(adminRole)).not.toContain("audit:view");
    expect((t.db.$client.query("SELECT name FROM roles WHERE id = ?").get(adminRole) as { name: string }).name).toBe("Admin"); // the name is fixed
    expect((await admin.browser.get("/admin/audit")).status).toBe(403);
    const entry = lastAudit(t, "role.update");
    expect(entry.targetId).toBe(adminRole);
    expect((entry.details.before as { permissions: string[] }).permissions).toContain("audit:view");
    expect((entry.details.after as { permissions: string[] }).permissions).not.toContain("audit:view");
    // restore
    await owner.browser.postForm(`/admin/roles/${adminRole}`, { name: "Admin", description: "", permissions: before });
    expect((await admin.browser.get("/admin/audit")).status).toBe(200);
  });
});

describe("custom roles", () => {
  test("the Owner creates a custom role; it is audited and shown", async () => {
    const res = await owner.browser.postForm("/admin/roles", { name: "Auditor", description: "Reads the log", permissions: ["audit:view", "users:view"] });
    expect(res.status).toBe(303);
    const id = idFrom(res);
    expect(rolePerms(id).sort()).toEqual(["audit:view", "users:view"]);
    expect(lastAudit(t, "role.create")).toMatchObject({ actorId: owner.userId, targetId: id, details: { after: { name: "Auditor" } } });
    const page = await owner.browser.get(`/admin/roles/${id}`);
    expect(await page.text()).toContain("Role: Auditor");
  });

  const bad: { name: string; fields: Record<string, string | string[]>; error: RegExp }[] = [
    { name: "an empty name", fields: { name: "", permissions: [] }, error: /Required/ },
    { name: "a duplicate name", fields: { name: "Admin", permissions: [] }, error: /already exists/ },
    { name: "an overlong name", fields: { name: "r".repeat(61), permissions: [] }, error: /At most 60 characters/ },
    { name: "an unknown permission", fields: { name: "Weird", permissions: ["users:view", "root:all"] }, error: /Unknown permission: root:all/ },
  ];
  for (const c of bad) {
    test(`refuses ${c.name} and stores nothing`, async () => {
      const before = t.count("roles");
      const res = await owner.browser.postForm("/admin/roles", c.fields);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(c.error);
      expect(t.count("roles")).toBe(before);
    });
  }

  test("a role held by users cannot be deleted; an unused one can", async () => {
    const res = await owner.browser.postForm("/admin/roles", { name: "Temp", permissions: ["groups:view"] });
    const id = idFrom(res);
    const holder = await t.inviteAndActivate(owner, { email: "temp@a.example", name: "Tess Temp", role: "Temp" });
    const refused = await owner.browser.postForm(`/admin/roles/${id}/delete`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("still hold this role");
    await owner.browser.postForm(`/admin/users/${holder.userId}`, { name: holder.name, roleId: t.roleId(owner.accountId, "Member") });
    const ok = await owner.browser.postForm(`/admin/roles/${id}/delete`);
    expect(ok.status).toBe(303);
    expect(t.db.$client.query("SELECT id FROM roles WHERE id = ?").get(id)).toBeNull();
    expect(lastAudit(t, "role.delete").targetId).toBe(id);
  });
});

describe("delegating role management", () => {
  test("the Owner grants roles:edit; the holder can then create roles, but only with permissions they hold", async () => {
    await owner.browser.postForm("/admin/roles", { name: "Role Manager", permissions: ["roles:view", "roles:edit", "groups:view"] });
    const manager = await giveRole(await t.inviteAndActivate(owner, { email: "rm@a.example", name: "Rita Manager", role: "Member" }), "Role Manager");
    const ok = await manager.browser.postForm("/admin/roles", { name: "Group Viewer", permissions: ["groups:view"] });
    expect(ok.status).toBe(303);
    const beyond = await manager.browser.postForm("/admin/roles", { name: "Escalator", permissions: ["groups:view", "users:edit", "account:edit"] });
    expect(beyond.status).toBe(400);
    expect(await beyond.text()).toContain("You cannot grant permissions you do not hold: users:edit, account:edit.");
    expect(t.db.$client.query("SELECT id FROM roles WHERE name = 'Escalator'").get()).toBeNull();
    // nor by editing an existing role (the Admin role here) to add what they lack
    const adminRole = t.roleId(owner.accountId, "Admin");
    const perms = rolePerms(adminRole);
    const edit = await manager.browser.postForm(`/admin/roles/${adminRole}`, { name: "Admin", permissions: [...perms, "account:edit"] });
    expect(edit.status).toBe(400);
    expect(rolePerms(adminRole)).toEqual(perms);
    // and never their own role
    const self = await manager.browser.postForm(`/admin/roles/${t.roleId(owner.accountId, "Role Manager")}`, { name: "Role Manager", permissions: ["roles:view", "roles:edit"] });
    expect(self.status).toBe(403);
    expect(await self.text()).toContain("your own role");
  });

  test("even the Admin, granted roles:edit by the Owner, cannot hand out account:edit", async () => {
    const adminRole = t.roleId(owner.accountId, "Admin");
    const perms = rolePerms(adminRole);
    await owner.browser.postForm(`/admin/roles/${adminRole}`, { name: "Admin", permissions: [...perms, "roles:edit"] });
    const res = await admin.browser.postForm("/admin/roles", { name: "Account Editor", permissions: ["account:edit"] });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("You cannot grant permissions you do not hold: account:edit.");
    const ok = await admin.browser.postForm("/admin/roles", { name: "Helpdesk", permissions: ["users:view", "users:edit"] });
    expect(ok.status).toBe(303);
    await owner.browser.postForm(`/admin/roles/${adminRole}`, { name: "Admin", permissions: perms });
  });

  test("roles:assign lets a holder give roles whose permissions they hold, never Owner or more", async () => {
    await owner.browser.postForm("/admin/roles", { name: "Assigner", permissions: ["users:view", "users:edit", "roles:view", "roles:assign", "groups:view"] });
    await owner.browser.postForm("/admin/roles", { name: "Group Reader", permissions: ["groups:view"] });
    const assigner = await giveRole(await t.inviteAndActivate(owner, { email: "as@a.example", name: "Asa Assigner", role: "Member" }), "Assigner");
    const target = await t.inviteAndActivate(owner, { email: "target@a.example", name: "Tim Target", role: "Member" });
    const give = (role: string) => assigner.browser.postForm(`/admin/users/${target.userId}`, { name: target.name, roleId: t.roleId(owner.accountId, role) });

    expect((await give("Group Reader")).status).toBe(303);
    for (const role of ["Admin", "Owner"]) {
      const res = await give(role);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("You cannot give this role.");
    }
    expect((await t.auth.users.get(owner.accountId, target.userId))!.roleId).toBe(t.roleId(owner.accountId, "Group Reader"));
    // the invite form offers only grantable roles
    const form = await (await assigner.browser.get("/admin/users/new")).text();
    expect(form).toContain(">Group Reader<");
    expect(form).not.toContain(">Admin<");
    expect(form).not.toContain(">Owner<");
    // without roles:assign, only Member can be given
    await owner.browser.postForm("/admin/roles", { name: "Inviter", permissions: ["users:view", "users:edit", "groups:view"] });
    const inviter = await giveRole(await t.inviteAndActivate(owner, { email: "inv@a.example", name: "Ivan Inviter", role: "Member" }), "Inviter");
    const res = await inviter.browser.postForm("/admin/users/new", { email: "x1@a.example", name: "X", roleId: t.roleId(owner.accountId, "Group Reader") });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("You cannot give this role.");
    const asMember = await inviter.browser.postForm("/admin/users/new", { email: "x2@a.example", name: "X" });
    expect(asMember.status).toBe(200);
  });

  test("the Admin (roles:assign by default) cannot give the Owner role, by invitation or by edit", async () => {
    const owners = t.roleId(owner.accountId, "Owner");
    const invite = await admin.browser.postForm("/admin/users/new", { email: "newowner@a.example", name: "New Owner", roleId: owners });
    expect(invite.status).toBe(400);
    const edit = await admin.browser.postForm(`/admin/users/${member.userId}`, { name: member.name, roleId: owners });
    expect(edit.status).toBe(400);
    expect(await edit.text()).toContain("You cannot give this role.");
    const ownerEdit = await owner.browser.postForm(`/admin/users/${member.userId}`, { name: member.name, roleId: owners });
    expect(ownerEdit.status).toBe(400); // one Owner per account
    const ownersNow = t.db.$client.query("SELECT count(*) AS n FROM users WHERE role_id = ?").get(owners) as { n: number };
    expect(ownersNow.n).toBe(1);
  });

  test("nobody changes their own role", async () => {
    const res = await admin.browser.postForm(`/admin/users/${admin.userId}`, { name: admin.name, roleId: t.roleId(owner.accountId, "Member") });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("You cannot change your own role.");
  });

  test("a role change ends the user's sessions (privilege change)", async () => {
    const u = await t.inviteAndActivate(owner, { email: "rot@a.example", name: "Rob Rotate", role: "Member" });
    expect((await u.browser.get("/admin")).status).toBe(200);
    await owner.browser.postForm(`/admin/users/${u.userId}`, { name: u.name, roleId: t.roleId(owner.accountId, "Admin") });
    expect((await u.browser.get("/admin")).status).toBe(303);
    const again = await t.signIn(u.email);
    expect((await again.get("/admin/users")).status).toBe(200);
  });
});
