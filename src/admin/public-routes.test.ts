import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { consumeToken, issueSetupToken } from "../auth/setup-token.ts";
import { LINK_COOKIE, SESSION_COOKIE } from "../http/cookies.ts";
import { auditActions, createTestApp, lastAudit, PASSWORD, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";

const apps: TestApp[] = [];
async function fresh(opts?: Parameters<typeof createTestApp>[0]): Promise<TestApp> {
  const t = await createTestApp(opts);
  apps.push(t);
  return t;
}
afterEach(() => {
  for (const t of apps.splice(0)) t.cleanup();
});

function rows(t: TestApp): { accounts: number; users: number; roles: number; audit: number } {
  return { accounts: t.count("accounts"), users: t.count("users"), roles: t.count("roles"), audit: t.count("audit_log") };
}

const goodSetup = { organisation: "Org A", ownerName: "Olivia Owner", ownerEmail: "owner@a.example", password: PASSWORD, confirm: PASSWORD };

describe("GET / before and after setup", () => {
  test("points at the setup URL until an account exists, then to sign-in", async () => {
    const t = await fresh();
    const before = await t.request("/");
    expect(before.status).toBe(200);
    expect(await before.text()).toContain("not set up yet");
    await t.setup();
    const after = await t.request("/");
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/signin");
  });
});

describe("GET /setup", () => {
  test("moves the token from the URL into a short-lived cookie and redirects to the clean URL", async () => {
    const t = await fresh();
    const token = issueSetupToken(t.db, t.clock, t.audit, 60);
    const b = t.browser();
    const res = await b.get(`/setup?token=${token}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/setup");
    const cookie = b.lastSetCookie.find((c) => c.startsWith(`${LINK_COOKIE}=`))!;
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toMatch(/Max-Age=3600/);
    const form = await b.get("/setup");
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="organisation"');
  });

  const linkCases: { name: string; arrange: (t: TestApp) => string; reason: RegExp }[] = [
    { name: "an unknown token", arrange: () => "not-a-real-token", reason: /not valid/ },
    {
      name: "an expired token",
      arrange: (t) => {
        const tok = issueSetupToken(t.db, t.clock, t.audit, 60);
        t.clock.advance(60 * 60_000 + 1);
        return tok;
      },
      reason: /expired/,
    },
    {
      name: "a used token",
      arrange: (t) => {
        const tok = issueSetupToken(t.db, t.clock, t.audit, 60);
        consumeToken(t.db, t.clock, tok);
        return tok;
      },
      reason: /already been used/,
    },
    {
      name: "a token replaced by a newer one",
      arrange: (t) => {
        const tok = issueSetupToken(t.db, t.clock, t.audit, 60);
        issueSetupToken(t.db, t.clock, t.audit, 60);
        return tok;
      },
      reason: /expired/,
    },
  ];
  for (const c of linkCases) {
    test(`refuses ${c.name} with a page that says why`, async () => {
      const t = await fresh();
      const token = c.arrange(t);
      const b = t.browser();
      await b.get(`/setup?token=${token}`);
      const res = await b.get("/setup");
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain("Setup link not valid");
      expect(html).toMatch(c.reason);
      expect(html).not.toContain('name="organisation"');
      // and the form cannot be posted with it either
      const post = await b.postForm("/setup", goodSetup);
      expect(post.status).toBe(404);
      expect(t.count("accounts")).toBe(0);
    });
  }

  test("without any token shows the link problem, not the form", async () => {
    const t = await fresh();
    const res = await t.browser().get("/setup");
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('name="organisation"');
  });
});

describe("POST /setup", () => {
  test("creates the account, its three roles and the Owner, signs the Owner in and writes the audit log", async () => {
    const t = await fresh();
    const owner = await t.setup({ organisation: "Org A", email: "owner@a.example", name: "Olivia Owner" });
    expect(owner.browser.sessionCookie).toBeTruthy();
    expect(t.count("accounts")).toBe(1);
    const roleKinds = (t.db.$client.query("SELECT kind FROM roles WHERE account_id = ? ORDER BY kind").all(owner.accountId) as { kind: string }[]).map((r) => r.kind);
    expect(roleKinds).toEqual(["admin", "member", "owner"]);
    const u = (await t.auth.users.get(owner.accountId, owner.userId))!;
    expect(u.roleId).toBe(t.roleId(owner.accountId, "Owner"));
    expect(u.status).toBe("active");
    expect(auditActions(t, owner.accountId)).toEqual(["key.dek_created", "key.dek_created", "account.create", "user.create_owner"]);
    expect(lastAudit(t, "user.create_owner").details).toMatchObject({ after: { email: "owner@a.example", role: "Owner" } });
    const dash = await owner.browser.get("/admin?welcome=1");
    expect(dash.status).toBe(200);
    expect(await dash.text()).toContain("Org A");
  });

  test("the setup token is single use: a second browser with the same link cannot set up again", async () => {
    const t = await fresh();
    const token = issueSetupToken(t.db, t.clock, t.audit, 60);
    const first = t.browser();
    const second = t.browser();
    for (const b of [first, second]) {
      await b.get(`/setup?token=${token}`);
      expect((await b.get("/setup")).status).toBe(200);
    }
    expect((await first.postForm("/setup", goodSetup)).status).toBe(303);
    const again = await second.postForm("/setup", { ...goodSetup, organisation: "Evil", ownerEmail: "evil@x.example" });
    expect(again.status).toBe(404);
    expect(t.count("accounts")).toBe(1);
    expect(await t.auth.users.findByEmail("evil@x.example")).toBeUndefined();
  });

  test("after setup, GET /setup is 404 and a newly issued token cannot set up again", async () => {
    const t = await fresh();
    await t.setup();
    const b = t.browser();
    expect((await b.get("/setup")).status).toBe(404);
    const token = issueSetupToken(t.db, t.clock, t.audit, 60);
    expect((await b.get(`/setup?token=${token}`)).status).toBe(404);
    const post = await b.postForm("/setup", { ...goodSetup, organisation: "Second", ownerEmail: "second@x.example" });
    expect(post.status).toBe(404);
    expect(t.count("accounts")).toBe(1);
  });

  const badInput: { name: string; fields: Partial<typeof goodSetup>; field: string; message: RegExp }[] = [
    { name: "a malformed e-mail", fields: { ownerEmail: "not-an-email" }, field: "ownerEmail", message: /e-mail address like/ },
    { name: "an empty organisation", fields: { organisation: "   " }, field: "organisation", message: /Required/ },
    { name: "an empty owner name", fields: { ownerName: "" }, field: "ownerName", message: /Required/ },
    { name: "an overlong organisation", fields: { organisation: "x".repeat(101) }, field: "organisation", message: /At most 100 characters/ },
    { name: "an overlong e-mail", fields: { ownerEmail: `${"a".repeat(250)}@b.example` }, field: "ownerEmail", message: /e-mail address like/ },
    { name: "a short, digitless password", fields: { password: "short", confirm: "short" }, field: "password", message: /at least 8 characters.*at least one digit.*both upper and lower case/ },
    { name: "a password with a run", fields: { password: "Abcdef12x", confirm: "Abcdef12x" }, field: "password", message: /no runs of consecutive characters/ },
    { name: "a repeated-character password", fields: { password: "aaaaaaaaa", confirm: "aaaaaaaaa" }, field: "password", message: /not a single repeated character/ },
    { name: "mismatched passwords", fields: { confirm: "Sturdy-Pass-43" }, field: "confirm", message: /two passwords differ/ },
  ];
  for (const c of badInput) {
    test(`re-renders the form with the field error and stores nothing for ${c.name}`, async () => {
      const t = await fresh();
      const token = issueSetupToken(t.db, t.clock, t.audit, 60);
      const b = t.browser();
      await b.get(`/setup?token=${token}`);
      await b.get("/setup");
      const before = rows(t);
      const res = await b.postForm("/setup", { ...goodSetup, ...c.fields });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain("Please correct the highlighted fields.");
      expect(html).toMatch(new RegExp(`id="f-${c.field}"[^>]*aria-invalid="true"`));
      const err = /id="f-(\w+)-err" role="alert">([^<]*)</.exec(html.slice(html.indexOf(`id="f-${c.field}-err"`) - 40));
      expect(err?.[1]).toBe(c.field);
      expect(err?.[2]).toMatch(c.message);
      expect(html).not.toContain(PASSWORD); // passwords are never echoed
      expect(rows(t)).toEqual(before);
      expect(b.sessionCookie).toBeUndefined();
      // the link still works: fix the input and finish
      expect((await b.postForm("/setup", goodSetup)).status).toBe(303);
    });
  }

  test("keeps the typed values (not the passwords) when re-rendering", async () => {
    const t = await fresh();
    const b = t.browser();
    await b.get(`/setup?token=${issueSetupToken(t.db, t.clock, t.audit, 60)}`);
    const res = await b.postForm("/setup", { ...goodSetup, organisation: "Kept Org", confirm: "Different-Pass-1" });
    const html = await res.text();
    expect(html).toContain('value="Kept Org"');
    expect(html).toContain('value="owner@a.example"');
    expect(html).not.toContain("Different-Pass-1");
  });
});

describe("sign-in", () => {
  let t: TestApp;
  let owner: Signed;
  let member: Signed;
  beforeAll(async () => {
    t = await createTestApp();
    owner = await t.setup();
    member = await t.inviteAndActivate(owner, { email: "member@a.example", name: "Mo Member", role: "Member" });
    // an invited user who never activated (no password yet)
    await owner.browser.postForm("/admin/users/new", { email: "invited@a.example", name: "Ivy Invited" });
  });
  afterAll(() => t.cleanup());

  test("GET /signin shows the form with a CSRF token from the pre-session cookie", async () => {
    const b = t.browser();
    const res = await b.get("/signin");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('action="/signin"');
    expect(html).toContain(`name="_csrf" value="${b.jar.get("__Host-conclave_pre")}"`);
  });

  test("wrong password, unknown e-mail and a not-yet-activated user get the identical answer", async () => {
    const b = t.browser();
    await b.get("/signin");
    const tries = [
      { email: "owner@a.example", password: "Wrong-Pass-99" },
      { email: "nobody@a.example", password: "Wrong-Pass-99" },
      { email: "invited@a.example", password: PASSWORD },
    ];
    const answers: { status: number; body: string }[] = [];
    for (const x of tries) {
      const res = await b.postForm("/signin", { ...x, next: "/admin" });
      answers.push({ status: res.status, body: (await res.text()).replaceAll(x.email, "EMAIL") });
      expect(b.sessionCookie).toBeUndefined();
    }
    expect(answers[0]!.status).toBe(400);
    expect(answers[0]!.body).toContain("The e-mail address or password is not correct.");
    expect(answers[1]).toEqual(answers[0]!);
    expect(answers[2]).toEqual(answers[0]!);
    const invited = (await t.auth.users.findByEmail("invited@a.example"))!;
    expect(lastAudit(t, "signin.failure").targetId).toBe(invited.id);
  });

  test("failures are audited: a known user's account gets the entry, an unknown e-mail is logged without one", async () => {
    const b = t.browser();
    await b.postForm("/signin", { email: "owner@a.example", password: "Wrong-Pass-98" });
    const known = lastAudit(t, "signin.failure");
    expect(known).toMatchObject({ accountId: owner.accountId, targetId: owner.userId, details: { reason: "wrong password" } });
    await b.postForm("/signin", { email: "ghost@a.example", password: "Wrong-Pass-98" });
    const unknown = lastAudit(t, "signin.failure");
    expect(unknown.accountId).toBeNull();
    expect(unknown.details).toEqual({ reason: "unknown e-mail" });
    expect(JSON.stringify(unknown)).not.toContain("Wrong-Pass-98");
  });

  test("the session cookie is Secure, HttpOnly, SameSite=Lax, Path=/ with the __Host- prefix", async () => {
    const b = t.browser();
    const res = await b.postForm("/signin", { email: member.email, password: PASSWORD });
    expect(res.status).toBe(303);
    const line = b.lastSetCookie.find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(line).toBeTruthy();
    expect(line).toContain("; Secure");
    expect(line).toContain("; HttpOnly");
    expect(line).toContain("; SameSite=Lax");
    expect(line).toContain("; Path=/");
    expect(line).not.toMatch(/Domain=/i);
    expect(SESSION_COOKIE.startsWith("__Host-")).toBe(true);
  });

  test("the session cookie holds an id and a secret, and the database only the secret's hash", async () => {
    const b = await t.signIn(member.email);
    const [id, secret] = b.sessionCookie!.split(".");
    const row = t.db.$client.query("SELECT * FROM sessions WHERE id = ?").get(id!) as Record<string, string>;
    expect(row).toBeTruthy();
    expect(JSON.stringify(row)).not.toContain(secret!);
  });

  test("each sign-in rotates the session; the replaced cookie stops working", async () => {
    const b = t.browser();
    await b.postForm("/signin", { email: member.email, password: PASSWORD });
    const first = b.sessionCookie!;
    await b.postForm("/signin", { email: member.email, password: PASSWORD });
    const second = b.sessionCookie!;
    expect(second).not.toBe(first);
    expect(second.split(".")[0]).not.toBe(first.split(".")[0]);
    const stale = await t.request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${first}` } });
    expect(stale.status).toBe(303);
    expect(stale.headers.get("location")).toStartWith("/signin");
    const current = await t.request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${second}` } });
    expect(current.status).toBe(200);
  });

  test("sign-out ends the session server-side: the old cookie no longer works", async () => {
    const b = await t.signIn(member.email);
    const cookie = b.sessionCookie!;
    const out = await b.postForm("/signout");
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/signin");
    expect(b.sessionCookie).toBeUndefined();
    const replay = await t.request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    expect(replay.status).toBe(303);
    expect(lastAudit(t, "signout").actorId).toBe(member.userId);
  });

  test("a forged or malformed session cookie is ignored and cleared", async () => {
    for (const value of ["abc", "a.b.c", `${"x".repeat(70)}.y`, "deadbeef.deadbeef"]) {
      const res = await t.request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${value}` } });
      expect(res.status).toBe(303);
      expect(res.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=;`))).toBe(true);
    }
  });

  test("success redirects to a local `next`, never to another site", async () => {
    const cases: [string, string][] = [
      ["/admin/users", "/admin/users"],
      ["//evil.example/x", "/admin"],
      ["https://evil.example/", "/admin"],
      ["/\\evil.example", "/admin"],
    ];
    for (const [next, expected] of cases) {
      const b = t.browser();
      const res = await b.postForm("/signin", { email: owner.email, password: PASSWORD, next });
      expect(res.headers.get("location")).toBe(expected);
    }
  });

  test("a signed-in user opening /signin goes to the dashboard", async () => {
    const res = await owner.browser.get("/signin");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin");
  });

  test("successful sign-in is audited and sets the last sign-in time", async () => {
    const before = t.count("audit_log");
    await t.signIn(owner.email);
    expect(t.count("audit_log")).toBe(before + 1);
    expect(lastAudit(t, "signin.success")).toMatchObject({ actorId: owner.userId, details: { method: "password" } });
    expect((await t.auth.users.get(owner.accountId, owner.userId))!.lastSignInAt).toBe(t.clock.now());
  });

  test("e-mail matching ignores case and surrounding spaces", async () => {
    const b = t.browser();
    const res = await b.postForm("/signin", { email: "  OWNER@A.Example ", password: PASSWORD });
    expect(res.status).toBe(303);
    expect(b.sessionCookie).toBeTruthy();
  });
});

describe("sign-in rate limit", () => {
  test("the 21st attempt within a minute from one address is refused with 429", async () => {
    const t = await fresh({ stayUnderRateLimit: false });
    const b = t.browser();
    for (let i = 0; i < 20; i++) expect((await b.postForm("/signin", { email: "", password: "" })).status).toBe(400);
    const res = await b.postForm("/signin", { email: "", password: "" });
    expect(res.status).toBe(429);
    expect(await res.text()).toContain("Too many attempts");
    t.clock.advance(60_000);
    expect((await b.postForm("/signin", { email: "", password: "" })).status).toBe(400);
  });
});

describe("activation", () => {
  let t: TestApp;
  let owner: Signed;
  beforeAll(async () => {
    t = await createTestApp();
    owner = await t.setup();
  });
  afterAll(() => t.cleanup());

  async function invite(email: string): Promise<string> {
    const res = await owner.browser.postForm("/admin/users/new", { email, name: "New Person" });
    expect(res.status).toBe(200);
    return t.lastMailLink(email).slice("https://conclave.test".length);
  }

  test("the mailed link activates once; a second use is refused", async () => {
    const link = await invite("once@a.example");
    const b = t.browser();
    expect((await b.get(link)).headers.get("location")).toBe("/activate");
    const form = await b.get("/activate");
    expect(await form.text()).toContain("once@a.example");
    const res = await b.postForm("/activate", { name: "Once Only", password: PASSWORD, confirm: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin?activated=1");
    expect(b.sessionCookie).toBeTruthy();
    expect(b.jar.has(LINK_COOKIE)).toBe(false);
    expect(lastAudit(t, "user.activate").details).toEqual({ before: { status: "invited" }, after: { status: "active" } });

    const again = t.browser();
    await again.get(link);
    const second = await again.get("/activate");
    expect(second.status).toBe(404);
    expect(await second.text()).toContain("already been used");
    const post = await again.postForm("/activate", { name: "Hijack", password: "Other-Pass-77", confirm: "Other-Pass-77" });
    expect(post.status).toBe(404);
    const u = (await t.auth.users.findByEmail("once@a.example"))!;
    expect(u.name).toBe("Once Only");
  });

  test("bad input re-renders the form, stores nothing and leaves the link usable", async () => {
    const link = await invite("retry@a.example");
    const b = t.browser();
    await b.get(link);
    const before = t.count("audit_log");
    const res = await b.postForm("/activate", { name: "Retry", password: "weak", confirm: "weak" });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/The password needs at least 8 characters/);
    const mismatch = await b.postForm("/activate", { name: "Retry", password: PASSWORD, confirm: "Sturdy-Pass-43" });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain("two passwords differ");
    expect(t.count("audit_log")).toBe(before);
    expect((await t.auth.users.findByEmail("retry@a.example"))!.status).toBe("invited");
    expect((await b.postForm("/activate", { name: "Retry", password: PASSWORD, confirm: PASSWORD })).status).toBe(303);
  });

  test("a resent invitation replaces the old link", async () => {
    const oldLink = await invite("resend@a.example");
    const u = (await t.auth.users.findByEmail("resend@a.example"))!;
    const res = await owner.browser.postForm(`/admin/users/${u.id}/resend`);
    expect(res.status).toBe(200);
    const newLink = t.lastMailLink("resend@a.example").slice("https://conclave.test".length);
    expect(newLink).not.toBe(oldLink);
    const old = t.browser();
    await old.get(oldLink);
    expect((await old.get("/activate")).status).toBe(404);
    const fresh = t.browser();
    await fresh.get(newLink);
    expect((await fresh.get("/activate")).status).toBe(200);
    expect(lastAudit(t, "user.invite_resend").targetId).toBe(u.id);
  });

  test("an unknown activation token is refused", async () => {
    const b = t.browser();
    await b.get("/activate?token=bogus");
    const res = await b.get("/activate");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("not valid");
  });

  // Last: moving the clock a week ends the Owner's session too.
  test("an expired invitation is refused", async () => {
    const link = await invite("late@a.example");
    t.clock.advance(7 * 86_400_000 + 1);
    const b = t.browser();
    await b.get(link);
    const res = await b.get("/activate");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("expired");
  });
});
