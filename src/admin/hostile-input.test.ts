/**
 * Hostile names and overlong fields: everything a user types is rendered escaped (no markup
 * from data reaches a page), bidi overrides are stripped, and oversize input is refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, PASSWORD, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

const SCRIPT = "<script>alert(1)</script>";
const IMG = '"><img src=x onerror=alert(2)>';
const ATTR = "' autofocus onfocus='alert(3)";
const BIDI = "gro\u202Eup\u202C\u2066x\u2069";

let t: TestApp;
let owner: Signed;
let hostile: Signed;
let groupId = "";
let roleId = "";

/** assertInert checks a page carries none of the payloads as markup. */
function assertInert(html: string): void {
  expect(html).not.toContain("<script>alert");
  expect(html).not.toContain("<img src=x");
  // no tag carries an event-handler attribute (quoted attribute values blanked first)
  const tags = html.replace(/"[^"]*"/g, '""').match(/<[a-z][^>]*>/gi) ?? [];
  for (const tag of tags) expect(tag).not.toMatch(/\son[a-z]+=/i);
  expect(html).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
  // every <script> on the page is our own same-origin file
  for (const m of html.matchAll(/<script\b[^>]*>/g)) expect(m[0]).toBe('<script src="/static/htmx.min.js" defer="">');
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup({ organisation: `Org ${SCRIPT}`, name: `Owner ${IMG}` });
  hostile = await t.inviteAndActivate(owner, { email: "x@a.example", name: `${SCRIPT}${BIDI}`, role: "Admin" });
  const g = await owner.browser.postForm("/admin/groups", { name: `G ${IMG}`, description: `${SCRIPT} ${ATTR}` });
  groupId = g.headers.get("location")!.split("/")[3]!.split("?")[0]!;
  const r = await owner.browser.postForm("/admin/roles", { name: `R ${ATTR}`, description: SCRIPT, permissions: ["users:view"] });
  roleId = r.headers.get("location")!.split("/")[3]!.split("?")[0]!;
});
afterAll(() => t.cleanup());

describe("hostile names render escaped", () => {
  const pages = () => [
    "/admin",
    "/admin/users",
    `/admin/users/${hostile.userId}`,
    `/admin/users/${owner.userId}`,
    "/admin/users/new",
    "/admin/groups",
    `/admin/groups/${groupId}`,
    "/admin/roles",
    `/admin/roles/${roleId}`,
    "/admin/settings",
    `/admin/settings/group/${groupId}`,
    `/admin/settings/user/${hostile.userId}`,
    "/admin/audit",
    `/admin/audit?action=${encodeURIComponent(SCRIPT)}&actor=${encodeURIComponent(IMG)}`,
  ];
  test("on every admin page, for the Owner and for the hostile user", async () => {
    for (const who of [owner, hostile]) {
      for (const p of pages()) {
        const res = await who.browser.get(p);
        expect([200, 403]).toContain(res.status);
        assertInert(await res.text());
      }
    }
  });

  test("the payloads are shown as text, not dropped", async () => {
    const html = await (await owner.browser.get("/admin/users")).text();
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    const dash = await (await owner.browser.get("/admin")).text();
    expect(dash).toContain("Org &lt;script&gt;");
    const group = await (await owner.browser.get(`/admin/groups/${groupId}`)).text();
    expect(group).toContain("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;");
  });

  test("bidi override characters are stripped before storing", async () => {
    const u = (await t.auth.users.get(owner.accountId, hostile.userId))!;
    expect(u.name).toBe(`${SCRIPT}groupx`);
    const g = t.db.$client.query("SELECT name FROM groups WHERE id = ?").get(groupId) as { name: string };
    expect(g.name).toBe(`G ${IMG}`);
  });

  test("the JSON API returns names as data with a JSON content type", async () => {
    const res = await owner.browser.get("/api/v1/users");
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as { users: { name: string }[] };
    expect(body.users.map((u) => u.name)).toContain(`${SCRIPT}groupx`);
  });

  test("echoed form input is escaped: sign-in e-mail, next, setup values", async () => {
    const b = t.browser();
    const signin = await b.postForm("/signin", { email: `a${IMG}@x.example`, password: "nope", next: `/admin${IMG}` });
    assertInert(await signin.text());
    const page = await b.get(`/signin?next=${encodeURIComponent(`/x${IMG}`)}`);
    assertInert(await page.text());
    const invite = await owner.browser.postForm("/admin/users/new", { email: `${SCRIPT}@x`, name: IMG });
    expect(invite.status).toBe(400);
    assertInert(await invite.text());
  });

  test("the audit CSV keeps the payload as quoted text", async () => {
    const csv = await (await owner.browser.get("/admin/audit/export.csv")).text();
    expect(csv).toContain(SCRIPT);
    expect(csv.split("\r\n").every((l) => !/^[=+@]/.test(l))).toBe(true);
  });
});

describe("overlong and malformed fields are refused", () => {
  const cases: { name: string; path: () => string; fields: Record<string, string>; error: RegExp; status?: number }[] = [
    { name: "a 1 MB name (over the body limit)", path: () => "/admin/users/new", fields: { email: "huge2@a.example", name: "n".repeat(1_000_000) }, error: /larger than 64 KB/, status: 413 },
    { name: "a 101-character user name", path: () => "/admin/users/new", fields: { email: "long1@a.example", name: "n".repeat(101) }, error: /At most 100 characters/ },
    { name: "a 300-character e-mail", path: () => "/admin/users/new", fields: { email: `${"e".repeat(290)}@a.example`, name: "E" }, error: /e-mail address like/ },
    { name: "a 60 KB name", path: () => "/admin/users/new", fields: { email: "huge@a.example", name: "n".repeat(60_000) }, error: /At most 100 characters/ },
    { name: "an 81-character group name", path: () => "/admin/groups", fields: { name: "g".repeat(81) }, error: /At most 80 characters/ },
    { name: "a 101-character organisation name", path: () => "/admin/account", fields: { name: "o".repeat(101) }, error: /At most 100 characters/ },
    { name: "a name of only control characters", path: () => "/admin/groups", fields: { name: "\u0000\u0007\u202E" }, error: /Required/ },
  ];
  for (const c of cases) {
    test(`refuses ${c.name}`, async () => {
      const counts = [t.count("users"), t.count("groups"), t.count("audit_log")];
      const res = await owner.browser.postForm(c.path(), c.fields);
      expect(res.status).toBe(c.status ?? 400);
      const html = await res.text();
      expect(html).toMatch(c.error);
      expect([t.count("users"), t.count("groups"), t.count("audit_log")]).toEqual(counts);
    });
  }

  test("an overlong password is refused at activation, not truncated", async () => {
    await owner.browser.postForm("/admin/users/new", { email: "pw@a.example", name: "Pat" });
    const b = t.browser();
    await b.get(t.lastMailLink("pw@a.example").slice("https://conclave.test".length));
    const long = `${PASSWORD}${"x".repeat(200)}`;
    const res = await b.postForm("/activate", { name: "Pat", password: long, confirm: long });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("at most 128 characters");
  });

  test("group and role descriptions are cut to 300 characters", async () => {
    const res = await owner.browser.postForm("/admin/groups", { name: "Described", description: "d".repeat(1000) });
    const id = res.headers.get("location")!.split("/")[3]!.split("?")[0]!;
    expect((t.db.$client.query("SELECT length(description) AS n FROM groups WHERE id = ?").get(id) as { n: number }).n).toBe(300);
  });
});
