// Identity end to end, in real headless Chromium against the compiled binary (empty temporary
// directory, SMTP sink on loopback):
//   1. Owner setup and a member invited and activated through the mailed link;
//   2. the member enrols TOTP on /account/mfa (secret read from the page, codes computed here),
//      signs in with a code, a replayed code is refused, a recovery code works exactly once;
//   3. the Owner requires two-factor authentication on the Settings page: the Owner is held on
//      /account/mfa at the next navigation, and so is a newly invited user until they enrol;
//   4. self-service password reset by e-mailed single-use link;
//   5. six wrong passwords lock the account (page and e-mail say so) until the Owner unlocks it;
//   6. a hostile-name corpus (users, groups, organisation, Owner) rendered on the admin pages:
//      no script runs, no dialog opens, no CSP violation or script error shows in the console.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { totpCode } from "../../src/auth/totp.ts";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";
import { ConclaveServer, removeDir, requireBinary, startConclave, tempDir } from "../support/conclave.ts";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink.ts";

// Generous limits for a slow machine; nothing here asserts on timing.
setDefaultTimeout(90_000);

const OWNER = { organisation: "Acme Identity", name: "Olivia Owner", email: "olivia@acme.test", password: "Corr3ct-Horse-Battery" };
const MEMBER = { email: "mia@acme.test", name: "Mia Member", password: "Blue-Staple-7-Quartz", newPassword: "Tidal-Fern-38-Lantern" };
const NEWCOMER = { email: "nina@acme.test", name: "Nina Newcomer", password: "Amber-Kite-29-Willow" };

/** HOSTILE is the name corpus: each one, if it ever ran, would set window.__xss (or open a dialog). */
const HOSTILE = [
  "<script>window.__xss=1</script>",
  "<img src=x onerror=window.__xss=1>",
  '"><svg onload=window.__xss=1>',
  "\u202Egnp.exe",
  "javascript:window.__xss=1",
  "' autofocus onfocus='window.__xss=1",
  "</title><script>window.__xss=1</script>",
  '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  "<img src=x onerror=alert(1)>",
];
/** What the server stores for a hostile name: bidi overrides are stripped, the rest is kept as text. */
const stored = (name: string): string => name.replace(/[\u202a-\u202e\u2066-\u2069]/g, "").trim();

const TOTP_STEP_MS = 30_000;
const stepAt = (ms: number): number => Math.floor(ms / TOTP_STEP_MS);

/** Link patterns in the mails. */
const ACTIVATION_LINK = /https:\/\/\S+\/activate\?token=[A-Za-z0-9_-]+/;
const RESET_LINK = /https:\/\/\S+\/reset\?token=[A-Za-z0-9_-]+/;

describe("identity end to end (dist/conclave + Chromium): TOTP, MFA policy, reset, lockout, hostile names", () => {
  let dir: string;
  let sink: SmtpSink;
  let server: ConclaveServer;
  let browser: Browser;
  let owner: BrowserContext;
  let ownerPage: Page;
  const contexts: BrowserContext[] = [];
  const problems: ConsoleProblem[] = [];
  const dialogs: string[] = [];

  let memberId = "";
  let memberSecret = "";
  /** The last TOTP time step the server accepted for the member (it refuses that step and earlier). */
  let memberLastStep = 0;
  let recoveryCodes: string[] = [];

  const url = (path: string): string => `${server.browserUrl}${path}`;

  async function newPage(ctx: BrowserContext): Promise<Page> {
    const page = await ctx.newPage();
    watchConsole(page, problems);
    page.on("dialog", (d) => {
      dialogs.push(`${page.url()}: ${d.type()} ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    return page;
  }

  async function freshContext(): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    contexts.push(ctx);
    return { ctx, page: await newPage(ctx) };
  }

  /** submit clicks a button that posts a plain form and waits until the answer page has loaded. */
  async function submit(page: Page, button: string): Promise<void> {
    const loaded = page.waitForEvent("load");
    await page.locator("main").getByRole("button", { name: button, exact: true }).click();
    await loaded;
  }

  async function mainText(page: Page): Promise<string> {
    return (await page.locator("main").textContent()) ?? "";
  }

  async function alertText(page: Page): Promise<string> {
    return (await page.locator("main [role=alert]").first().textContent()) ?? "";
  }

  /**
   * freshTotp returns a code for the earliest time step the server has not seen yet: the current
   * step, or the next one (the server accepts one step of drift either side). Only when even the
   * next step was used already does it wait for the clock to reach the next step boundary.
   */
  async function freshTotp(secret: string, lastStep: number): Promise<{ code: string; step: number }> {
    for (;;) {
      const now = Date.now();
      const step = Math.max(stepAt(now), lastStep + 1);
      if (step <= stepAt(now) + 1) return { code: totpCode(secret, step * TOTP_STEP_MS), step };
      await Bun.sleep((stepAt(now) + 1) * TOTP_STEP_MS - now + 20); // wait for the next TOTP step boundary
    }
  }

  /** A 6-digit code that is valid in no step the server could be checking against right now. */
  function wrongTotp(secret: string): string {
    const n = stepAt(Date.now());
    const valid = new Set([n - 1, n, n + 1, n + 2].map((s) => totpCode(secret, s * TOTP_STEP_MS)));
    return ["000000", "111111", "222222", "333333", "444444"].find((c) => !valid.has(c))!;
  }

  /** enrolTotp goes through the enrolment page: reads the key, computes the code, sees the recovery codes. */
  async function enrolTotp(page: Page): Promise<{ secret: string; step: number; codes: string[] }> {
    const secretEl = page.locator('[data-testid="totp-secret"]');
    await secretEl.waitFor();
    const secret = ((await secretEl.textContent()) ?? "").trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits, base32
    // The QR code is a data: image; the CSP (img-src 'self' data:) lets it render.
    const qr = page.getByRole("img", { name: "QR code for your authenticator app" });
    expect(await qr.getAttribute("src")).toStartWith("data:image/svg+xml;base64,");
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

    const now = Date.now();
    const code = totpCode(secret, now);
    await page.fill("#f-code", code);
    await submit(page, "Turn on");
    const list = page.locator('[data-testid="recovery-codes"] li');
    await list.first().waitFor();
    const codes = (await list.allTextContents()).map((c) => c.trim());
    return { secret, step: stepAt(now), codes };
  }

  /**
   * signInWithPassword posts the sign-in form from a fresh /signin page. The server allows 20
   * sign-in posts a minute per address; this file makes 15 in all, so it stays within that budget.
   */
  async function signInWithPassword(page: Page, email: string, password: string): Promise<void> {
    await page.goto(url("/signin"));
    await page.fill("#f-email", email);
    await page.fill("#f-password", password);
    await submit(page, "Sign in");
  }

  /** secondFactor enters a code on /signin/mfa. */
  async function secondFactor(page: Page, code: string): Promise<void> {
    expect(new URL(page.url()).pathname).toBe("/signin/mfa");
    await page.fill("#f-code", code);
    await submit(page, "Verify");
  }

  async function signOut(page: Page): Promise<void> {
    const loaded = page.waitForEvent("load");
    await page.getByRole("button", { name: "Sign out" }).click();
    await loaded;
    await page.waitForURL(/\/signin$/);
  }

  async function expectDashboard(page: Page, name: string): Promise<void> {
    await page.waitForURL(/\/admin(\?.*)?$/);
    expect(await mainText(page)).toContain(`Signed in as ${name}`);
  }

  /** inviteUser uses the Users pages and returns the new user's id. */
  async function inviteUser(page: Page, email: string, name: string): Promise<string> {
    await page.goto(url("/admin/users/new"));
    await page.fill("#f-email", email);
    await page.fill("#f-name", name);
    await submit(page, "Send invitation");
    await page.locator("main h1", { hasText: "Invitation created" }).waitFor();
    const href = (await page.getByRole("link", { name: "View user" }).getAttribute("href")) ?? "";
    expect(href).toMatch(/^\/admin\/users\/[^/?]+$/);
    return href.split("/")[3]!;
  }

  /** createGroup uses the Groups page and returns the new group's id. */
  async function createGroup(page: Page, name: string, description: string): Promise<string> {
    await page.goto(url("/admin/groups"));
    await page.fill("#f-name", name);
    await page.fill("#f-description", description);
    await submit(page, "Create group");
    await page.waitForURL(/\/admin\/groups\/[^/]+\?done=1$/);
    return new URL(page.url()).pathname.split("/")[3]!;
  }

  /** inTabs runs fn for every item in a few tabs of the Owner's context, keeping the items' order in the result. */
  async function inTabs<T, R>(items: T[], fn: (page: Page, item: T, index: number) => Promise<R>, tabs = 3): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(tabs, items.length) }, async () => {
        const page = await newPage(owner);
        try {
          while (next < items.length) {
            const i = next++;
            out[i] = await fn(page, items[i]!, i);
          }
        } finally {
          await page.close();
        }
      }),
    );
    return out;
  }

  async function activationLinkFor(email: string): Promise<string> {
    const mail = await sink.waitForMessage((m) => m.to.includes(email) && ACTIVATION_LINK.test(m.text));
    return ACTIVATION_LINK.exec(mail.text)![0];
  }

  beforeAll(async () => {
    requireBinary();
    dir = tempDir("conclave-identity-e2e-");
    sink = await startSmtpSink();
    server = await startConclave({ cwd: dir, env: { CONCLAVE_SMTP_HOST: "127.0.0.1", CONCLAVE_SMTP_PORT: String(sink.port), CONCLAVE_SMTP_TLS: "none" } });
    browser = await launchChromium();
    owner = await browser.newContext({ ignoreHTTPSErrors: true });
    ownerPage = await newPage(owner);
  }, 90_000);

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await sink?.close();
    removeDir(dir);
  }, 60_000);

  test("1. the Owner sets up the organisation; a member is invited and activates through the mailed link", async () => {
    await ownerPage.goto(await server.setupUrl());
    await ownerPage.waitForURL(/\/setup$/);
    await ownerPage.fill("#f-organisation", OWNER.organisation);
    await ownerPage.fill("#f-ownerName", OWNER.name);
    await ownerPage.fill("#f-ownerEmail", OWNER.email);
    await ownerPage.fill("#f-password", OWNER.password);
    await ownerPage.fill("#f-confirm", OWNER.password);
    await submit(ownerPage, "Create organisation");
    await ownerPage.waitForURL(/\/admin\?welcome=1$/);
    expect(await ownerPage.locator("main h1").textContent()).toBe(OWNER.organisation);

    memberId = await inviteUser(ownerPage, MEMBER.email, MEMBER.name);
    const link = await activationLinkFor(MEMBER.email);
    expect(link).toStartWith(`${server.browserUrl}/activate?token=`);

    const { page } = await freshContext();
    await page.goto(link);
    await page.waitForURL(/\/activate$/);
    await page.fill("#f-password", MEMBER.password);
    await page.fill("#f-confirm", MEMBER.password);
    await submit(page, "Activate");
    await page.waitForURL(/\/admin\?activated=1$/);
    expect(await mainText(page)).toContain(`Signed in as ${MEMBER.name}`);
  });

  test("2a. the member enrols TOTP on /account/mfa: key read from the page, code computed by the test, 10 recovery codes", async () => {
    const { page } = await freshContext();
    await signInWithPassword(page, MEMBER.email, MEMBER.password);
    await expectDashboard(page, MEMBER.name);

    await page.goto(url("/account/mfa"));
    await page.locator("main h1", { hasText: "Set up two-factor authentication" }).waitFor();
    const keyBefore = await page.locator('[data-testid="totp-secret"]').textContent();

    // A wrong code is refused and the same key stays on offer (the app already scanned it).
    await page.fill("#f-code", wrongTotp(keyBefore!.trim()));
    await submit(page, "Turn on");
    expect(await alertText(page)).toContain("That code is not correct");
    expect(await page.locator('[data-testid="totp-secret"]').textContent()).toBe(keyBefore);

    const r = await enrolTotp(page);
    expect(r.secret).toBe(keyBefore!.trim());
    memberSecret = r.secret;
    memberLastStep = r.step;
    recoveryCodes = r.codes;
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const c of recoveryCodes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(await mainText(page)).toContain("Two-factor authentication is on");

    // The page now shows the state, not a new key.
    await page.goto(url("/account/mfa"));
    expect(await mainText(page)).toContain("10 recovery code(s) left");
    expect(await page.locator('[data-testid="totp-secret"]').count()).toBe(0);
    await signOut(page);
  });

  test("2b. sign-in now asks for a code: a fresh code signs in, the same code again is refused as already used", async () => {
    const { page } = await freshContext();
    // Both sign-ins below should fall into one 30 s time step: near the end of a step, wait for the next one.
    const left = TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS);
    if (left < 10_000) await Bun.sleep(left + 20); // wait for the TOTP step boundary, not a timing assertion
    const { code, step } = await freshTotp(memberSecret, memberLastStep);

    await signInWithPassword(page, MEMBER.email, MEMBER.password);
    await page.waitForURL(/\/signin\/mfa\?next=%2Fadmin$/);
    await secondFactor(page, code);
    await expectDashboard(page, MEMBER.name);
    memberLastStep = step;
    await signOut(page);

    await signInWithPassword(page, MEMBER.email, MEMBER.password);
    await page.waitForURL(/\/signin\/mfa/);
    await secondFactor(page, code);
    expect(new URL(page.url()).pathname).toBe("/signin/mfa");
    expect(await alertText(page)).toContain("already used");
    // Still not signed in.
    expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(0);
  });

  test("2c. a recovery code signs in once; the same recovery code again is refused", async () => {
    const { page } = await freshContext();
    const [first] = recoveryCodes;
    await signInWithPassword(page, MEMBER.email, MEMBER.password);
    await page.waitForURL(/\/signin\/mfa/);
    await secondFactor(page, first!);
    await expectDashboard(page, MEMBER.name);
    await page.goto(url("/account/mfa"));
    expect(await mainText(page)).toContain("9 recovery code(s) left");
    await signOut(page);

    await signInWithPassword(page, MEMBER.email, MEMBER.password);
    await page.waitForURL(/\/signin\/mfa/);
    await secondFactor(page, first!);
    expect(new URL(page.url()).pathname).toBe("/signin/mfa");
    expect(await alertText(page)).toContain("not correct");
    expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(0);
  });

  test("3a. the Owner requires two-factor authentication on the Settings page and is held on /account/mfa until enrolled", async () => {
    await ownerPage.goto(url("/admin/settings"));
    const row = ownerPage.locator("#row-security-mfa_required");
    expect(await row.locator("strong").textContent()).toBe("Require two-factor authentication (TOTP)");
    await row.locator('select[name="value"]').selectOption("true");
    const saved = ownerPage.waitForResponse((r) => r.url().endsWith("/admin/settings") && r.request().method() === "POST");
    await row.getByRole("button", { name: "Save" }).click();
    const res = await saved;
    expect(res.status()).toBe(200);
    expect(res.request().headers()["hx-request"]).toBe("true"); // swapped by htmx, no page load
    await ownerPage.locator('#row-security-mfa_required [data-testid="effective-security.mfa_required"]', { hasText: "On" }).waitFor();
    expect(new URL(ownerPage.url()).pathname).toBe("/admin/settings");

    // The very next navigation lands on the enrolment page, whatever the target.
    await ownerPage.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Users", exact: true }).click();
    await ownerPage.waitForURL(/\/account\/mfa$/);
    expect(await mainText(ownerPage)).toContain("Your organisation requires two-factor authentication");
    await ownerPage.goto(url("/admin/audit"));
    await ownerPage.waitForURL(/\/account\/mfa$/);

    const r = await enrolTotp(ownerPage);
    expect(r.codes).toHaveLength(10);
    await ownerPage.getByRole("link", { name: "Continue" }).click();
    await expectDashboard(ownerPage, OWNER.name);
    await ownerPage.goto(url("/admin/audit"));
    await ownerPage.waitForURL(/\/admin\/audit$/);
    // Required: the Owner cannot turn it off.
    await ownerPage.goto(url("/account/mfa"));
    expect(await mainText(ownerPage)).toContain("Your organisation requires two-factor authentication");
    expect(await ownerPage.getByRole("button", { name: "Turn off" }).count()).toBe(0);
  });

  test("3b. a freshly invited user is held on /account/mfa from activation until they enrol", async () => {
    await inviteUser(ownerPage, NEWCOMER.email, NEWCOMER.name);
    const link = await activationLinkFor(NEWCOMER.email);

    const { page } = await freshContext();
    await page.goto(link);
    await page.waitForURL(/\/activate$/);
    await page.fill("#f-password", NEWCOMER.password);
    await page.fill("#f-confirm", NEWCOMER.password);
    await submit(page, "Activate");
    await page.waitForURL(/\/account\/mfa$/);
    expect(await mainText(page)).toContain("Your organisation requires two-factor authentication. Set it up to continue.");

    for (const path of ["/admin", "/admin/settings", `/admin/settings/user/${memberId}`]) {
      await page.goto(url(path));
      await page.waitForURL(/\/account\/mfa$/);
    }

    const r = await enrolTotp(page);
    expect(r.codes).toHaveLength(10);
    await page.getByRole("link", { name: "Continue" }).click();
    await expectDashboard(page, NEWCOMER.name);
  });

  test("4. password reset: 'Forgot your password?' → mail at the sink → new password → sign in; the link works once", async () => {
    const { page } = await freshContext();
    await page.goto(url("/signin"));
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.waitForURL(/\/signin\/forgot$/);
    await page.fill("#f-email", MEMBER.email);
    await submit(page, "Send a reset link");
    expect(await mainText(page)).toContain("we have e-mailed it a link");

    const mail = await sink.waitForMessage((m) => m.to.includes(MEMBER.email) && RESET_LINK.test(m.text));
    expect(mail.subject).toBe("Reset your Conclave password");
    const link = RESET_LINK.exec(mail.text)![0];
    expect(link).toStartWith(`${server.browserUrl}/reset?token=`);

    await page.goto(link);
    await page.waitForURL(/\/reset$/); // the token moved into a cookie
    expect(await mainText(page)).toContain(`For ${MEMBER.email}.`);
    await page.fill("#f-password", MEMBER.newPassword);
    await page.fill("#f-confirm", MEMBER.newPassword);
    await submit(page, "Set password");
    await page.locator("main h1", { hasText: "Password changed" }).waitFor();

    // The old password no longer works; the new one does (with the second factor, still on).
    await signInWithPassword(page, MEMBER.email, MEMBER.password);
    expect(await alertText(page)).toContain("not correct");
    await signInWithPassword(page, MEMBER.email, MEMBER.newPassword);
    await page.waitForURL(/\/signin\/mfa/);
    const { code, step } = await freshTotp(memberSecret, memberLastStep);
    await secondFactor(page, code);
    await expectDashboard(page, MEMBER.name);
    memberLastStep = step;

    const again = await page.goto(link);
    expect(again?.status()).toBe(404);
    expect(await mainText(page)).toContain("already been used");
  });

  test("5. six wrong passwords lock the member out (page and e-mail say so) until the Owner clicks Unlock", async () => {
    const { page } = await freshContext();
    for (let i = 1; i <= 6; i++) {
      await signInWithPassword(page, MEMBER.email, `Wrong-Guess-${i}9-Pass`);
      const alert = await alertText(page);
      if (i < 6) expect(alert).toContain("The e-mail address or password is not correct.");
      else expect(alert).toMatch(/locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    }
    // While locked, even the right password is refused, and the page says until when.
    await signInWithPassword(page, MEMBER.email, MEMBER.newPassword);
    expect(await alertText(page)).toMatch(/This account is locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(new URL(page.url()).pathname).toBe("/signin");

    const mail = await sink.waitForMessage((m) => m.to.includes(MEMBER.email) && /locked/i.test(m.subject));
    expect(mail.subject).toBe("Your Conclave account was locked");
    expect(mail.text).toMatch(/locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

    await ownerPage.goto(url("/admin/users"));
    await ownerPage.locator("main").getByRole("link", { name: MEMBER.name, exact: true }).click();
    await ownerPage.waitForURL(new RegExp(`/admin/users/${memberId}$`));
    expect(await ownerPage.locator("main .badge.bad").textContent()).toMatch(/^locked until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    for (const label of ["Unlock", "Reset two-factor authentication", "Send a password reset link", "Require a new password"])
      expect(await ownerPage.locator("main").getByRole("button", { name: label, exact: true }).count()).toBe(1);
    await submit(ownerPage, "Unlock");
    await ownerPage.waitForURL(new RegExp(`/admin/users/${memberId}\\?done=1$`));
    expect(await ownerPage.locator("main").getByRole("button", { name: "Unlock", exact: true }).count()).toBe(0);
    expect(await mainText(ownerPage)).not.toContain("locked until");

    await signInWithPassword(page, MEMBER.email, MEMBER.newPassword);
    await page.waitForURL(/\/signin\/mfa/);
    await secondFactor(page, recoveryCodes[1]!);
    await expectDashboard(page, MEMBER.name);
  });

  test("the operation log records enrolment, replay, lockout, unlock, reset and the policy change", async () => {
    await ownerPage.goto(url("/admin/audit"));
    for (const action of ["user.mfa_enrol", "user.locked", "user.unlock", "user.password_reset_requested", "user.password_reset", "setting.update", "signin.failure", "signin.success"])
      await ownerPage.locator(`tr[data-action="${action}"]`).first().waitFor();
    expect(await ownerPage.locator('tr[data-action="user.mfa_enrol"]').count()).toBe(3);
    const log = await mainText(ownerPage);
    expect(log).toContain("authenticator code already used");
    expect(log).toContain("security.mfa_required");
  });

  test("6. hostile names for users, groups, the organisation and the Owner render as text in Chromium: no script runs", async () => {
    // Create the corpus through the pages (three tabs of the Owner's browser at a time).
    const hostileIds = await inTabs(HOSTILE, (page, name, i) => inviteUser(page, `hostile${i}@acme.test`, name));
    const groupIds = await inTabs(HOSTILE, (page, name) => createGroup(page, name, `${name} ${HOSTILE[0]}`));
    await ownerPage.goto(url("/admin"));
    await ownerPage.fill("#f-name", `Acme ${HOSTILE[0]}`);
    await submit(ownerPage, "Rename");
    await ownerPage.waitForURL(/\/admin$/);
    await ownerPage.goto(url("/admin/users"));
    const ownerId = ((await ownerPage.locator("main").getByRole("link", { name: OWNER.name, exact: true }).getAttribute("href")) ?? "").split("/")[3]!;
    await ownerPage.goto(url(`/admin/users/${ownerId}`));
    await ownerPage.fill("#f-name", `Olivia ${HOSTILE[2]}`);
    await submit(ownerPage, "Save");
    await ownerPage.waitForURL(/\?done=1$/);

    // Visit every page that shows the names.
    const pages = [
      "/admin",
      "/admin/users",
      ...hostileIds.map((id) => `/admin/users/${id}`),
      `/admin/users/${ownerId}`,
      "/admin/users/new",
      "/admin/groups",
      ...groupIds.map((id) => `/admin/groups/${id}`),
      `/admin/settings/group/${groupIds[0]}`,
      `/admin/settings/user/${hostileIds[0]}`,
      "/admin/audit",
      `/admin/audit?action=${encodeURIComponent(HOSTILE[0]!)}&actor=${encodeURIComponent(HOSTILE[2]!)}`,
      "/account/mfa",
    ];
    // Pages titled with a hostile name: a "</title>" in it must not end the title early.
    const titles = new Map<string, string>([
      ...hostileIds.map((id, i) => [`/admin/users/${id}`, stored(HOSTILE[i]!)] as const),
      ...groupIds.map((id, i) => [`/admin/groups/${id}`, stored(HOSTILE[i]!)] as const),
      [`/admin/settings/group/${groupIds[0]}`, `Settings of group “${stored(HOSTILE[0]!)}”`],
    ]);
    const pageProblems: ConsoleProblem[] = [];
    const stray: string[] = [];
    // One tab for all visits (every navigation starts a new window object), with its own listeners:
    // any sub-resource other than our static files (an injected <img src=x>, say) is a stray request.
    const page = await newPage(owner);
    watchConsole(page, pageProblems);
    page.on("request", (req) => {
      const u = new URL(req.url());
      if (!req.isNavigationRequest() && u.protocol !== "data:" && !u.pathname.startsWith("/static/")) stray.push(`${page.url()} → ${req.url()}`);
    });
    for (const path of pages) {
      const res = await page.goto(url(path));
      expect(res?.status(), path).toBe(200);
      const seen = await page.evaluate(() => {
        const w = window as unknown as { __xss?: unknown };
        const onAttrs = Array.from(document.querySelectorAll("*")).flatMap((el) => Array.from(el.attributes).filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName} ${a.name}`));
        return {
          xss: typeof w.__xss,
          scripts: Array.from(document.scripts).map((s) => s.getAttribute("src")),
          onAttrs,
          frames: document.querySelectorAll("iframe, object, embed, base").length,
          jsLinks: Array.from(document.querySelectorAll("a[href], form[action]")).filter((el) => /^\s*javascript:/i.test(el.getAttribute("href") ?? el.getAttribute("action") ?? "")).length,
          title: document.title,
          bidi: /[\u202a-\u202e\u2066-\u2069]/.test(document.documentElement.outerHTML),
        };
      });
      expect(seen.xss, path).toBe("undefined");
      expect(seen.scripts, path).toEqual(["/static/htmx.min.js"]);
      expect(seen.onAttrs, path).toEqual([]);
      expect(seen.frames, path).toBe(0);
      expect(seen.jsLinks, path).toBe(0);
      expect(seen.title, path).toBe(`${titles.get(path) ?? seen.title.replace(/ · Conclave$/, "")} · Conclave`);
      expect(seen.bidi, path).toBe(false);
    }
    await page.close();

    // The names are shown, as text.
    await ownerPage.goto(url("/admin/users"));
    const users = await mainText(ownerPage);
    for (const name of HOSTILE) expect(users).toContain(stored(name));
    await ownerPage.goto(url("/admin/groups"));
    const groups = await mainText(ownerPage);
    for (const name of HOSTILE) expect(groups).toContain(stored(name));
    await ownerPage.goto(url("/admin"));
    expect(await ownerPage.locator("main h1").textContent()).toBe(`Acme ${HOSTILE[0]}`);
    expect(await ownerPage.locator("header .muted").first().textContent()).toBe(`Olivia ${HOSTILE[2]} <${OWNER.email}>`);

    expect(await ownerPage.evaluate(() => typeof (window as unknown as { __xss?: unknown }).__xss)).toBe("undefined");
    expect(dialogs).toEqual([]);
    expect(stray).toEqual([]);
    expect(pageProblems.filter(isCspViolation)).toEqual([]);
    expect(pageProblems).toEqual([]);
  });

  test("no dialog opened, and no CSP violation or script error showed in the console on any page", () => {
    expect(dialogs).toEqual([]);
    expect(problems.filter(isCspViolation)).toEqual([]);
    expect(problems.filter((p) => p.kind === "pageerror")).toEqual([]);
    // Only the expected 4xx answers: refused codes and passwords (400), the used reset link (404).
    expect(problems.filter((p) => !/^Failed to load resource: the server responded with a status of 40[04]/.test(p.text))).toEqual([]);
  });
});
