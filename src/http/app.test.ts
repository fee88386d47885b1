import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup();
});
afterAll(() => t.cleanup());

/** Every response, page or JSON, signed in or not, carries the hardening headers. */
const scenarios: { name: string; path: string; signedIn?: boolean; status: number }[] = [
  { name: "the sign-in page", path: "/signin", status: 200 },
  { name: "the liveness probe", path: "/healthz", status: 200 },
  { name: "the readiness probe", path: "/readyz", status: 200 },
  { name: "a static asset", path: "/static/app.css", status: 200 },
  { name: "an unknown page", path: "/no/such/page", status: 404 },
  { name: "the admin dashboard", path: "/admin", signedIn: true, status: 200 },
  { name: "the users page", path: "/admin/users", signedIn: true, status: 200 },
  { name: "a JSON API call", path: "/api/v1/me", signedIn: true, status: 200 },
  { name: "an admin page while signed out", path: "/admin/users", status: 303 },
];

describe("security headers", () => {
  for (const s of scenarios) {
    test(`are set on ${s.name}`, async () => {
      const res = s.signedIn ? await owner.browser.get(s.path) : await t.request(s.path);
      expect(res.status).toBe(s.status);
      const h = res.headers;
      expect(h.get("strict-transport-security")).toMatch(/max-age=\d{7,}/);
      const csp = h.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      expect(h.get("x-content-type-options")).toBe("nosniff");
      expect(h.get("referrer-policy")).toBe("no-referrer");
      expect(h.get("x-request-id")).toBeTruthy();
    });
  }

  test("pages contain no inline script", async () => {
    const res = await owner.browser.get("/admin");
    const html = await res.text();
    for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
      expect(m[0]).toMatch(/src="\/static\//);
      expect(m[1]!.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+="/i); // no inline event handlers
  });

  test("pages are not cached, static assets are", async () => {
    expect((await owner.browser.get("/admin")).headers.get("cache-control")).toBe("no-store");
    const css = await t.request("/static/app.css");
    expect(css.headers.get("cache-control")).toContain("max-age");
    const again = await t.request("/static/app.css", { headers: { "if-none-match": css.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });
});

describe("GET /healthz and /readyz", () => {
  test("healthz answers JSON with the version", async () => {
    const res = await t.request("/healthz");
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({ status: "ok", version: expect.any(String) });
  });

  test("readyz reports the database and the key provider", async () => {
    const res = await t.request("/readyz");
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe("ready");
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.keyProvider?.ok).toBe(true);
  });

  test("readyz answers 503 when the database is closed", async () => {
    const other = await createTestApp();
    try {
      other.db.$client.close();
      const res = await other.request("/readyz");
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(body.status).toBe("not ready");
      expect(body.checks.database?.ok).toBe(false);
    } finally {
      other.cleanup();
    }
  });
});

describe("errors", () => {
  test("an unknown API path answers a JSON 404", async () => {
    const res = await owner.browser.get("/api/v1/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
  });

  test("an API call without a session answers 401 JSON, not a redirect", async () => {
    const res = await t.request("/api/v1/me");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "unauthenticated" } });
  });
});

describe("request size", () => {
  test("a body over 64 KB is refused with 413 and a readable message, and nothing is stored", async () => {
    const t = await createTestApp();
    try {
      const owner = await t.setup();
      const before = t.count("groups");
      const res = await owner.browser.postForm("/admin/groups", { name: "x".repeat(70 * 1024), description: "" });
      expect(res.status).toBe(413);
      expect(await res.text()).toContain("larger than 64 KB");
      expect(t.count("groups")).toBe(before);
    } finally {
      t.cleanup();
    }
  });
});
