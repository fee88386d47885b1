// Single sign-on end to end, in real headless Chromium against the compiled binary: the Owner
// configures SAML on the admin pages with the metadata of a small IdP this test runs on
// loopback (it signs real responses with a key generated here), a new person signs in through
// /signin/sso → IdP → ACS and lands on the dashboard as a just-in-time user; then password
// sign-in is switched off and a member's password sign-in is refused.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";
import { ConclaveServer, insecureTls, removeDir, requireBinary, startConclave, tempDir } from "../support/conclave.ts";
import { startTestSsoIdp, type TestSsoIdp } from "../support/sso-idp.ts";

setDefaultTimeout(90_000);

const OWNER = { organisation: "Acme SSO", name: "Olivia Owner", email: "olivia@acme.test", password: "Corr3ct-Horse-Battery" };
const MEMBER = { email: "pat@acme.test", name: "Pat Password", password: "Blue-Staple-7-Quartz" };
const NEWCOMER = { email: "new.hire@acme.test", name: "Nia Newhire" };

describe("SAML single sign-on end to end (dist/conclave + Chromium + loopback IdP)", () => {
  let dir: string;
  let server: ConclaveServer;
  let idp: TestSsoIdp;
  let browser: Browser;
  let owner: BrowserContext;
  let ownerPage: Page;
  let accountId = "";
  const problems: ConsoleProblem[] = [];

  async function newPage(ctx: BrowserContext): Promise<Page> {
    const page = await ctx.newPage();
    watchConsole(page, problems);
    return page;
  }

  /** saveSetting changes one account setting through its htmx row form. */
  async function saveSetting(page: Page, key: string, set: (row: ReturnType<Page["locator"]>) => Promise<void>): Promise<void> {
    await page.goto(`${server.browserUrl}/admin/settings`);
    const row = page.locator(`#row-${key.replaceAll(".", "-")}`);
    await set(row);
    const saved = page.waitForResponse((r) => r.url().endsWith("/admin/settings") && r.request().method() === "POST");
    await row.getByRole("button", { name: "Save" }).click();
    expect((await saved).status()).toBe(200);
  }

  /** effective waits (bounded) for htmx to swap in the saved row, then returns the effective value shown. */
  async function effective(page: Page, key: string, expected: string): Promise<string | null> {
    const cell = page.getByTestId(`effective-${key}`);
    await cell.filter({ hasText: expected }).waitFor({ timeout: 10_000 }).catch(() => {});
    return cell.textContent();
  }

  beforeAll(async () => {
    requireBinary();
    dir = tempDir("conclave-sso-e2e-");
    idp = startTestSsoIdp();
    server = await startConclave({ cwd: dir });
    browser = await launchChromium();
    owner = await browser.newContext({ ignoreHTTPSErrors: true });
    ownerPage = await newPage(owner);
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    idp?.stop();
    removeDir(dir);
  });

  test("the Owner sets up the organisation", async () => {
    const setupUrl = await server.setupUrl();
    await ownerPage.goto(setupUrl);
    await ownerPage.fill("#f-organisation", OWNER.organisation);
    await ownerPage.fill("#f-ownerName", OWNER.name);
    await ownerPage.fill("#f-ownerEmail", OWNER.email);
    await ownerPage.fill("#f-password", OWNER.password);
    await ownerPage.fill("#f-confirm", OWNER.password);
    await ownerPage.getByRole("button", { name: "Create organisation" }).click();
    await ownerPage.waitForURL(/\/admin\?welcome=1$/);
  });

  test("the Owner registers Conclave at the IdP from the SP metadata and pastes the IdP metadata on the SSO page", async () => {
    await ownerPage.goto(`${server.browserUrl}/admin/sso`);
    const entityId = (await ownerPage.getByTestId("sp-entity-id").textContent()) ?? "";
    const acsUrl = (await ownerPage.getByTestId("sp-acs-url").textContent()) ?? "";
    accountId = /\/saml\/([^/]+)\/metadata$/.exec(entityId)?.[1] ?? "";
    expect(accountId).not.toBe("");
    expect(entityId).toBe(`${server.browserUrl}/saml/${accountId}/metadata`);
    expect(acsUrl).toBe(`${server.browserUrl}/saml/${accountId}/acs`);

    const metadata = await fetch(`${server.baseUrl}/saml/${accountId}/metadata`, insecureTls).then((r) => r.text());
    const sp = idp.registerSpMetadata(metadata);
    expect(sp).toMatchObject({ entityId, acsUrl });

    await ownerPage.fill("#f-metadata", idp.metadataXml());
    await ownerPage.getByRole("button", { name: "Save identity provider" }).click();
    await ownerPage.waitForURL(/\/admin\/sso\?saved=1$/);
    expect(await ownerPage.getByTestId("sso-status").textContent()).toBe("Disabled");
    await ownerPage.getByRole("button", { name: "Enable single sign-on" }).click();
    await ownerPage.waitForURL(/\/admin\/sso$/);
    expect(await ownerPage.getByTestId("sso-status").textContent()).toBe("Enabled");
  });

  test("the Owner restricts sign-in to the company's domain", async () => {
    await saveSetting(ownerPage, "sso.allowed_domains", async (row) => {
      await row.locator("select[name=mode]").selectOption("set");
      await row.locator("input[name=value]").fill("acme.test");
    });
    expect(await effective(ownerPage, "sso.allowed_domains", "acme.test")).toBe("acme.test");
  });

  test("a member with a password is invited and activated (before SSO-only is switched on)", async () => {
    await ownerPage.goto(`${server.browserUrl}/admin/users/new`);
    await ownerPage.fill("#f-email", MEMBER.email);
    await ownerPage.fill("#f-name", MEMBER.name);
    await ownerPage.getByRole("button", { name: "Send invitation" }).click();
    await ownerPage.locator("main h1", { hasText: "Invitation created" }).waitFor();
    const link = (await ownerPage.locator("main code.copy").textContent()) ?? "";
    expect(link).toContain("/activate?token=");
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await newPage(ctx);
      await page.goto(link);
      await page.fill("#f-name", MEMBER.name);
      await page.fill("#f-password", MEMBER.password);
      await page.fill("#f-confirm", MEMBER.password);
      await page.getByRole("button", { name: "Activate" }).click();
      await page.waitForURL(/\/admin\?activated=1$/);
    } finally {
      await ctx.close();
    }
  });

  test("an unknown person at the allowed domain signs in through /signin/sso → IdP → ACS and lands on the dashboard", async () => {
    idp.user = { nameId: NEWCOMER.email, attributes: { displayName: NEWCOMER.name, email: NEWCOMER.email } };
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await newPage(ctx);
      await page.goto(`${server.browserUrl}/signin/sso`);
      await page.fill("#f-email", NEWCOMER.email);
      const acsPost = page.waitForRequest((r) => r.url().endsWith(`/saml/${accountId}/acs`) && r.method() === "POST");
      await page.getByRole("button", { name: "Continue" }).click();
      const post = await acsPost;
      expect(post.headers().origin).toBe(idp.origin); // a cross-site POST from the IdP
      await page.waitForURL(`${server.browserUrl}/admin`);
      expect(await page.locator("main h1").textContent()).toBe(OWNER.organisation);
      expect(await page.locator("main").textContent()).toContain(`Signed in as ${NEWCOMER.name} <${NEWCOMER.email}>`);
    } finally {
      await ctx.close();
    }
    expect(idp.requests.length).toBe(1);
    expect(idp.requests[0]).toMatchObject({ signatureValid: true, relayState: "/admin", acsUrl: `${server.browserUrl}/saml/${accountId}/acs` });

    // The Owner sees the new user and the accepted response.
    await ownerPage.goto(`${server.browserUrl}/admin/users`);
    expect(await ownerPage.locator("main").textContent()).toContain(NEWCOMER.email);
    await ownerPage.goto(`${server.browserUrl}/admin/sso/log`);
    expect(await ownerPage.locator("tr.saml-response").count()).toBe(1);
    expect(await ownerPage.locator("tr.saml-response").textContent()).toContain("accepted");
  });

  test("the same response posted again is refused with a clear page and no session", async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await newPage(ctx);
      const replay = await page.request.post(`${server.browserUrl}/saml/${accountId}/acs`, {
        headers: { "content-type": "application/x-www-form-urlencoded", origin: idp.origin },
        data: new URLSearchParams({ SAMLResponse: idp.responses[0]!, RelayState: "/admin" }).toString(),
        maxRedirects: 0,
      });
      expect(replay.status()).toBe(400);
      const html = await replay.text();
      expect(html).toContain("Single sign-on failed");
      expect(html).toMatch(/data-testid="saml-reason">(in_response_to|replay)</);
      expect((await ctx.cookies()).some((c) => c.name === "__Host-conclave_session")).toBe(false);
    } finally {
      await ctx.close();
    }
  });

  test("with password sign-in switched off, a member's password is refused with a message about single sign-on", async () => {
    await saveSetting(ownerPage, "sso.password_signin_disabled", async (row) => {
      await row.locator("select[name=value]").selectOption("true");
    });
    expect(await effective(ownerPage, "sso.password_signin_disabled", "On")).toBe("On");

    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await newPage(ctx);
      await page.goto(`${server.browserUrl}/signin`);
      await page.fill("#f-email", MEMBER.email);
      await page.fill("#f-password", MEMBER.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("main [role=alert]").waitFor();
      expect(page.url()).not.toContain("/admin");
      expect(await page.locator("main [role=alert]").textContent()).toMatch(/single sign-on/i);
    } finally {
      await ctx.close();
    }
  });

  test("the Owner keeps a break-glass password sign-in", async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await newPage(ctx);
      await page.goto(`${server.browserUrl}/signin`);
      await page.fill("#f-email", OWNER.email);
      await page.fill("#f-password", OWNER.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/admin/);
      expect(await page.locator("main").textContent()).toContain(`Signed in as ${OWNER.name}`);
    } finally {
      await ctx.close();
    }
  });

  test("no CSP violation or script error showed on Conclave's pages, and no assertion reached the server's output", () => {
    expect(problems.filter(isCspViolation)).toEqual([]);
    expect(problems.filter((p) => p.kind === "pageerror")).toEqual([]);
    const output = `${server.lines.join("\n")}\n${server.stderr}`;
    expect(output).not.toMatch(/Assertion|SAMLResponse|X509Certificate|BEGIN (RSA )?PRIVATE KEY/);
    expect(output).not.toContain(NEWCOMER.email);
  });
});
