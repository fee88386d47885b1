// End to end, in real headless Chromium against the compiled binary started from an empty
// temporary directory: setup URL → Owner → invite → mail at the SMTP sink → activation in a
// second browser → operation log → `conclave audit verify` → restart offers no setup.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";
import { ConclaveServer, removeDir, requireBinary, runCli, SETUP_URL_LINE, startConclave, tempDir } from "../support/conclave.ts";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink.ts";

// Generous limits for a slow machine; nothing here asserts on timing.
setDefaultTimeout(90_000);

const OWNER = { organisation: "Acme Research", name: "Olivia Owner", email: "olivia@acme.test", password: "Corr3ct-Horse-Battery" };
const INVITEE = { email: "ivan@acme.test", invitedAs: "Ivan Invitee", chosenName: "Ivan I. Invitee", password: "Blue-Staple-7-Quartz" };

describe("appliance end to end (dist/conclave + Chromium)", () => {
  let dir: string;
  let sink: SmtpSink;
  let server: ConclaveServer;
  let restarted: ConclaveServer | undefined;
  let browser: Browser;
  let owner: BrowserContext;
  let ownerPage: Page;
  let setupUrl = "";
  let activationUrl = "";
  const problems: ConsoleProblem[] = [];
  const cspHeaders: string[] = [];

  const smtpEnv = () => ({ CONCLAVE_SMTP_HOST: "127.0.0.1", CONCLAVE_SMTP_PORT: String(sink.port), CONCLAVE_SMTP_TLS: "none" });

  async function newPage(ctx: BrowserContext): Promise<Page> {
    const page = await ctx.newPage();
    watchConsole(page, problems);
    page.on("response", (r) => {
      if (r.request().resourceType() === "document") cspHeaders.push(r.headers()["content-security-policy"] ?? "");
    });
    return page;
  }

  beforeAll(async () => {
    requireBinary();
    dir = tempDir("conclave-e2e-");
    sink = await startSmtpSink();
    server = await startConclave({ cwd: dir, env: smtpEnv() });
    browser = await launchChromium();
    owner = await browser.newContext({ ignoreHTTPSErrors: true });
    ownerPage = await newPage(owner);
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    await restarted?.stop();
    await sink?.close();
    removeDir(dir);
  }, 60_000);

  test("the binary runs from an empty directory and prints the one-time setup URL on a line of its own", async () => {
    expect(existsSync(join(dir, "node_modules"))).toBe(false);
    setupUrl = await server.setupUrl();
    expect(setupUrl).toStartWith(`${server.browserUrl}/setup?token=`);
    expect(existsSync(join(server.dataDir, "conclave.db"))).toBe(true);
  });

  test("the Owner opens the setup URL, creates the organisation and lands on the dashboard", async () => {
    const res = await ownerPage.goto(setupUrl);
    expect(res?.status()).toBe(200);
    // The token moved into a cookie; the address bar no longer shows it.
    expect(ownerPage.url()).toBe(`${server.browserUrl}/setup`);
    const csp = res?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");

    await ownerPage.fill("#f-organisation", OWNER.organisation);
    await ownerPage.fill("#f-ownerName", OWNER.name);
    await ownerPage.fill("#f-ownerEmail", OWNER.email);
    await ownerPage.fill("#f-password", OWNER.password);
    await ownerPage.fill("#f-confirm", OWNER.password);
    await ownerPage.getByRole("button", { name: "Create organisation" }).click();
    await ownerPage.waitForURL(/\/admin\?welcome=1$/);
    expect(await ownerPage.locator("main h1").textContent()).toBe(OWNER.organisation);
    expect(await ownerPage.locator("main").textContent()).toContain("Your organisation is ready");
  });

  test("the Owner invites a user from the Users page and the invitation mail reaches the SMTP sink", async () => {
    await ownerPage.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Users", exact: true }).click();
    await ownerPage.waitForURL(/\/admin\/users$/);
    await ownerPage.getByRole("link", { name: "Invite a user" }).click();
    await ownerPage.waitForURL(/\/admin\/users\/new$/);
    await ownerPage.fill("#f-email", INVITEE.email);
    await ownerPage.fill("#f-name", INVITEE.invitedAs);
    await ownerPage.getByRole("button", { name: "Send invitation" }).click();
    await ownerPage.locator("main h1", { hasText: "Invitation created" }).waitFor();
    expect(await ownerPage.locator("main").textContent()).toContain(`An invitation was e-mailed to ${INVITEE.email}`);

    const mail = await sink.waitForMessage((m) => m.to.includes(INVITEE.email));
    expect(mail.subject).toContain(OWNER.organisation);
    const link = /https:\/\/\S+\/activate\?token=[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
    expect(link, `no activation link in the mail text:\n${mail.text}`).toBeDefined();
    activationUrl = link!;
    expect(activationUrl).toStartWith(`${server.browserUrl}/activate?token=`);
  });

  test("the invited user activates in a second browser context and lands signed in", async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await newPage(ctx);
      await page.goto(activationUrl);
      await page.waitForURL(/\/activate$/);
      expect(await page.locator("main").textContent()).toContain(INVITEE.email);
      await page.fill("#f-name", INVITEE.chosenName);
      await page.fill("#f-password", INVITEE.password);
      await page.fill("#f-confirm", INVITEE.password);
      await page.getByRole("button", { name: "Activate" }).click();
      await page.waitForURL(/\/admin\?activated=1$/);
      const main = (await page.locator("main").textContent()) ?? "";
      expect(main).toContain("Your account is active.");
      expect(main).toContain(INVITEE.chosenName);

      // The link works once.
      const again = await page.goto(activationUrl);
      expect(again?.status()).toBe(404);
      expect(await page.locator("main").textContent()).toContain("already been used");
    } finally {
      await ctx.close();
    }
  });

  test("with JavaScript disabled, the sign-in form works as a plain form POST", async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, javaScriptEnabled: false });
    try {
      const page = await newPage(ctx);
      await page.goto(`${server.browserUrl}/signin`);
      await page.fill("#f-email", OWNER.email);
      await page.fill("#f-password", "not-the-Passw0rd");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("main [role=alert]").waitFor();
      expect(await page.locator("main [role=alert]").textContent()).toContain("not correct");

      await page.fill("#f-password", OWNER.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/admin$/);
      expect(await page.locator("main h1").textContent()).toBe(OWNER.organisation);
      expect(await page.locator("main").textContent()).toContain(`Signed in as ${OWNER.name}`);
    } finally {
      await ctx.close();
    }
  });

  test("the Owner's Operation log shows an entry for each step, and the htmx filter works under the CSP", async () => {
    await ownerPage.goto(`${server.browserUrl}/admin`);
    await ownerPage.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Operation log" }).click();
    await ownerPage.waitForURL(/\/admin\/audit$/);
    for (const action of ["account.create", "user.create_owner", "user.invite", "user.activate", "signin.success", "signin.failure"]) {
      await ownerPage.locator(`tr[data-action="${action}"]`).first().waitFor({ state: "visible" });
    }
    // One sign-in by activation, one by the no-JavaScript form.
    expect(await ownerPage.locator('tr[data-action="signin.success"]').count()).toBeGreaterThanOrEqual(2);
    expect(await ownerPage.locator('tr[data-action="user.invite"]').textContent()).toContain(OWNER.name);

    // The filter form is driven by htmx (same-origin script, no inline code).
    expect(await ownerPage.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx)).toBe("object");
    await ownerPage.fill("#f-action", "user.invite");
    const filtered = ownerPage.waitForRequest((r) => r.url().includes("/admin/audit?action=user.invite"));
    await ownerPage.getByRole("button", { name: "Filter" }).click();
    expect((await filtered).headers()["hx-request"]).toBe("true");
    await ownerPage.waitForURL(/\/admin\/audit\?action=user\.invite(&|$)/);
    await ownerPage.locator('tr[data-action="account.create"]').waitFor({ state: "detached" });
    const actions = await ownerPage.locator("#audit-results tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action")));
    expect(actions).toEqual(["user.invite"]);
  });

  test("every page carried the CSP and no CSP violation or script error showed in the console", () => {
    expect(cspHeaders.length).toBeGreaterThan(5);
    for (const h of cspHeaders) {
      expect(h).toContain("default-src 'self'");
      expect(h).toContain("script-src 'self'");
    }
    expect(problems.filter(isCspViolation)).toEqual([]);
    // Nothing else either, apart from the expected 4xx answers (favicon, used link, wrong password).
    expect(problems.filter((p) => !/^Failed to load resource: the server responded with a status of 40[04]/.test(p.text))).toEqual([]);
  });

  test("conclave audit verify accepts the chain while the server runs (WAL)", async () => {
    const r = await runCli(["audit", "verify", "--data-dir", server.dataDir], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("audit chain OK");
  });

  test("a restart on the same data directory offers no setup; the old setup URL says setup is complete", async () => {
    expect(await server.stop()).toBe(0);
    restarted = await startConclave({ cwd: dir, dataDir: server.dataDir, env: smtpEnv(), ports: { https: server.httpsPort, http: server.httpPort } });

    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await newPage(ctx);
      const res = await page.goto(setupUrl);
      expect(res?.status()).toBe(404);
      expect(await page.locator("main").textContent()).toContain("Setup is already complete");
    } finally {
      await ctx.close();
    }

    expect(await restarted.stop()).toBe(0);
    expect(restarted.lines.some((l) => /"msg":"listening"/.test(l))).toBe(true);
    expect(restarted.lines.filter((l) => SETUP_URL_LINE.test(l) || l.includes("/setup?token="))).toEqual([]);

    // Stopped: the chain still verifies, and no password ever reached stdout.
    const r = await runCli(["audit", "verify", "--data-dir", server.dataDir], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("audit chain OK");
    const stdout = [...server.lines, ...restarted.lines].join("\n");
    for (const secret of [OWNER.password, INVITEE.password]) expect(stdout).not.toContain(secret);
  });

  test("the data directory holds none of the personal data written through the pages (encrypted at rest)", () => {
    const needles = [OWNER.name, OWNER.email, INVITEE.email, INVITEE.invitedAs, INVITEE.chosenName];
    const found: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const path = join(d, e.name);
        if (e.isDirectory()) walk(path);
        else {
          const bytes = readFileSync(path);
          for (const n of needles) if (bytes.includes(n) || bytes.includes(Buffer.from(n, "utf16le"))) found.push(`${e.name}: ${n}`);
        }
      }
    };
    walk(server.dataDir);
    expect(found).toEqual([]);
  });
});
