import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, lastAudit, PASSWORD, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;
let admin: Signed;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup({ organisation: "Org A" });
  admin = await t.inviteAndActivate(owner, { email: "admin@a.example", name: "Ada Admin", role: "Admin" });
});
afterAll(() => t.cleanup());

async function userId(email: string): Promise<string> {
  return (await t.auth.users.findByEmail(email))!.id;
}

describe("POST /admin/users/new", () => {
  test("invites: stores an invited user, mails a single-use link and audits who invited whom", async () => {
    const mails = t.mail.length;
    const res = await admin.browser.postForm("/admin/users/new", { email: "Newbie@A.example", name: "Nia Newbie" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("An invitation was e-mailed to Newbie@A.example");
    expect(html).not.toContain("/activate?token="); // mailed, so not shown
    expect(t.mail.length).toBe(mails + 1);
    const mail = t.mail.at(-1)!;
    expect(mail.to).toBe("Newbie@A.example");
    expect(mail.subject).toContain("Org A");
    expect(mail.text).toMatch(/https:\/\/conclave\.test\/activate\?token=[\w-]{40,}/);
    const id = await userId("newbie@a.example");
    const u = (await t.auth.users.get(owner.accountId, id))!;
    expect(u).toMatchObject({ status: "invited", passwordHash: null, roleId: t.roleId(owner.accountId, "Member") });
    // only the token's hash is stored
    const token = /token=([\w-]+)/.exec(mail.text)![1]!;
    expect(JSON.stringify(t.db.$client.query("SELECT * FROM one_time_tokens").all())).not.toContain(token);
    const entry = lastAudit(t, "user.invite");
    expect(entry).toMatchObject({ actorId: admin.userId, targetType: "user", targetId: id, accountId: owner.accountId });
    expect(entry.actorLabel).toContain("admin@a.example");
    expect(entry.details).toEqual({ after: { email: "Newbie@A.example", name: "Nia Newbie", role: "Member", groups: [] } });
  });

  test("shows the link to copy when no mail could be sent", async () => {
    const t2 = await createTestApp();
    try {
      const o = await t2.setup();
      (t2.auth.mailer as { enabled: boolean }).enabled = false;
      const res = await o.browser.postForm("/admin/users/new", { email: "nomail@a.example", name: "No Mail" });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/No e-mail was sent[\s\S]*https:\/\/conclave\.test\/activate\?token=/);
    } finally {
      t2.cleanup();
    }
  });

  const bad: { name: string; fields: Record<string, string>; field: string; error: string }[] = [
    { name: "a duplicate e-mail", fields: { email: "admin@a.example", name: "Dup" }, field: "email", error: "A user with this e-mail address already exists." },
    { name: "a duplicate e-mail in other case", fields: { email: " ADMIN@a.example ", name: "Dup" }, field: "email", error: "A user with this e-mail address already exists." },
    { name: "a malformed e-mail", fields: { email: "someone@", name: "Bad" }, field: "email", error: "Enter an e-mail address like name@example.org." },
    { name: "an e-mail with a display name", fields: { email: "Eve <eve@a.example>", name: "Bad" }, field: "email", error: "Enter an e-mail address like name@example.org." },
    { name: "an empty name", fields: { email: "noname@a.example", name: " " }, field: "name", error: "Required." },
    { name: "an overlong name", fields: { email: "long@a.example", name: "n".repeat(101) }, field: "name", error: "At most 100 characters." },
    { name: "an unknown role", fields: { email: "role@a.example", name: "R", roleId: "nope" }, field: "roleId", error: "Choose one of the listed roles." },
  ];
  for (const c of bad) {
    test(`re-renders the form for ${c.name}, sending and storing nothing`, async () => {
      const counts = [t.count("users"), t.count("audit_log"), t.count("one_time_tokens"), t.mail.length];
      const res = await admin.browser.postForm("/admin/users/new", c.fields);
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain("Please correct the highlighted fields.");
      expect(html).toContain(c.error);
      if (c.field !== "roleId") expect(html).toMatch(new RegExp(`id="f-${c.field}"[^>]*aria-invalid="true"`));
      expect([t.count("users"), t.count("audit_log"), t.count("one_time_tokens"), t.mail.length]).toEqual(counts);
    });
  }
});

describe("editing a user", () => {
  test("changes name and groups, audited with before and after", async () => {
    const g = await owner.browser.postForm("/admin/groups", { name: "Sales", description: "" });
    const groupId = g.headers.get("location")!.split("/")[3]!.split("?")[0]!;
    const u = await t.inviteAndActivate(owner, { email: "edit@a.example", name: "Ed Before", role: "Member" });
    const res = await admin.browser.postForm(`/admin/users/${u.userId}`, { name: "Ed After", roleId: t.roleId(owner.accountId, "Member"), groupIds: [groupId] });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/admin/users/${u.userId}?done=1`);
    expect((await t.auth.users.get(owner.accountId, u.userId))!.name).toBe("Ed After");
    const entry = lastAudit(t, "user.update");
    expect(entry).toMatchObject({ actorId: admin.userId, targetId: u.userId });
    expect(entry.details).toEqual({ before: { name: "Ed Before", role: "Member", groups: [] }, after: { name: "Ed After", role: "Member", groups: [groupId] } });
    const groupPage = await admin.browser.get(`/admin/groups/${groupId}`);
    expect(await groupPage.text()).toContain("Ed After");
    // changing name and groups does not end their session (only role changes do)
    expect((await u.browser.get("/admin")).status).toBe(200);
  });

  test("an empty name is refused with the field error", async () => {
    const res = await admin.browser.postForm(`/admin/users/${admin.userId}`, { name: "" });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/id="f-name"[^>]*aria-invalid="true"/);
  });

  test("only the Owner edits the Owner", async () => {
    const res = await admin.browser.postForm(`/admin/users/${owner.userId}`, { name: "Pwned Owner" });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Only the Owner can edit the Owner.");
    expect((await t.auth.users.get(owner.accountId, owner.userId))!.name).toBe(owner.name);
    const self = await owner.browser.postForm(`/admin/users/${owner.userId}`, { name: "Olivia Renamed" });
    expect(self.status).toBe(303);
  });
});

describe("deactivate, reactivate, delete", () => {
  test("deactivation ends the user's sessions and blocks sign-in; reactivation restores it", async () => {
    const u = await t.inviteAndActivate(owner, { email: "deact@a.example", name: "Dee Active", role: "Member" });
    const other = await t.signIn(u.email);
    const res = await admin.browser.postForm(`/admin/users/${u.userId}/deactivate`);
    expect(res.status).toBe(303);
    expect((await t.auth.users.get(owner.accountId, u.userId))!.status).toBe("deactivated");
    expect(t.db.$client.query("SELECT count(*) AS n FROM sessions WHERE user_id = ?").get(u.userId)).toEqual({ n: 0 });
    for (const b of [u.browser, other]) expect((await b.get("/admin")).status).toBe(303);
    const signIn = await t.browser().postForm("/signin", { email: u.email, password: PASSWORD });
    expect(signIn.status).toBe(400);
    expect(await signIn.text()).toContain("The e-mail address or password is not correct.");
    expect(lastAudit(t, "signin.failure").details).toEqual({ reason: "user deactivated" });
    expect(lastAudit(t, "user.deactivate")).toMatchObject({ actorId: admin.userId, targetId: u.userId, details: { before: { status: "active" }, after: { status: "deactivated" } } });

    const again = await admin.browser.postForm(`/admin/users/${u.userId}/reactivate`);
    expect(again.status).toBe(303);
    expect(lastAudit(t, "user.reactivate")).toMatchObject({ actorId: admin.userId, targetId: u.userId, details: { before: { status: "deactivated" }, after: { status: "active" } } });
    expect((await t.browser().postForm("/signin", { email: u.email, password: PASSWORD })).status).toBe(303);
  });

  test("reactivating a never-activated user puts them back to invited; reactivating an active user is a conflict", async () => {
    await admin.browser.postForm("/admin/users/new", { email: "inv-deact@a.example", name: "Iris" });
    const id = await userId("inv-deact@a.example");
    await admin.browser.postForm(`/admin/users/${id}/deactivate`);
    await admin.browser.postForm(`/admin/users/${id}/reactivate`);
    expect((await t.auth.users.get(owner.accountId, id))!.status).toBe("invited");
    const conflict = await admin.browser.postForm(`/admin/users/${id}/reactivate`);
    expect(conflict.status).toBe(409);
  });

  test("a deactivated invitee cannot use their link", async () => {
    await admin.browser.postForm("/admin/users/new", { email: "blocked@a.example", name: "Blocked" });
    const link = t.lastMailLink("blocked@a.example").slice("https://conclave.test".length);
    await admin.browser.postForm(`/admin/users/${await userId("blocked@a.example")}/deactivate`);
    const b = t.browser();
    await b.get(link);
    expect((await b.get("/activate")).status).toBe(404);
  });

  test("delete removes the user, their sessions, memberships, settings and pending link, and is audited", async () => {
    const u = await t.inviteAndActivate(owner, { email: "gone@a.example", name: "Gus Gone", role: "Member" });
    await owner.browser.postForm(`/admin/settings/user/${u.userId}`, { key: "meeting.mute_on_entry", value: "true" });
    const res = await admin.browser.postForm(`/admin/users/${u.userId}/delete`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/users?done=deleted");
    expect(await t.auth.users.get(owner.accountId, u.userId)).toBeUndefined();
    for (const table of ["sessions", "group_members"]) expect(t.db.$client.query(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?`).get(u.userId)).toEqual({ n: 0 });
    expect(t.db.$client.query("SELECT count(*) AS n FROM settings WHERE scope_id = ?").get(u.userId)).toEqual({ n: 0 });
    expect((await u.browser.get("/admin")).status).toBe(303);
    expect(lastAudit(t, "user.delete")).toMatchObject({ actorId: admin.userId, targetId: u.userId, details: { before: { email: "gone@a.example", name: "Gus Gone", status: "active" } } });
    // the e-mail address is free again
    expect((await admin.browser.postForm("/admin/users/new", { email: "gone@a.example", name: "Gus Again" })).status).toBe(200);
  });

  test("deleting an invitee kills their pending link", async () => {
    await admin.browser.postForm("/admin/users/new", { email: "pending@a.example", name: "Pen Ding" });
    const link = t.lastMailLink("pending@a.example").slice("https://conclave.test".length);
    await admin.browser.postForm(`/admin/users/${await userId("pending@a.example")}/delete`);
    const b = t.browser();
    await b.get(link);
    expect((await b.get("/activate")).status).toBe(404);
  });

  const ownerGuards: { action: string; message: string }[] = [
    { action: "deactivate", message: "The Owner cannot be deactivated." },
    { action: "delete", message: "The Owner cannot be deleted." },
  ];
  for (const g of ownerGuards) {
    test(`the Admin cannot ${g.action} the Owner`, async () => {
      const res = await admin.browser.postForm(`/admin/users/${owner.userId}/${g.action}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(g.message);
      expect((await t.auth.users.get(owner.accountId, owner.userId))!.status).toBe("active");
    });
  }

  test("nobody deactivates or deletes themselves", async () => {
    for (const action of ["deactivate", "delete"]) {
      const res = await admin.browser.postForm(`/admin/users/${admin.userId}/${action}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(`You cannot ${action} yourself.`);
    }
    expect((await admin.browser.get("/admin")).status).toBe(200);
  });

  test("the Admin cannot deactivate or delete a user whose role holds more than theirs", async () => {
    await owner.browser.postForm("/admin/roles", { name: "Superior", permissions: ["roles:edit", "roles:view"] });
    const sup = await t.inviteAndActivate(owner, { email: "sup@a.example", name: "Sue Superior", role: "Superior" });
    for (const action of ["deactivate", "delete"]) {
      const res = await admin.browser.postForm(`/admin/users/${sup.userId}/${action}`);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("more privileges than yours");
    }
    expect((await t.auth.users.get(owner.accountId, sup.userId))!.status).toBe("active");
  });

  test("the Admin cannot change the role of a user whose role holds more than theirs", async () => {
    const sup = (await t.auth.users.findByEmail("sup@a.example"))!;
    const res = await admin.browser.postForm(`/admin/users/${sup.id}`, { name: "Sue Superior", roleId: t.roleId(owner.accountId, "Member") });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("more privileges than yours");
    expect((await t.auth.users.get(owner.accountId, sup.id))!.roleId).toBe(t.roleId(owner.accountId, "Superior"));
    // the Owner can
    expect((await owner.browser.postForm(`/admin/users/${sup.id}`, { name: "Sue Superior", roleId: t.roleId(owner.accountId, "Member") })).status).toBe(303);
  });
});

describe("the users pages", () => {
  test("list every user of the account with role and status", async () => {
    const res = await admin.browser.get("/admin/users");
    const html = await res.text();
    for (const s of ["Olivia", "admin@a.example", "Admin", "invited", "active"]) expect(html).toContain(s);
  });

  test("a member cannot see the list, the invite form or user pages", async () => {
    const m = await t.inviteAndActivate(owner, { email: "plain@a.example", name: "Plain Member", role: "Member" });
    for (const p of ["/admin/users", "/admin/users/new", `/admin/users/${admin.userId}`, "/api/v1/users"]) expect((await m.browser.get(p)).status).toBe(403);
    for (const p of [`/admin/users/${admin.userId}/deactivate`, "/admin/users/new"]) expect((await m.browser.postForm(p, { email: "x@a.example", name: "x" })).status).toBe(403);
  });

  test("the API lists users without password hashes", async () => {
    const body = (await (await admin.browser.get("/api/v1/users")).json()) as { users: Record<string, unknown>[] };
    expect(body.users.length).toBeGreaterThan(2);
    for (const u of body.users) {
      expect(u).not.toHaveProperty("passwordHash");
      expect(Object.keys(u).sort()).toEqual(["createdAt", "email", "id", "lastSignInAt", "name", "roleId", "status"]);
    }
    const one = (await (await admin.browser.get(`/api/v1/users/${admin.userId}`)).json()) as { user: Record<string, unknown> };
    expect(one.user).toMatchObject({ id: admin.userId, email: "admin@a.example", groupIds: [] });
  });
});
