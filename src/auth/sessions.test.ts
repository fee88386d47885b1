import { afterEach, describe, expect, test } from "bun:test";
import { SESSION_COOKIE } from "../http/cookies.ts";
import { createTestApp, type TestApp } from "../../tests/helpers/test-app.ts";
import { checkToken, consumeToken, issueSetupToken, setupNeeded } from "./setup-token.ts";

const apps: TestApp[] = [];
async function fresh(opts?: Parameters<typeof createTestApp>[0]): Promise<TestApp> {
  const t = await createTestApp(opts);
  apps.push(t);
  return t;
}
afterEach(() => {
  for (const t of apps.splice(0)) t.cleanup();
});

const MIN = 60_000;

describe("session lifetime", () => {
  test("a session ends at its absolute expiry (security.session_hours) even while in use", async () => {
    const t = await fresh({ config: (c) => void (c.security.session_hours = 1) });
    const owner = await t.setup();
    const cookie = owner.browser.sessionCookie!;
    expect(owner.browser.lastSetCookie.find((c) => c.startsWith(SESSION_COOKIE))).toMatch(/Max-Age=3600/);
    for (let i = 0; i < 3; i++) {
      t.clock.advance(19 * MIN);
      expect((await owner.browser.get("/admin")).status).toBe(200);
    }
    t.clock.advance(4 * MIN);
    const res = await t.request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    expect(res.status).toBe(303);
    expect(t.db.$client.query("SELECT count(*) AS n FROM sessions WHERE id = ?").get(cookie.split(".")[0]!)).toEqual({ n: 0 });
  });

  test("an idle session ends after the account's idle limit; activity keeps it alive", async () => {
    const t = await fresh();
    const owner = await t.setup();
    expect((await owner.browser.postForm("/admin/settings", { key: "security.session_idle_minutes", mode: "set", value: "10" })).status).toBe(303);
    t.clock.advance(9 * MIN);
    expect((await owner.browser.get("/admin")).status).toBe(200);
    t.clock.advance(9 * MIN);
    expect((await owner.browser.get("/admin")).status).toBe(200);
    t.clock.advance(10 * MIN);
    expect((await owner.browser.get("/admin")).status).toBe(303);
  });

  test("knowing a session id without its secret gets nothing and does not end the real session", async () => {
    const t = await fresh();
    const owner = await t.setup();
    const [id] = owner.browser.sessionCookie!.split(".");
    const forged = await t.request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${id}.${"A".repeat(43)}` } });
    expect(forged.status).toBe(303);
    expect((await owner.browser.get("/admin")).status).toBe(200);
  });

  test("the stored session holds no usable secret: only its SHA-256", async () => {
    const t = await fresh();
    const owner = await t.setup();
    const [id, secret] = owner.browser.sessionCookie!.split(".");
    const row = t.db.$client.query("SELECT secret_hash FROM sessions WHERE id = ?").get(id!) as { secret_hash: string };
    expect(row.secret_hash).toBe(new Bun.CryptoHasher("sha256").update(secret!).digest("hex"));
  });
});

describe("setup tokens", () => {
  test("are stored hashed, audited without the token, and single use", async () => {
    const t = await fresh();
    const token = issueSetupToken(t.db, t.clock, t.audit, 60);
    expect(token).toMatch(/^[\w-]{43}$/);
    const stored = JSON.stringify(t.db.$client.query("SELECT * FROM one_time_tokens").all());
    expect(stored).not.toContain(token);
    const audit = JSON.stringify(t.db.$client.query("SELECT * FROM audit_log").all());
    expect(audit).toContain("setup.token_issued");
    expect(audit).not.toContain(token);
    expect(checkToken(t.db, t.clock, "setup", token)).toEqual({ ok: true, accountId: null, userId: null });
    expect(consumeToken(t.db, t.clock, token)).toBe(true);
    expect(consumeToken(t.db, t.clock, token)).toBe(false);
    expect(checkToken(t.db, t.clock, "setup", token)).toEqual({ ok: false, reason: "used" });
  });

  test("expire after their lifetime, to the millisecond", async () => {
    const t = await fresh();
    const token = issueSetupToken(t.db, t.clock, t.audit, 5);
    t.clock.advance(5 * MIN - 1);
    expect(checkToken(t.db, t.clock, "setup", token).ok).toBe(true);
    t.clock.advance(1);
    expect(checkToken(t.db, t.clock, "setup", token)).toEqual({ ok: false, reason: "expired" });
  });

  test("are not valid for another purpose, and junk is unknown", async () => {
    const t = await fresh();
    const token = issueSetupToken(t.db, t.clock, t.audit, 60);
    expect(checkToken(t.db, t.clock, "activation", token)).toEqual({ ok: false, reason: "unknown" });
    for (const junk of ["", "x".repeat(101), `${token}x`, token.slice(1)]) expect(checkToken(t.db, t.clock, "setup", junk)).toEqual({ ok: false, reason: "unknown" });
  });

  test("setup is needed until the first account exists", async () => {
    const t = await fresh();
    expect(setupNeeded(t.db)).toBe(true);
    await t.setup();
    expect(setupNeeded(t.db)).toBe(false);
  });
});
