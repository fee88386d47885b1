import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, PASSWORD, type PostOptions, type Signed, type TestApp } from "../../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;
let other: Signed;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup();
  other = await t.inviteAndActivate(owner, { email: "admin@a.example", name: "Ada Admin", role: "Admin" });
});
afterAll(() => t.cleanup());

/** How a request is dressed; `ok` says whether the CSRF layer lets it through. */
interface Variant {
  name: string;
  opts: (token: string) => PostOptions;
  ok: boolean;
}

const variants: Variant[] = [
  { name: "same Origin and the page's token", opts: () => ({}), ok: true },
  { name: "same-origin Referer (no Origin) and the token", opts: () => ({ origin: null, referer: "https://conclave.test/somewhere" }), ok: true },
  { name: "the token in the X-CSRF-Token header (htmx)", opts: (tok) => ({ csrf: null, headers: { "x-csrf-token": tok } }), ok: true },
  { name: "Origin: null but Sec-Fetch-Site: same-origin (Referrer-Policy no-referrer) and the token", opts: () => ({ origin: "null", headers: { "sec-fetch-site": "same-origin" } }), ok: true },
  { name: "a foreign Origin", opts: () => ({ origin: "https://evil.example" }), ok: false },
  { name: "Sec-Fetch-Site: cross-site and Origin: null", opts: () => ({ origin: "null", headers: { "sec-fetch-site": "cross-site" } }), ok: false },
  { name: "Sec-Fetch-Site: same-origin but no token", opts: () => ({ csrf: null, headers: { "sec-fetch-site": "same-origin" } }), ok: false },
  { name: "a foreign Origin that embeds our host", opts: () => ({ origin: "https://conclave.test.evil.example" }), ok: false },
  { name: "a foreign Referer and no Origin", opts: () => ({ origin: null, referer: "https://evil.example/conclave.test" }), ok: false },
  { name: "Origin: null (sandboxed frame)", opts: () => ({ origin: "null" }), ok: false },
  { name: "no token", opts: () => ({ csrf: null }), ok: false },
  { name: "a wrong token", opts: () => ({ csrf: "A".repeat(32) }), ok: false },
  { name: "the token but neither Origin nor Referer", opts: () => ({ origin: null }), ok: false },
  { name: "a foreign Origin even with a same-origin Referer", opts: () => ({ origin: "https://evil.example", referer: "https://conclave.test/admin" }), ok: false },
];

describe("CSRF on POST /admin/groups (signed in)", () => {
  for (const [i, v] of variants.entries()) {
    test(`${v.ok ? "accepts" : "refuses"} a post with ${v.name}`, async () => {
      const before = t.count("groups");
      const token = await owner.browser.csrf();
      const res = await owner.browser.postForm("/admin/groups", { name: `Group ${i}`, description: v.name.slice(0, 200) }, v.opts(token));
      if (v.ok) {
        expect(res.status).toBe(303);
        expect(t.count("groups")).toBe(before + 1);
      } else {
        expect(res.status).toBe(403);
        expect(await res.text()).toMatch(/cross-site request refused|form expired/);
        expect(t.count("groups")).toBe(before);
      }
    });
  }

  test("refuses another user's token (tokens are bound to the session)", async () => {
    const before = t.count("groups");
    const res = await owner.browser.postForm("/admin/groups", { name: "stolen token" }, { csrf: await other.browser.csrf() });
    expect(res.status).toBe(403);
    expect(t.count("groups")).toBe(before);
  });

  test("refuses the pre-session token once signed in", async () => {
    const b = t.browser();
    await b.get("/signin");
    const pre = b.jar.get("__Host-conclave_pre")!;
    await b.postForm("/signin", { email: owner.email, password: PASSWORD });
    const res = await b.postForm("/admin/groups", { name: "pre token" }, { csrf: pre });
    expect(res.status).toBe(403);
  });

  test("an API caller gets the refusal as JSON", async () => {
    const res = await owner.browser.postForm("/admin/groups", { name: "json" }, { origin: "https://evil.example", headers: { accept: "application/json" } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "csrf" } });
  });
});

describe("CSRF on POST /signin (before a session exists)", () => {
  for (const v of variants) {
    test(`${v.ok ? "accepts" : "refuses"} a sign-in with ${v.name}`, async () => {
      const b = t.browser();
      await b.get("/signin");
      const token = await b.csrf();
      const res = await b.postForm("/signin", { email: owner.email, password: PASSWORD }, v.opts(token));
      if (v.ok) {
        expect(res.status).toBe(303);
        expect(b.sessionCookie).toBeTruthy();
      } else {
        expect(res.status).toBe(403);
        expect(b.sessionCookie).toBeUndefined();
      }
    });
  }

  test("a browser without the pre-session cookie cannot sign in with a made-up token", async () => {
    const res = await t.request("/signin", {
      method: "POST",
      headers: { origin: "https://conclave.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: "B".repeat(32), email: owner.email, password: PASSWORD }).toString(),
    });
    expect(res.status).toBe(403);
  });
});

describe("CSRF on POST /signout", () => {
  test("a cross-site sign-out is refused and the session survives", async () => {
    const b = await t.signIn(other.email);
    const res = await b.postForm("/signout", {}, { origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect((await b.get("/admin")).status).toBe(200);
  });
});

describe("safe methods", () => {
  test("GET and HEAD need no token", async () => {
    expect((await owner.browser.request("/admin/groups", { method: "GET", headers: { origin: "https://evil.example" } })).status).toBe(200);
    expect((await owner.browser.request("/admin/groups", { method: "HEAD" })).status).toBe(200);
  });
});
