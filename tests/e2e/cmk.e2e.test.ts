// Customer-managed keys end to end, in headless Chromium against the compiled binary:
//   1. the Owner enrols a SoftHSM2 key (PKCS#11 settings come from the server config) after a
//      failing and a passing test, chooses services, a licensed user, a recipient, fallback on;
//   2. rotates to an AWS KMS key (the fake KMS server speaking the JSON 1.1 protocol) and watches
//      the rotation job's progress;
//   3. an outage (the KMS answers 503): status "unreachable", e-mail to the recipient, content
//      written through the pages lands under the marked fallback key;
//   4. the KMS returns: status "available", e-mail, fallback data keys re-sealed under the CMK;
//   5. deprovisioning: everything back under the server key, the page says the key may be disabled;
//   6. the usage report lists the unwraps and exports CSV;
//   7. deprovisioning: the page says when the key may be disabled;
//   8. the data directory holds none of the plaintext written through the pages.

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";
import { ConclaveServer, removeDir, requireBinary, startConclave, tempDir } from "../support/conclave.ts";
import { FakeKms, type FakeKmsEndpoint } from "../support/fake-kms-server.ts";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink.ts";
import { generateAesKey, requireSoftHsm, startSoftHsm, type SoftHsm } from "../support/softhsm.ts";

// Generous limits for a slow machine; nothing here asserts on timing.
setDefaultTimeout(120_000);

const OWNER = { organisation: "Acme Keys", name: "Olivia Owner", email: "olivia@keys.test", password: "Corr3ct-Horse-Battery" };
const RECIPIENT = "secops@keys.test";

describe("customer-managed keys end to end (dist/conclave + Chromium + SoftHSM2 + fake AWS KMS)", () => {
  let dir: string;
  let hsm: SoftHsm;
  let kms: FakeKms;
  let east: FakeKmsEndpoint;
  let arn: string;
  let sink: SmtpSink;
  let server: ConclaveServer;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let ownerId = "";
  const problems: ConsoleProblem[] = [];

  const url = (path: string): string => `${server.browserUrl}${path}`;
  const db = <T>(sql: string, ...args: string[]): T[] => {
    const d = new Database(join(server.dataDir, "conclave.db"), { readonly: true });
    try {
      return d.query(sql).all(...args) as T[];
    } finally {
      d.close();
    }
  };
  async function submit(button: string, scope = "main"): Promise<void> {
    const loaded = page.waitForEvent("load");
    await page.locator(scope).getByRole("button", { name: button, exact: true }).first().click();
    await loaded;
  }
  const mainText = async (): Promise<string> => (await page.locator("main").textContent()) ?? "";
  const status = async (): Promise<string> => ((await page.locator('[data-testid="cmk-status"]').textContent()) ?? "").trim();
  /** reloadUntil reloads the CMK page until `ok` holds (background jobs run on the server). */
  async function reloadUntil(ok: (text: string) => boolean, what: string): Promise<void> {
    for (let i = 0; i < 120; i++) {
      await page.goto(url("/admin/security/cmk"));
      if (ok(await mainText())) return;
      await Bun.sleep(250);
    }
    throw new Error(`the CMK page never showed: ${what}`);
  }
  async function renameOwner(name: string): Promise<void> {
    await page.goto(url(`/admin/users/${ownerId}`));
    await page.fill("#f-name", name);
    await submit("Save");
  }

  beforeAll(async () => {
    requireBinary();
    requireSoftHsm();
    dir = tempDir("conclave-cmk-e2e-");
    hsm = startSoftHsm();
    const token = hsm.initToken("acme-hsm");
    hsm.withSession(token, (s) => void generateAesKey(s, { label: "acme-cmk" }));
    writeFileSync(join(dir, "pin"), token.pin, { mode: 0o600 });
    kms = new FakeKms();
    arn = kms.createKey({ region: "us-east-1", multiRegion: true });
    east = await kms.serve("us-east-1");
    sink = await startSmtpSink();
    writeFileSync(
      join(dir, "conclave.toml"),
      [
        "[keys]", "cmk_probe_seconds = 5",
        "[pkcs11]", `module = "${hsm.module}"`, `token_label = "${token.label}"`, `pin_file = "${join(dir, "pin")}"`,
        "[aws_kms]", `endpoint = "${east.url}"`, "timeout_ms = 400", "max_attempts = 1",
      ].join("\n"),
    );
    server = await startConclave({
      cwd: dir,
      args: ["--config", join(dir, "conclave.toml")],
      env: {
        ...hsm.env,
        CONCLAVE_SMTP_HOST: "127.0.0.1", CONCLAVE_SMTP_PORT: String(sink.port), CONCLAVE_SMTP_TLS: "none",
        AWS_ACCESS_KEY_ID: "AKIDCONCLAVEE2E00001", AWS_SECRET_ACCESS_KEY: "not-checked", AWS_EC2_METADATA_DISABLED: "true",
        AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"), AWS_CONFIG_FILE: join(dir, "none"),
      },
    });
    browser = await launchChromium();
    ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    page = await ctx.newPage();
    watchConsole(page, problems);
  }, 120_000);

  afterAll(async () => {
    await ctx?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await sink?.close();
    await kms?.close();
    hsm?.close();
    removeDir(dir);
  }, 60_000);

  test("1. set up, then enrol the SoftHSM2 key: a wrong label fails its test with the HSM's message, the right one is enrolled", async () => {
    await page.goto(await server.setupUrl());
    await page.waitForURL(/\/setup$/);
    await page.fill("#f-organisation", OWNER.organisation);
    await page.fill("#f-ownerName", OWNER.name);
    await page.fill("#f-ownerEmail", OWNER.email);
    await page.fill("#f-password", OWNER.password);
    await page.fill("#f-confirm", OWNER.password);
    await submit("Create organisation");
    await page.waitForURL(/\/admin\?welcome=1$/);
    ownerId = db<{ id: string }>("SELECT id FROM users")[0]!.id;

    await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Customer managed key" }).click();
    await page.waitForURL(/\/admin\/security\/cmk$/);
    expect(await mainText()).toContain("No customer-managed key is enrolled");
    await page.getByRole("link", { name: "Add key" }).click();
    await page.selectOption("#f-provider", "pkcs11");
    await page.fill("#f-keyRef", "no-such-key");
    await submit("Test key");
    expect(await page.locator('[data-testid="cmk-test-result"]').textContent()).toContain('PKCS#11 key not found: token "acme-hsm" has no AES key labelled "no-such-key"');
    await page.fill("#f-keyRef", "acme-cmk");
    await submit("Test key");
    expect(await page.locator('[data-testid="cmk-test-result"]').textContent()).toContain("round trip ok");
    await submit("Add key");
    await page.waitForURL(/\/admin\/security\/cmk\?done=added$/);
    expect(await status()).toBe("available");
    expect(await page.locator('[data-testid="cmk-key"]').textContent()).toBe("acme-cmk");
  });

  test("2. services, licence, recipient, fallback on; the licensed Owner's data is wrapped by the HSM key", async () => {
    for (const label of ["User personal data", "Operation log details", "Meeting chat"]) await page.getByLabel(label, { exact: false }).check();
    await submit("Save services");
    await page.goto(url("/admin/security/cmk/licences"));
    await page.getByLabel(`Licence for ${OWNER.name}`).check();
    await submit("Save licences");
    await page.goto(url("/admin/security/cmk"));
    await page.fill("#f-email", RECIPIENT);
    await submit("Add recipient");
    await page.getByLabel("Fallback control", { exact: false }).check();
    await page.locator("form[action$='/options']").getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/done=options$/);
    expect(await page.locator('[data-testid="cmk-recipient"]').textContent()).toBe(RECIPIENT);

    await renameOwner("Olivia HSM");
    const wrapped = db<{ w: string }>("SELECT d.wrapped_by AS w FROM data_keys d JOIN cmk_data_keys c ON c.dek_id = d.id WHERE d.data_class = 'user_pii' AND c.slot = 'cmk'");
    expect(wrapped.map((r) => r.w)).toContain("pkcs11:acme-cmk");
  });

  test("3. rotate to an AWS KMS key: the job page shows progress until done; nothing is left under the HSM key", async () => {
    await page.goto(url("/admin/security/cmk/rotate"));
    await page.selectOption("#f-provider", "aws-kms");
    await page.fill("#f-keyRef", arn);
    await submit("Rotate key");
    await page.waitForURL(/\/admin\/security\/cmk\/jobs\/[^/]+$/);
    // htmx polls the progress fragment until the job is done.
    await page.locator('[data-testid="cmk-job"][data-state="done"]').waitFor({ timeout: 60_000 });
    expect(db("SELECT id FROM data_keys WHERE wrapped_by = 'pkcs11:acme-cmk' AND status <> 'destroyed'")).toEqual([]);
    await page.goto(url("/admin/security/cmk"));
    expect(await page.locator('[data-testid="cmk-key"]').textContent()).toBe(arn);
  });

  test("4. outage (KMS 503): unreachable, recipient e-mailed, new content under the marked fallback key", async () => {
    east.failNext(1_000_000, { type: "status", status: 503 });
    await submit("Check key now");
    expect(await status()).toBe("unreachable");
    expect(await page.locator('[data-testid="cmk-status-detail"]').textContent()).toContain("ServiceUnavailableException");
    const mail = await sink.waitForMessage((m) => m.to.includes(RECIPIENT) && m.subject.includes("unreachable"));
    expect(mail.text).toContain("server fallback key");
    await renameOwner("Olivia Fallback");
    expect(await mainText()).not.toContain("Not saved");
    expect(db("SELECT dek_id FROM cmk_data_keys WHERE slot = 'fallback' AND data_class = 'user_pii'").length).toBe(1);
    await page.goto(url("/admin/security/cmk"));
    expect(await mainText()).toMatch(/waiting to be re-sealed: [1-9]/);
  });

  test("5. the KMS returns: available, e-mailed, fallback data keys re-sealed under the CMK", async () => {
    east.clearFaults();
    await submit("Check key now");
    expect(await status()).toBe("available");
    await reloadUntil((t) => t.includes("waiting to be re-sealed: 0"), "no fallback data keys left");
    await sink.waitForMessage((m) => m.to.includes(RECIPIENT) && m.subject.includes("available"));
    const resealed = db<{ w: string }>("SELECT d.wrapped_by AS w FROM data_keys d JOIN cmk_data_keys c ON c.dek_id = d.id WHERE c.data_class = 'user_pii'");
    expect(resealed.every((r) => r.w === `aws-kms:${arn}` )).toBe(true);
    await page.goto(url(`/admin/users/${ownerId}`));
    expect(await page.inputValue("#f-name")).toBe("Olivia Fallback");
  });

  test("6. the usage report lists unwraps by class and purpose and exports CSV", async () => {
    await page.goto(url("/admin/security/cmk/usage?class=user_pii"));
    const table = (await page.locator('[data-testid="cmk-usage"]').textContent()) ?? "";
    expect(table).toContain("users.name");
    expect(table).toContain(`aws-kms:${arn}`);
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), (await page.locator('[data-testid="cmk-usage-csv"]').getAttribute("href"))!);
    expect(csv.split("\n")[0]).toBe("time,account,operation,data class,purpose,user,key slot,provider,data key,outcome,detail");
  });

  test("7. deprovision: everything goes back to the server key and the page says the key may be disabled", async () => {
    await page.goto(url("/admin/security/cmk"));
    await page.fill("#f-date", new Date().toISOString().slice(0, 10));
    await submit("Schedule deprovisioning");
    await submit("Check key now");
    await reloadUntil((t) => t.includes("Deprovisioning finished"), "deprovisioning finished");
    expect(await mainText()).toContain(`You may now disable or delete aws-kms:${arn}`);
    expect(db("SELECT dek_id FROM cmk_data_keys")).toEqual([]);
    kms.setKeyState(arn, "Disabled");
    await page.goto(url(`/admin/users/${ownerId}`));
    expect(await page.inputValue("#f-name")).toBe("Olivia Fallback");
    expect(problems.filter(isCspViolation)).toEqual([]);
  });

  test("8. the data directory holds none of the names and addresses written through the pages", () => {
    const needles = ["Olivia HSM", "Olivia Fallback", OWNER.email, RECIPIENT];
    const found: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const path = join(d, e.name);
        if (e.isDirectory()) walk(path);
        else for (const n of needles) if (readFileSync(path).includes(n)) found.push(`${e.name}: ${n}`);
      }
    };
    walk(server.dataDir);
    expect(found).toEqual([]);
  });
});
