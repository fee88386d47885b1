// Advanced → Security → Customer managed key, through the pages (in-process app), with a real
// SoftHSM2 token holding the customer's keys (PKCS#11 connection settings from the server config).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApp, type Signed, type TestApp } from "../../tests/helpers/test-app.ts";
import { findKeys, generateAesKey, requireSoftHsm, startSoftHsm, type SoftHsm, type SoftHsmToken } from "../../tests/support/softhsm.ts";
import { decodeText, parseHeader } from "../crypto/aead/value-format.ts";

let hsm: SoftHsm;
let token: SoftHsmToken;
let pinDir: string;
let t: TestApp;
let owner: Signed;
let member: Signed;
let other: Signed;

const BASE = "/admin/security/cmk";
const wrappedBy = (sealed: string): string =>
  (t.db.$client.query("SELECT wrapped_by AS w FROM data_keys WHERE id = ?").get(Buffer.from(parseHeader(decodeText(sealed)).dekId).toString("hex")) as { w: string }).w;
const audits = (action: string): number => (t.db.$client.query("SELECT count(*) AS n FROM audit_log WHERE action = ?").get(action) as { n: number }).n;

beforeAll(async () => {
  requireSoftHsm();
  hsm = startSoftHsm();
  token = hsm.initToken("cmk-pages");
  hsm.withSession(token, (s) => {
    generateAesKey(s, { label: "customer-key-1" });
    generateAesKey(s, { label: "customer-key-2" });
  });
  pinDir = mkdtempSync(join(tmpdir(), "conclave-cmk-pin-"));
  writeFileSync(join(pinDir, "pin"), token.pin, { mode: 0o600 });
  t = await createTestApp({
    config: (c) => {
      c.pkcs11.module = hsm.module;
      c.pkcs11.token_label = token.label;
      c.pkcs11.pin_file = join(pinDir, "pin");
    },
  });
  owner = await t.setup({ organisation: "Org K", email: "owner@k.example" });
  member = await t.inviteAndActivate(owner, { email: "member@k.example", name: "Mia Member" });
  other = await t.createAccount({ organisation: "Org L", email: "owner@l.example" });
});
afterAll(async () => {
  await t.cmk.close();
  t.cleanup();
  hsm.close();
  rmSync(pinDir, { recursive: true, force: true });
});

describe("enrolling a PKCS#11 key", () => {
  test("members may not see or change the pages", async () => {
    expect((await member.browser.get(BASE)).status).toBe(403);
    expect((await member.browser.postForm(`${BASE}/add`, { provider: "pkcs11", keyRef: "customer-key-1", action: "save" })).status).toBe(403);
    expect((await t.request(BASE)).status).toBe(303);
  });

  test("bad input and a failing test show what to fix (the provider's message verbatim) and enrol nothing", async () => {
    let res = await owner.browser.postForm(`${BASE}/add`, { provider: "pkcs11", keyRef: "", action: "save" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Enter the key");
    res = await owner.browser.postForm(`${BASE}/add`, { provider: "nope", keyRef: "x", action: "save" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Choose a provider");
    res = await owner.browser.postForm(`${BASE}/add`, { provider: "pkcs11", keyRef: "no-such-key", action: "test" });
    expect(res.status).toBe(400);
    expect((await res.text()).replaceAll("&quot;", '"')).toContain(`PKCS#11 key not found: token "cmk-pages" has no AES key labelled "no-such-key"`);
    res = await owner.browser.postForm(`${BASE}/add`, { provider: "pkcs11", keyRef: "no-such-key", action: "save" });
    expect(res.status).toBe(400);
    expect(t.cmk.overview(owner.accountId).activeKey).toBeNull();
  });

  test("test, add, services, licences, recipients, options — each audited", async () => {
    let res = await owner.browser.postForm(`${BASE}/add`, { provider: "pkcs11", keyRef: "customer-key-1", action: "test" });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("round trip ok");
    res = await owner.browser.postForm(`${BASE}/add`, { provider: "pkcs11", keyRef: "customer-key-1", action: "save" });
    expect(res.status).toBe(303);
    const page = await (await owner.browser.get(BASE)).text();
    expect(page).toContain("customer-key-1");
    expect(page).toContain('data-testid="cmk-status">available');
    expect((await owner.browser.postForm(`${BASE}/services`, { services: ["user_pii", "audit"] })).status).toBe(303);
    expect((await owner.browser.postForm(`${BASE}/licences`, { users: [owner.userId] })).status).toBe(303);
    expect((await owner.browser.postForm(`${BASE}/recipients`, { email: "keys@k.example" })).status).toBe(303);
    expect((await owner.browser.postForm(`${BASE}/recipients`, { email: "bad" })).status).toBe(400);
    expect((await owner.browser.postForm(`${BASE}/options`, { fallback: "1" })).status).toBe(303);
    expect((await owner.browser.get(BASE)).status).toBe(200);
    expect(owner.browser.lastHtml).toContain("keys@k.example");
    for (const a of ["cmk.key_tested", "cmk.key_added", "cmk.services_changed", "cmk.licences_changed", "cmk.recipient_added", "cmk.options_changed"]) expect(audits(a)).toBeGreaterThan(0);
    // Licensed user's data under the HSM key, the unlicensed member's under the server key.
    const mine = await t.codec.seal({ accountId: owner.accountId, table: "users", column: "name", rowId: owner.userId }, "Olivia");
    const theirs = await t.codec.seal({ accountId: owner.accountId, table: "users", column: "name", rowId: member.userId }, "Mia");
    expect(wrappedBy(mine)).toBe("pkcs11:customer-key-1");
    expect(wrappedBy(theirs)).toStartWith("local:");
    // Licences name users of this account only.
    expect((await owner.browser.postForm(`${BASE}/licences`, { users: [other.userId] })).status).toBe(400);
  });

  test("another account sees none of it; foreign ids are 404", async () => {
    const res = await other.browser.get(BASE);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain("customer-key-1");
    const [recipient] = await t.cmk.recipients(owner.accountId);
    expect((await other.browser.postForm(`${BASE}/recipients/${recipient!.id}/delete`)).status).toBe(404);
    expect((await t.cmk.recipients(owner.accountId)).length).toBe(1);
  });
});

describe("rotation, usage report, denial", () => {
  test("rotate through the page: progress page, every DEK moves to the new key", async () => {
    const sealed = await t.codec.seal({ accountId: owner.accountId, table: "users", column: "email", rowId: owner.userId }, "owner@k.example");
    const res = await owner.browser.postForm(`${BASE}/rotate`, { provider: "pkcs11", keyRef: "customer-key-2", action: "save" });
    expect(res.status).toBe(303);
    const jobUrl = res.headers.get("location")!;
    await t.cmk.idle();
    const html = await (await owner.browser.get(jobUrl)).text();
    expect(html).toContain('data-state="done"');
    expect((await other.browser.get(jobUrl)).status).toBe(404);
    expect((await owner.browser.get(`${jobUrl}/progress`, { "hx-request": "true" })).status).toBe(200);
    expect(wrappedBy(sealed)).toBe("pkcs11:customer-key-2");
    t.keys.wipeCache();
    expect(await t.codec.open({ accountId: owner.accountId, table: "users", column: "email", rowId: owner.userId }, sealed)).toBe("owner@k.example");
  });

  test("the usage report is filterable and exports CSV; other accounts' usage is not in it", async () => {
    let res = await owner.browser.get(`${BASE}/usage?op=unwrap&class=user_pii`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("users.email");
    expect(html).not.toContain("<td>wrap</td>");
    res = await owner.browser.get(`${BASE}/usage?format=csv`);
    expect(res.headers.get("content-type")).toStartWith("text/csv");
    const csv = await res.text();
    expect(csv.split("\n")[0]).toStartWith("time,account,operation");
    expect(csv).toContain("pkcs11:customer-key-2");
    expect(csv).not.toContain(other.accountId);
    expect((await owner.browser.get(`${BASE}/usage?since=yesterday`)).status).toBe(400);
  });

  test("the key deleted from the token: denied, fails closed, recipients e-mailed, the page shows the HSM's message", async () => {
    const ctx = { accountId: owner.accountId, table: "users", column: "name", rowId: owner.userId };
    const sealed = await t.codec.seal(ctx, "Olivia");
    hsm.withSession(token, (s) => {
      for (const h of findKeys(s, "customer-key-2")) s.lib.C_DestroyObject(s.session, h);
    });
    expect((await owner.browser.postForm(`${BASE}/check`)).status).toBe(303);
    await t.cmk.idle();
    const html = await (await owner.browser.get(BASE)).text();
    expect(html).toContain('data-testid="cmk-status">denied');
    expect(html).toContain("PKCS#11 key not found");
    await expect(t.codec.open(ctx, sealed)).rejects.toThrow(/refuses to be used/);
    await expect(t.codec.seal(ctx, "new")).rejects.toThrow(/^Not saved/);
    expect(t.mail.some((m) => m.to === "keys@k.example" && m.subject.endsWith("denied"))).toBe(true);
  });
});
