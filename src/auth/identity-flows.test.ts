import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createTestApp, PASSWORD, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import { LOCK_MS, MAX_FAILURES, SOURCE_MAX_FAILURES, SOURCE_WINDOW_MS } from "./lockout.ts";
import { totpCode } from "./totp.ts";

let t: TestApp;
let owner: Signed;
let member: Signed;

beforeEach(async () => {
  t = await createTestApp();
  owner = await t.setup();
  member = await t.inviteAndActivate(owner, { email: "mia@a.example", name: "Mia Member" });
});
afterEach(() => t.cleanup());

async function attempt(email: string, password: string): Promise<{ status: number; html: string; browser: ReturnType<TestApp["browser"]> }> {
  const b = t.browser();
  const res = await b.postForm("/signin", { email, password, next: "/admin" });
  return { status: res.status, html: await res.text(), browser: b };
}

async function setAccountSetting(key: string, value: string, mode?: string): Promise<void> {
  const res = await owner.browser.postForm("/admin/settings", { key, value, ...(mode ? { mode } : {}) });
  expect(res.status).toBe(303);
}

function audited(action: string): number {
  return (t.db.$client.query("SELECT count(*) AS n FROM audit_log WHERE action = ?").get(action) as { n: number }).n;
}

describe("lockout", () => {
  test("six failures lock the account for 30 minutes; the user is told until when and e-mailed", async () => {
    for (let i = 1; i < MAX_FAILURES; i++) {
      const r = await attempt(member.email, "Wrong-Pass-1");
      expect(r.status).toBe(400);
      expect(r.html).toContain("The e-mail address or password is not correct.");
    }
    const sixth = await attempt(member.email, "Wrong-Pass-1");
    expect(sixth.html).toContain("locked until");
    // The right password does not help while locked.
    const during = await attempt(member.email, PASSWORD);
    expect(during.status).toBe(400);
    expect(during.html).toContain("This account is locked until");
    expect(audited("user.locked")).toBe(1);
    expect(t.mail.some((m) => m.to === member.email && m.subject.includes("locked"))).toBe(true);
    t.clock.advance(LOCK_MS + 1000);
    expect((await attempt(member.email, PASSWORD)).status).toBe(303);
  });

  test("a success resets the count of consecutive failures", async () => {
    for (let i = 1; i < MAX_FAILURES; i++) await attempt(member.email, "Wrong-Pass-1");
    expect((await attempt(member.email, PASSWORD)).status).toBe(303);
    t.clock.advance(SOURCE_WINDOW_MS); // keep this address under its own budget
    for (let i = 1; i < MAX_FAILURES; i++) await attempt(member.email, "Wrong-Pass-1");
    expect((await attempt(member.email, PASSWORD)).status).toBe(303);
  });

  test("an admin can unlock at once, and the unlock is audited", async () => {
    for (let i = 0; i < MAX_FAILURES; i++) await attempt(member.email, "Wrong-Pass-1");
    const page = await owner.browser.get(`/admin/users/${member.userId}`);
    expect(await page.text()).toContain("locked until");
    expect((await owner.browser.postForm(`/admin/users/${member.userId}/unlock`)).status).toBe(303);
    expect(audited("user.unlock")).toBe(1);
    expect((await attempt(member.email, PASSWORD)).status).toBe(303);
  });

  test("unknown accounts get the same answer as a wrong password", async () => {
    const strip = (h: string) => h.replace(/name="_csrf" value="[^"]+"/g, "").replace(/X-CSRF-Token&quot;:&quot;[^&]+/g, "").replace(/value="[^"]*@[^"]*"/g, "");
    const unknown = await attempt("nobody@a.example", "Wrong-Pass-1");
    const wrong = await attempt(member.email, "Wrong-Pass-1");
    expect(unknown.status).toBe(wrong.status);
    expect(strip(unknown.html)).toBe(strip(wrong.html));
  });

  test("one source address cannot lock out many accounts: its failure budget runs out first", async () => {
    for (let i = 0; i < SOURCE_MAX_FAILURES; i++) await attempt(`nobody${i}@a.example`, "Wrong-Pass-1");
    const blocked = await attempt(member.email, "Wrong-Pass-1");
    expect(blocked.html).toContain("Too many failed sign-ins from your network address");
    // The member's own counter was not charged.
    const row = t.db.$client.query("SELECT failed_attempts FROM users WHERE id = ?").get(member.userId) as { failed_attempts: number };
    expect(row.failed_attempts).toBe(0);
    t.clock.advance(15 * 60_000 + 1000);
    expect((await attempt(member.email, PASSWORD)).status).toBe(303);
  });
});

async function enrol(s: Signed): Promise<{ secret: string; codes: string[] }> {
  const page = await s.browser.get("/account/mfa");
  expect(page.status).toBe(200);
  const secret = /data-testid="totp-secret">([A-Z2-7]+)</.exec(await page.text())![1]!;
  const res = await s.browser.postForm("/account/mfa", { code: totpCode(secret, t.clock.now()) });
  const html = await res.text();
  expect(res.status).toBe(200);
  const codes = [...html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]!);
  return { secret, codes };
}

describe("TOTP two-factor authentication", () => {
  test("enrolment, sign-in with a code, replay refused, recovery code single use", async () => {
    const { secret, codes } = await enrol(member);
    expect(codes).toHaveLength(10);
    expect(audited("user.mfa_enrol")).toBe(1);
    // The secret is stored through the personal-data codec, not in a plain column.
    const row = t.db.$client.query("SELECT totp_sealed FROM users WHERE id = ?").get(member.userId) as { totp_sealed: string };
    expect(row.totp_sealed.startsWith("c1:")).toBe(true);

    t.clock.advance(60_000);
    const first = await attempt(member.email, PASSWORD);
    expect(first.status).toBe(303);
    const b = first.browser;
    expect((await b.get("/admin")).status).toBe(303); // no session yet: only the pending second step
    const wrong = await b.postForm("/signin/mfa", { code: "000000", next: "/admin" });
    expect(await wrong.text()).toContain("That code is not correct.");
    const code = totpCode(secret, t.clock.now());
    const ok = await b.postForm("/signin/mfa", { code, next: "/admin" });
    expect(ok.status).toBe(303);
    expect((await b.get("/admin")).status).toBe(200);

    // Same code again (a second sign-in within the same 30 s step) is refused.
    const again = await attempt(member.email, PASSWORD);
    const replay = await again.browser.postForm("/signin/mfa", { code, next: "/admin" });
    expect(await replay.text()).toContain("already used");

    // A recovery code works once.
    const rc = await again.browser.postForm("/signin/mfa", { code: codes[0]!, next: "/admin" });
    expect(rc.status).toBe(303);
    const third = await attempt(member.email, PASSWORD);
    expect(await (await third.browser.postForm("/signin/mfa", { code: codes[0]!, next: "/admin" })).text()).toContain("That code is not correct.");
  });

  test("second-factor failures count toward the same lockout budget", async () => {
    await enrol(member);
    t.clock.advance(60_000);
    for (let i = 0; i < 3; i++) await attempt(member.email, "Wrong-Pass-1");
    const r = await attempt(member.email, PASSWORD); // password right: counter reset, then codes
    let last = "";
    for (let i = 0; i < MAX_FAILURES; i++) last = await (await r.browser.postForm("/signin/mfa", { code: "123456", next: "/admin" })).text();
    expect(last).toContain("locked until");
    expect(audited("user.locked")).toBe(1);
  });

  test("admins can require MFA: users must enrol before anything else; admins can reset it", async () => {
    const ownerCodes = await enrol(owner);
    expect(ownerCodes.codes).toHaveLength(10);
    await setAccountSetting("security.mfa_required", "true");
    const b = await t.signIn(member.email);
    const res = await b.get("/admin");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account/mfa");
    expect((await b.request("/api/v1/me")).status).toBe(403);
    const again: Signed = { ...member, browser: b };
    await enrol(again);
    expect((await b.get("/admin")).status).toBe(200);

    expect((await owner.browser.postForm(`/admin/users/${member.userId}/reset-mfa`)).status).toBe(303);
    expect(audited("user.mfa_reset")).toBe(1);
    const row = t.db.$client.query("SELECT totp_enabled, totp_sealed FROM users WHERE id = ?").get(member.userId) as { totp_enabled: number; totp_sealed: string | null };
    expect(row).toEqual({ totp_enabled: 0, totp_sealed: null });
  });
});

describe("passwords", () => {
  test("self-service reset by e-mailed single-use link (1 h); unknown addresses get the same page", async () => {
    const b = t.browser();
    const known = await (await b.postForm("/signin/forgot", { email: member.email })).text();
    const unknown = await (await t.browser().postForm("/signin/forgot", { email: "nobody@a.example" })).text();
    const strip = (h: string) => h.replace(/name="_csrf" value="[^"]+"/g, "").replace(/X-CSRF-Token&quot;:&quot;[^&]+/g, "");
    expect(strip(known)).toBe(strip(unknown));
    const mail = t.mail.findLast((m) => m.to === member.email)!;
    const link = /https:\/\/\S+\/reset\?token=[\w-]+/.exec(mail.text)![0];
    const path = link.slice("https://conclave.test".length);
    const r = t.browser();
    expect((await r.get(path)).status).toBe(303);
    expect((await r.get("/reset")).status).toBe(200);
    const weak = await r.postForm("/reset", { password: "short", confirm: "short" });
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain("at least 8 characters");
    expect((await r.postForm("/reset", { password: "Fresh-Start-93", confirm: "Fresh-Start-93" })).status).toBe(200);
    expect((await attempt(member.email, "Fresh-Start-93")).status).toBe(303);
    expect((await r.postForm("/reset", { password: "Other-Start-94", confirm: "Other-Start-94" })).status).toBe(404);
    expect(audited("user.password_reset")).toBe(1);
  });

  test("reset links expire after an hour", async () => {
    await t.browser().postForm("/signin/forgot", { email: member.email });
    const link = /https:\/\/\S+\/reset\?token=[\w-]+/.exec(t.mail.findLast((m) => m.to === member.email)!.text)![0];
    t.clock.advance(61 * 60_000);
    const r = t.browser();
    await r.get(link.slice("https://conclave.test".length));
    const page = await r.get("/reset");
    expect(page.status).toBe(404);
    expect(await page.text()).toContain("expired");
  });

  test("no reuse of the previous N passwords, and at most N changes per 24 h", async () => {
    await setAccountSetting("password.history", "3");
    await setAccountSetting("password.max_changes_per_day", "2");
    let b = member.browser;
    const change = (current: string, next: string) => b.postForm("/account/password", { current, password: next, confirm: next });
    const reuse = await change(PASSWORD, PASSWORD);
    expect(reuse.status).toBe(400);
    expect(await reuse.text()).toContain("previous 3 passwords");
    expect((await change(PASSWORD, "Second-Pass-51")).status).toBe(303);
    expect((await change("Second-Pass-51", "Third-Pass-52")).status).toBe(303);
    const tooMany = await change("Third-Pass-52", "Fourth-Pass-53");
    expect(await tooMany.text()).toContain("at most 2 time(s) in 24 hours");
    t.clock.advance(86_400_000 + 1000);
    b = await t.signIn(member.email, "Third-Pass-52"); // the old session idled out
    const back = await change("Third-Pass-52", "Second-Pass-51");
    expect(await back.text()).toContain("previous 3 passwords");
    expect((await change("Third-Pass-52", "Fourth-Pass-53")).status).toBe(303);
    expect(audited("user.password_change")).toBe(3);
  });

  test("expired passwords and admin-required changes hold the user on the password page", async () => {
    await setAccountSetting("password.expiry_days", "30");
    t.clock.advance(31 * 86_400_000);
    const b = await t.signIn(member.email);
    const res = await b.get("/admin/users");
    expect(res.headers.get("location")).toBe("/account/password");
    expect(await (await b.get("/account/password")).text()).toContain("Your password has expired");
    expect((await b.postForm("/account/password", { current: PASSWORD, password: "Renewed-Pass-61", confirm: "Renewed-Pass-61" })).status).toBe(303);
    expect((await b.get("/admin")).status).toBe(200);
  });

  test("an admin can require a new password at the next sign-in", async () => {
    expect((await owner.browser.postForm(`/admin/users/${member.userId}/require-password-change`)).status).toBe(303);
    expect(audited("user.password_change_required")).toBe(1);
    expect((await member.browser.get("/admin")).status).toBe(303); // sessions ended
    const b2 = await t.signIn(member.email);
    expect((await b2.get("/admin")).headers.get("location")).toBe("/account/password");
    expect(await (await b2.get("/account/password")).text()).toContain("An administrator asked you");
  });

  test("NIST SP 800-63B profile: no composition rules, minimum 15", async () => {
    await setAccountSetting("password.profile", "nist");
    const change = (next: string) => member.browser.postForm("/account/password", { current: PASSWORD, password: next, confirm: next });
    const short = await change("lowercaseonly");
    expect(await short.text()).toContain("at least 15 characters");
    expect((await change("a long passphrase of words")).status).toBe(303);
    const settings = await (await owner.browser.get("/admin/settings")).text();
    expect(settings).toContain("Conflicts with NIST SP 800-63B and NCSC guidance");
  });
});

describe("single sign-on policy for password sign-in", () => {
  test("password sign-in disabled: members refused, the Owner's break-glass sign-in is audited", async () => {
    await setAccountSetting("sso.password_signin_disabled", "true");
    const r = await attempt(member.email, PASSWORD);
    expect(r.status).toBe(400);
    expect(r.html).toContain("single sign-on");
    expect((await attempt(owner.email, PASSWORD)).status).toBe(303);
    expect(audited("signin.break_glass")).toBe(1);
  });

  test("sign-in restricted to listed e-mail domains", async () => {
    const other = await t.inviteAndActivate(owner, { email: "olga@b.example", name: "Olga Outsider" });
    await setAccountSetting("sso.allowed_domains", "a.example", "set");
    expect((await attempt(other.email, PASSWORD)).html).toContain("does not allow sign-in with this e-mail domain");
    expect((await attempt(member.email, PASSWORD)).status).toBe(303);
  });

  test("SSO settings cannot be set at user level", async () => {
    const res = await owner.browser.postForm(`/admin/settings/user/${member.userId}`, { key: "sso.password_signin_disabled", value: "false" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("can be set only at account level");
  });
});

describe("lockout under concurrency", () => {
  test("wrong passwords sent in parallel all count, and the account locks", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => attempt(member.email, "Wrong-Pass-1")));
    expect(results.every((r) => r.status === 400)).toBe(true);
    expect(audited("user.locked")).toBe(1);
    expect((await attempt(member.email, PASSWORD)).html).toContain("This account is locked until");
  });
});
