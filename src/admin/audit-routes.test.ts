import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { auditActions, createTestApp, lastAudit, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;
let admin: Signed;
let member: Signed;
let groupId = "";

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup();
  admin = await t.inviteAndActivate(owner, { email: "admin@a.example", name: "Ada Admin", role: "Admin" });
  member = await t.inviteAndActivate(owner, { email: "member@a.example", name: "Mo Member", role: "Member" });
  const g = await admin.browser.postForm("/admin/groups", { name: "Ops", description: "" });
  groupId = g.headers.get("location")!.split("/")[3]!.split("?")[0]!;
});
afterAll(() => t.cleanup());

/** actionsOn lists the data-action of each row on a log page. */
function actionsOn(html: string): string[] {
  return [...html.matchAll(/<tr data-action="([^"]+)"/g)].map((m) => m[1]!);
}

describe("every state change writes an audit entry", () => {
  test("the first-run, invitations, activations, sign-ins and changes so far are all in the log, and the chain verifies", () => {
    const actions = auditActions(t, owner.accountId);
    for (const a of ["account.create", "user.create_owner", "user.invite", "user.activate", "signin.success", "group.create"]) expect(actions).toContain(a);
    expect(actions.filter((a) => a === "user.invite")).toHaveLength(2);
    expect(t.audit.verify().ok).toBe(true);
  });

  const changes: { name: string; run: () => Promise<Response>; action: string }[] = [
    { name: "renaming the account", run: () => owner.browser.postForm("/admin/account", { name: "Org A Renamed" }), action: "account.rename" },
    { name: "editing a group", run: () => admin.browser.postForm(`/admin/groups/${groupId}`, { name: "Ops 2", description: "x" }), action: "group.update" },
    { name: "creating a role", run: () => owner.browser.postForm("/admin/roles", { name: "Reader", permissions: ["users:view"] }), action: "role.create" },
    { name: "changing a setting", run: () => admin.browser.postForm("/admin/settings", { key: "meeting.mute_on_entry", value: "true" }), action: "setting.update" },
    { name: "editing a user", run: () => admin.browser.postForm(`/admin/users/${member.userId}`, { name: "Mo Renamed" }), action: "user.update" },
    { name: "deleting a group", run: () => admin.browser.postForm(`/admin/groups/${groupId}/delete`), action: "group.delete" },
  ];
  for (const c of changes) {
    test(`${c.name} is logged with actor and target`, async () => {
      const before = t.count("audit_log");
      const res = await c.run();
      expect(res.status).toBe(303);
      expect(t.count("audit_log")).toBe(before + 1);
      const e = lastAudit(t, c.action);
      expect(e.accountId).toBe(owner.accountId);
      expect(e.actorId).toBeTruthy();
      expect(e.targetId).toBeTruthy();
      expect(t.audit.verify().ok).toBe(true);
    });
  }

  test("the account rename records before and after", () => {
    expect(lastAudit(t, "account.rename").details).toEqual({ before: { name: "Org A" }, after: { name: "Org A Renamed" } });
  });
});

describe("GET /admin/audit", () => {
  test("lists the account's entries newest first", async () => {
    const res = await admin.browser.get("/admin/audit");
    expect(res.status).toBe(200);
    const actions = actionsOn(await res.text());
    expect(actions[0]).toBe(auditActions(t, owner.accountId).at(-1)!);
    expect(actions).toContain("account.create");
  });

  test("filters by action prefix, actor and target", async () => {
    const byAction = actionsOn(await (await admin.browser.get("/admin/audit?action=user.")).text());
    expect(byAction.length).toBeGreaterThan(0);
    expect(byAction.every((a) => a.startsWith("user."))).toBe(true);
    const byActor = await (await admin.browser.get(`/admin/audit?actor=${encodeURIComponent("admin@a.example")}`)).text();
    expect(actionsOn(byActor)).toContain("group.create");
    expect(actionsOn(byActor)).not.toContain("account.create");
    const byTarget = actionsOn(await (await admin.browser.get(`/admin/audit?target=${groupId}`)).text());
    expect(byTarget.sort()).toEqual(["group.create", "group.delete", "group.update"]);
  });

  test("filters by date; a malformed date is a 400 with the field's message", async () => {
    const today = new Date(t.clock.now()).toISOString().slice(0, 10);
    expect(actionsOn(await (await admin.browser.get(`/admin/audit?from=${today}&to=${today}`)).text()).length).toBeGreaterThan(0);
    expect(actionsOn(await (await admin.browser.get("/admin/audit?from=2099-01-01")).text())).toEqual([]);
    const bad = await admin.browser.get("/admin/audit?from=yesterday");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("Use a date like");
  });

  test("an htmx filter request gets only the results block", async () => {
    const res = await admin.browser.get("/admin/audit?action=group.", { "hx-request": "true", "hx-target": "audit-results" });
    const html = await res.text();
    expect(html).toStartWith('<div id="audit-results">');
    expect(html).not.toContain("<html");
    expect(actionsOn(html).every((a) => a.startsWith("group."))).toBe(true);
  });

  test("pages through long logs 100 entries at a time", async () => {
    t.db.$client.transaction(() => {
      for (let i = 0; i < 130; i++) t.audit.record({ accountId: owner.accountId, userId: null, label: "bulk" }, { action: "bulk.entry", targetId: `n${i}` });
    })();
    const first = await (await admin.browser.get("/admin/audit?action=bulk.")).text();
    expect(actionsOn(first)).toHaveLength(100);
    const next = /href="(\/admin\/audit\?[^"]*before=\d+[^"]*)"/.exec(first)![1]!.replaceAll("&amp;", "&");
    const second = await (await admin.browser.get(next)).text();
    expect(actionsOn(second)).toHaveLength(30);
    expect(second).not.toContain("Older entries");
  });

  test("requires audit:view", async () => {
    expect((await member.browser.get("/admin/audit")).status).toBe(403);
    expect((await member.browser.get("/admin/audit/export.csv")).status).toBe(403);
    expect((await member.browser.get("/api/v1/audit")).status).toBe(403);
  });
});

describe("GET /admin/audit/export.csv", () => {
  test("downloads matching entries as CSV, neutralising formulas, and logs the export", async () => {
    const evil = await t.inviteAndActivate(owner, { email: "evil@a.example", name: "=cmd|' /C calc'!A0", role: "Member" });
    expect(evil.userId).toBeTruthy();
    const res = await admin.browser.get("/admin/audit/export.csv?action=user.");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="conclave-audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const csv = await res.text();
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toBe("seq,at,actor,action,target_type,target_id,ip,user_agent,details,hash");
    expect(lines.slice(1).every((l) => /^\d+,/.test(l))).toBe(true);
    expect(csv).toContain("'=cmd|' /C calc'!A0");
    expect(csv).not.toMatch(/(^|,)=cmd/m);
    // the export itself is audited, with the filter
    expect(lastAudit(t, "audit.export")).toMatchObject({ actorId: admin.userId, details: { filter: { action: "user." } } });
  });
});

describe("GET /api/v1/audit", () => {
  test("returns the account's entries as JSON with the same filters", async () => {
    const body = (await (await admin.browser.get("/api/v1/audit?action=role.")).json()) as { entries: { action: string; accountId: string }[] };
    expect(body.entries.length).toBeGreaterThan(0);
    expect(body.entries.every((e) => e.action.startsWith("role.") && e.accountId === owner.accountId)).toBe(true);
  });
});
