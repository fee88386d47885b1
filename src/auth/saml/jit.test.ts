// Just-in-time provisioning and the attribute → group / role mapping, through the real ACS.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, lastAudit, type Signed, type TestApp } from "../../../tests/helpers/test-app.ts";
import { configureSso, postAcs, spOf } from "../../../tests/support/saml-app.ts";
import { createTestIdp, signedResponse, type TestIdp } from "../../../tests/support/saml-fixtures.ts";

let t: TestApp;
let owner: Signed;
let idp: TestIdp;
const groupIds: Record<string, string> = {};

const roleOf = (userId: string) => (t.db.$client.query("SELECT r.name FROM users u JOIN roles r ON r.id = u.role_id WHERE u.id = ?").get(userId) as { name: string }).name;
const groupsOf = (userId: string) =>
  (t.db.$client.query("SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name").all(userId) as { name: string }[]).map((r) => r.name);

async function signInAs(nameId: string, attributes: Record<string, string | string[]> = {}, nameIdFormat?: string) {
  return postAcs(t, owner.accountId, signedResponse(idp, { ...spOf(owner.accountId), nameId, attributes, nameIdFormat }));
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup({ organisation: "Org J", email: "owner@j.example" });
  for (const name of ["Engineering", "Sales", "Board"]) {
    const res = await owner.browser.postForm("/admin/groups", { name, description: "" });
    expect(res.status).toBe(303);
    groupIds[name] = res.headers.get("location")!.split("/").pop()!.split("?")[0]!;
  }
  idp = createTestIdp();
  await configureSso(owner, idp, {
    fields: { groupsAttribute: "groups", groupMap: "eng = Engineering\nsales = Sales", roleAttribute: "role", roleMap: "conclave-admins = Admin", nameAttribute: "" },
  });
});
afterAll(() => t.cleanup());

describe("just-in-time provisioning", () => {
  test("an unknown e-mail NameID creates an active Member with the mapped name and groups, audited", async () => {
    const out = await signInAs("new.person@j.example", { displayName: "New Person", groups: ["eng", "unmapped-value"] });
    expect(out.status).toBe(303);
    const u = (await t.auth.users.findByEmail("new.person@j.example"))!;
    expect(u).toMatchObject({ accountId: owner.accountId, name: "New Person", status: "active", origin: "saml", passwordHash: null });
    expect(roleOf(u.id)).toBe("Member");
    expect(groupsOf(u.id)).toEqual(["Engineering"]);
    const a = lastAudit(t, "user.jit_create");
    expect(a.targetId).toBe(u.id);
    expect(a.details.after).toMatchObject({ email: "new.person@j.example", name: "New Person", role: "Member", groups: ["Engineering"], origin: "saml" });
    expect(lastAudit(t, "signin.success").details).toMatchObject({ method: "saml", jit: true });
  });

  test("the role mapping gives a mapped role; a later sign-in updates mapped groups but keeps others", async () => {
    await signInAs("lead@j.example", { displayName: "Team Lead", groups: ["eng"], role: "conclave-admins" });
    const u = (await t.auth.users.findByEmail("lead@j.example"))!;
    expect(roleOf(u.id)).toBe("Admin");
    // An admin adds a group SSO does not manage.
    expect((await owner.browser.postForm(`/admin/users/${u.id}`, { name: u.name, roleId: t.roleId(owner.accountId, "Admin"), groupIds: [groupIds.Engineering!, groupIds.Board!] })).status).toBe(303);
    await signInAs("lead@j.example", { displayName: "Team Lead", groups: ["sales"] });
    expect(groupsOf(u.id)).toEqual(["Board", "Sales"]);
    expect(roleOf(u.id)).toBe("Admin"); // no mapped role value: unchanged
    const a = lastAudit(t, "user.jit_update");
    expect(a.details.before).toMatchObject({ groups: ["Board", "Engineering"] });
    expect(a.details.after).toMatchObject({ groups: ["Board", "Sales"], role: "Admin" });
  });

  test("the Owner's role never changes through SSO, and nobody becomes Owner", async () => {
    await signInAs("owner@j.example", { role: "conclave-admins" });
    expect(roleOf(owner.userId)).toBe("Owner");
    const res = await owner.browser.postForm("/admin/sso", { entityId: idp.entityId, ssoUrl: "https://idp.example/sso", certificates: idp.certPem, roleAttribute: "role", roleMap: "boss = Owner" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("cannot grant the Owner role");
  });

  test("a non-e-mail NameID uses the mapped e-mail attribute", async () => {
    const res = await owner.browser.postForm("/admin/sso", {
      entityId: idp.entityId, ssoUrl: "https://idp.example/sso", certificates: idp.certPem,
      emailAttribute: "mail", nameAttribute: "cn", groupsAttribute: "groups", groupMap: "eng = Engineering", roleAttribute: "role", roleMap: "conclave-admins = Admin",
    });
    expect(res.status).toBe(303);
    await signInAs("a1b2c3-persistent", { mail: "persistent@j.example", cn: "Pat Persistent" }, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    const u = (await t.auth.users.findByEmail("persistent@j.example"))!;
    expect(u.name).toBe("Pat Persistent");
  });

  test("no usable e-mail address is refused", async () => {
    const out = await signInAs("opaque-id-only", { cn: "Nobody" }, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    expect(out.reason).toBe("no_email");
    expect(out.sessionCookie).toBeNull();
  });

  test("an invited user who signs in through SSO becomes active", async () => {
    const res = await owner.browser.postForm("/admin/users/new", { email: "invited@j.example", name: "Ivy Invited", roleId: "", groupIds: [] });
    expect(res.status).toBe(200);
    const out = await signInAs("whatever", { mail: "invited@j.example" }, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    expect(out.status).toBe(303);
    expect((await t.auth.users.findByEmail("invited@j.example"))!.status).toBe("active");
  });

  test("hostile attribute values are stored as text and rendered escaped", async () => {
    await signInAs("x", { mail: "xss@j.example", cn: `<img src=x onerror=alert(1)>"'` }, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    const page = await owner.browser.get("/admin/users");
    const html = await page.text();
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });
});
