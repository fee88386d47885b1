import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, lastAudit, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;
let admin: Signed;
let member: Signed;
let groupId = "";

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup();
  admin = await t.inviteAndActivate(owner, { email: "admin@a.example", name: "Ada Admin", role: "Admin" });
  const g = await owner.browser.postForm("/admin/groups", { name: "Field Team", description: "" });
  groupId = g.headers.get("location")!.split("/")[3]!.split("?")[0]!;
  member = await t.inviteAndActivate(owner, { email: "member@a.example", name: "Mo Member", role: "Member", groupIds: [groupId] });
});
afterAll(() => t.cleanup());

/** rowOf cuts one setting's table row out of a page. */
function rowOf(html: string, key: string): string {
  const id = `row-${key.replaceAll(".", "-")}`;
  const start = html.indexOf(`id="${id}"`);
  expect(start).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf("</tr>", start));
}

/** notice returns the text of the page's error box. */
function notice(html: string): string | undefined {
  return /class="notice error" role="alert">([^<]*)</.exec(html)?.[1];
}

function effective(html: string, key: string): { value: string; hint: string } {
  const row = rowOf(html, key);
  return {
    value: new RegExp(`data-testid="effective-${key.replaceAll(".", "\\.")}">([^<]*)<`).exec(row)![1]!,
    hint: /<p class="hint">(from [^<]*)<\/p>/.exec(row)![1]!,
  };
}

describe("settings pages", () => {
  test("show each effective value and where it comes from, at every level", async () => {
    const key = "meeting.join_before_host";
    const user = `/admin/settings/user/${member.userId}`;
    const group = `/admin/settings/group/${groupId}`;
    expect(effective(await (await owner.browser.get(user)).text(), key)).toEqual({ value: "Off", hint: "from Default" });

    expect((await owner.browser.postForm("/admin/settings", { key, value: "true" })).status).toBe(303);
    expect(effective(await (await owner.browser.get(user)).text(), key)).toEqual({ value: "On", hint: "from Account" });
    expect(effective(await (await owner.browser.get(group)).text(), key)).toEqual({ value: "On", hint: "from Account" });

    expect((await owner.browser.postForm(group, { key, value: "false" })).status).toBe(303);
    expect(effective(await (await owner.browser.get(user)).text(), key)).toEqual({ value: "Off", hint: "from Group “Field Team”" });

    expect((await owner.browser.postForm(user, { key, value: "true" })).status).toBe(303);
    expect(effective(await (await owner.browser.get(user)).text(), key)).toEqual({ value: "On", hint: "from User" });
    const html = await (await owner.browser.get(user)).text();
    expect(html).toContain("Settings of Mo Member");
  });

  test("an account lock shows as a badge below, and a change there answers 409 naming the lock", async () => {
    const key = "meeting.waiting_room";
    expect((await admin.browser.postForm("/admin/settings", { key, value: "false", locked: "1" })).status).toBe(303);
    const groupPage = await (await admin.browser.get(`/admin/settings/group/${groupId}`)).text();
    expect(rowOf(groupPage, key)).toContain("Locked by Account");
    expect(effective(groupPage, key)).toEqual({ value: "Off", hint: "from Account · locked by Account" });
    for (const path of [`/admin/settings/group/${groupId}`, `/admin/settings/user/${member.userId}`]) {
      const before = t.count("settings");
      const res = await admin.browser.postForm(path, { key, value: "true" });
      expect(res.status).toBe(409);
      const html = await res.text();
      expect(notice(html)).toBe("“Waiting room” is locked by the account and cannot be changed here.");
      expect(rowOf(html, key)).toContain("Locked by Account");
      expect(t.count("settings")).toBe(before);
    }
  });

  test("a group lock blocks the user level and names the group", async () => {
    const key = "meeting.mute_on_entry";
    expect((await owner.browser.postForm(`/admin/settings/group/${groupId}`, { key, value: "true", locked: "1" })).status).toBe(303);
    const res = await owner.browser.postForm(`/admin/settings/user/${member.userId}`, { key, value: "false" });
    expect(res.status).toBe(409);
    expect(notice(await res.text())).toBe("“Mute participants on entry” is locked by Group “Field Team” and cannot be changed here.");
    const page = await (await member.browser.get(`/admin/settings/user/${member.userId}`)).text();
    expect(rowOf(page, key)).toContain("Locked by Group “Field Team”");
  });

  test("htmx posts get just the swapped row back, with the new value or the error", async () => {
    const key = "meeting.screen_share";
    const ok = await owner.browser.htmxPost("/admin/settings", { key, value: "all" });
    expect(ok.status).toBe(200);
    const row = await ok.text();
    expect(row).toStartWith("<tr");
    expect(row).not.toContain("<html");
    expect(row).not.toContain("<nav");
    expect(row).toContain('id="row-meeting-screen_share"');
    expect(row).toContain('data-testid="effective-meeting.screen_share">all<');
    expect(row).toContain("from Account");

    const bad = await owner.browser.htmxPost("/admin/settings", { key, value: "everyone" });
    const badRow = await bad.text();
    expect(badRow).toStartWith("<tr");
    expect(badRow).toContain('role="alert"');
    expect(badRow).toContain("must be one of: host, all");

    const locked = await owner.browser.htmxPost(`/admin/settings/user/${member.userId}`, { key: "meeting.waiting_room", value: "true" });
    const lockedRow = await locked.text();
    expect(lockedRow).toStartWith("<tr");
    expect(lockedRow).toContain("Locked by Account");
  });

  test("bad values re-render the page with the error and store nothing", async () => {
    const before = t.count("settings");
    const res = await owner.browser.postForm("/admin/settings", { key: "security.session_idle_minutes", mode: "set", value: "5" });
    expect(res.status).toBe(400);
    expect(notice(await res.text())).toMatch(/must be between 10 and 120/);
    const unknown = await owner.browser.postForm("/admin/settings", { key: "no.such", value: "1" });
    expect(unknown.status).toBe(400);
    expect(t.count("settings")).toBe(before);
  });

  test("a number setting saves with mode=set and clears with mode=inherit, audited both ways", async () => {
    const key = "security.session_idle_minutes";
    expect((await owner.browser.postForm("/admin/settings", { key, mode: "set", value: "30" })).status).toBe(303);
    expect(effective(await (await owner.browser.get("/admin/settings")).text(), key)).toEqual({ value: "30", hint: "from Account" });
    expect(lastAudit(t, "setting.update").details).toEqual({ key, before: "inherit", after: { value: 30, locked: false } });
    expect((await owner.browser.postForm("/admin/settings", { key, mode: "inherit", value: "30" })).status).toBe(303);
    expect(effective(await (await owner.browser.get("/admin/settings")).text(), key)).toEqual({ value: "120", hint: "from Default" });
    expect(lastAudit(t, "setting.update").details).toEqual({ key, before: { value: 30, locked: false }, after: "inherit" });
  });

  test("a member sees their own settings page read-write and cannot lock", async () => {
    const page = await (await member.browser.get(`/admin/settings/user/${member.userId}`)).text();
    expect(page).toContain('action="/admin/settings/user/');
    expect(page).not.toContain('name="locked"');
    const res = await member.browser.postForm(`/admin/settings/user/${member.userId}`, { key: "meeting.join_before_host", value: "false" });
    expect(res.status).toBe(303);
    const lock = await member.browser.postForm(`/admin/settings/user/${member.userId}`, { key: "meeting.join_before_host", value: "true", locked: "1" });
    expect(lock.status).toBe(400);
  });

  test("an unknown level in the path is 404", async () => {
    expect((await owner.browser.get(`/admin/settings/account/${owner.accountId}`)).status).toBe(404);
    expect((await owner.browser.postForm(`/admin/settings/role/${owner.accountId}`, { key: "meeting.waiting_room", value: "true" })).status).toBe(404);
  });
});
