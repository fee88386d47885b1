import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

let t: TestApp;
let owner: Signed;
let member: Signed;

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.setup({ organisation: "Org A" });
  member = await t.inviteAndActivate(owner, { email: "member@a.example", name: "Mo Member", role: "Member" });
});
afterAll(() => t.cleanup());

/** Every API answer is JSON, errors included; scenarios as data. */
const scenarios: { name: string; who: "owner" | "member" | "nobody"; path: () => string; status: number; body: (b: Record<string, unknown>) => void }[] = [
  { name: "GET /me signed out", who: "nobody", path: () => "/api/v1/me", status: 401, body: (b) => expect(b).toEqual({ error: { code: "unauthenticated", message: "Please sign in.", fields: {} } }) },
  {
    name: "GET /me as the Owner", who: "owner", path: () => "/api/v1/me", status: 200,
    body: (b) => expect(b).toMatchObject({ user: { id: owner.userId, email: "owner@a.example", status: "active" }, account: { id: owner.accountId, name: "Org A" } }),
  },
  { name: "GET /users as a Member", who: "member", path: () => "/api/v1/users", status: 403, body: (b) => expect(b).toMatchObject({ error: { code: "forbidden" } }) },
  { name: "GET /users/:id of a missing user", who: "owner", path: () => "/api/v1/users/nope", status: 404, body: (b) => expect(b).toEqual({ error: { code: "not_found", message: "No such user.", fields: {} } }) },
  { name: "GET /roles as the Owner", who: "owner", path: () => "/api/v1/roles", status: 200, body: (b) => expect((b.roles as { kind: string }[]).map((r) => r.kind)).toEqual(["owner", "admin", "member"]) },
  { name: "GET /audit with a bad date", who: "owner", path: () => "/api/v1/audit?from=soon", status: 400, body: (b) => expect(b).toMatchObject({ error: { code: "invalid_input", fields: { from: expect.any(String) } } }) },
  { name: "an unknown API route", who: "owner", path: () => "/api/v1/nothing", status: 404, body: (b) => expect(b).toMatchObject({ error: { code: "not_found" } }) },
];

describe("JSON API", () => {
  for (const s of scenarios) {
    test(s.name, async () => {
      const res = s.who === "nobody" ? await t.request(s.path()) : await (s.who === "owner" ? owner : member).browser.get(s.path());
      expect(res.status).toBe(s.status);
      expect(res.headers.get("content-type")).toContain("application/json");
      s.body((await res.json()) as Record<string, unknown>);
    });
  }

  test("a user may read their own record without users:view", async () => {
    const me = (await (await member.browser.get("/api/v1/me")).json()) as { user: { id: string } };
    expect(me.user.id).toBe(member.userId);
  });
});
