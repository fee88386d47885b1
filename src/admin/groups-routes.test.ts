import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, lastAudit, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;
let member: Signed;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup();
  member = await t.inviteAndActivate(owner, { email: "member@a.example", name: "Mo Member", role: "Member" });
});
afterAll(() => t.cleanup());

const idOf = (res: Response): string => res.headers.get("location")!.split("/")[3]!.split("?")[0]!;

describe("groups", () => {
  test("create, rename and delete, each audited with before/after; memberships go with the group", async () => {
    const created = await owner.browser.postForm("/admin/groups", { name: "Support", description: "First line" });
    expect(created.status).toBe(303);
    const id = idOf(created);
    expect(lastAudit(t, "group.create")).toMatchObject({ actorId: owner.userId, targetId: id, details: { after: { name: "Support", description: "First line" } } });
    expect(await (await owner.browser.get("/admin/groups")).text()).toContain("Support");

    await owner.browser.postForm(`/admin/users/${member.userId}`, { name: member.name, groupIds: [id] });
    expect(await (await owner.browser.get(`/admin/groups/${id}`)).text()).toContain("Members (1)");

    expect((await owner.browser.postForm(`/admin/groups/${id}`, { name: "Support L1", description: "" })).status).toBe(303);
    expect(lastAudit(t, "group.update").details).toEqual({ before: { name: "Support", description: "First line" }, after: { name: "Support L1", description: "" } });

    expect((await owner.browser.postForm(`/admin/groups/${id}/delete`)).status).toBe(303);
    expect(lastAudit(t, "group.delete").details).toEqual({ before: { name: "Support L1", members: 1 } });
    expect(t.db.$client.query("SELECT count(*) AS n FROM group_members WHERE group_id = ?").get(id)).toEqual({ n: 0 });
    expect((await owner.browser.get(`/admin/groups/${id}`)).status).toBe(404);
  });

  test("names are unique within the account", async () => {
    await owner.browser.postForm("/admin/groups", { name: "Sales", description: "" });
    const dup = await owner.browser.postForm("/admin/groups", { name: " Sales ", description: "" });
    expect(dup.status).toBe(400);
    expect(await dup.text()).toContain("A group with this name already exists.");
    const other = await owner.browser.postForm("/admin/groups", { name: "Marketing", description: "" });
    const rename = await owner.browser.postForm(`/admin/groups/${idOf(other)}`, { name: "Sales", description: "" });
    expect(rename.status).toBe(400);
    // keeping one's own name is fine
    expect((await owner.browser.postForm(`/admin/groups/${idOf(other)}`, { name: "Marketing", description: "new" })).status).toBe(303);
  });

  test("a member cannot see or change groups", async () => {
    expect((await member.browser.get("/admin/groups")).status).toBe(403);
    expect((await member.browser.postForm("/admin/groups", { name: "Mine" })).status).toBe(403);
    expect((await member.browser.get("/api/v1/groups")).status).toBe(403);
  });

  test("the API lists groups", async () => {
    const body = (await (await owner.browser.get("/api/v1/groups")).json()) as { groups: { id: string; name: string; description: string }[] };
    expect(body.groups.map((g) => g.name)).toEqual(["Marketing", "Sales"]);
  });
});
