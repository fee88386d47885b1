import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;

beforeEach(async () => {
  t = await createTestApp();
  owner = await t.setup();
});
afterEach(() => t.cleanup());

const FORM = { topic: "Colleague sync", description: "", start: "2026-01-05T09:30", duration: "30", recurrence: "none", count: "" };

describe("/admin/meetings", () => {
  test("administrators see every meeting of the account with attendance, never its passcodes or link", async () => {
    const col = await t.inviteAndActivate(owner, { email: "col@a.example", name: "Col League" });
    const res = await col.browser.postForm("/meetings", { ...FORM, "meeting.waiting_room": "false", "meeting.join_before_host": "true" });
    const id = res.headers.get("location")!.split("/")[2]!.split("?")[0]!;
    const m = (await t.meetings.deps.repo.get(owner.accountId, id))!;
    const room = t.meetings.live.room(id);
    const v = room.join({ meetingId: id, accountId: owner.accountId, displayName: "Gus Guest", userId: null, internal: false, host: false, ip: "198.51.100.4", device: "UA", identity: "guest:1" });
    expect(v.outcome).toBe("joined");
    await t.meetings.live.settled();

    const list = await (await owner.browser.get("/admin/meetings")).text();
    expect(list).toContain('href="/admin/meetings"');
    expect(list).toContain("Colleague sync");
    expect(list).toContain("Col League");
    expect(list).toContain('<span class="badge ok">live</span>');
    const detail = await (await owner.browser.get(`/admin/meetings/${id}`)).text();
    expect(detail).toContain("Gus Guest");
    expect(detail).toContain("198.51.100.4");
    for (const secret of [m.passcode, m.dialPasscode, m.linkToken]) {
      expect(list).not.toContain(secret);
      expect(detail).not.toContain(secret);
    }
  });

  test("members without the operation-log permission are refused; other accounts get 404", async () => {
    const res = await owner.browser.postForm("/meetings", FORM);
    const id = res.headers.get("location")!.split("/")[2]!.split("?")[0]!;
    const member = await t.inviteAndActivate(owner, { email: "mem@a.example", name: "Mem Ber" });
    expect((await member.browser.get("/admin/meetings")).status).toBe(403);
    expect((await member.browser.get(`/admin/meetings/${id}`)).status).toBe(403);
    expect(await (await member.browser.get("/meetings")).text()).not.toContain('href="/admin/meetings"');
    const other = await t.createAccount({ organisation: "Org B", email: "owner@b.example" });
    expect((await other.browser.get(`/admin/meetings/${id}`)).status).toBe(404);
    expect(await (await other.browser.get("/admin/meetings")).text()).not.toContain("Colleague sync");
  });
});
