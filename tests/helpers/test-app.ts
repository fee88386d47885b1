/**
 * The in-process test app (PocketBase `tests.NewTestApp`): a fresh temp data directory, the
 * real composition root with a fixed clock and a capturing mailer, and small "browsers" that
 * keep cookies and CSRF tokens so scenarios read like a person clicking through the pages.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccountWithOwner } from "../../src/accounts/account-setup.ts";
import { issueSetupToken } from "../../src/auth/setup-token.ts";
import { defaults, type Config } from "../../src/config/schema.ts";
import { PRE_COOKIE, SESSION_COOKIE } from "../../src/http/cookies.ts";
import { assemble, type Conclave, type Overrides } from "../../src/main.ts";
import { captureMailer, type Mail } from "../../src/notify/mailer.ts";
import { fixedClock } from "../../src/shared/clock.ts";
import { silentLogger } from "../../src/shared/logger.ts";

/** BASE_URL is the origin every in-process request uses. */
export const BASE_URL = "https://conclave.test";
/** ORIGIN is sent as the Origin header of same-site form posts. */
export const ORIGIN = BASE_URL;
/** PASSWORD satisfies the baseline password rules; every helper-made user has it. */
export const PASSWORD = "Sturdy-Pass-42";

/** Posts to these paths count against the sign-in rate limiter (20 a minute per address). */
const LIMITED = new Set(["/signin", "/setup", "/activate"]);

/** Signed is a signed-in person: their browser and who they are. */
export interface Signed {
  browser: Browser;
  accountId: string;
  userId: string;
  email: string;
  name: string;
  password: string;
}

/** PostOptions lets CSRF scenarios leave out or replace the Origin header and the token. */
export interface PostOptions {
  /** Origin header; null sends none. Default: the test origin. */
  origin?: string | null;
  /** Referer header (none by default). */
  referer?: string;
  /** CSRF token; null sends none. Default: the token of the last page, else the pre-session cookie. */
  csrf?: string | null;
  headers?: Record<string, string>;
}

/** Browser keeps a cookie jar and the CSRF token of the last page it saw. */
export class Browser {
  readonly jar = new Map<string, string>();
  /** Raw Set-Cookie lines of the last response. */
  lastSetCookie: string[] = [];
  /** Body of the last HTML response. */
  lastHtml = "";
  private token: string | null = null;

  constructor(private readonly t: TestApp) {}

  /** request sends any request with this browser's cookies and remembers what it sets. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set("cookie", [...this.jar].map(([k, v]) => `${k}=${v}`).join("; "));
    if ((init.method ?? "GET") === "POST" && LIMITED.has(path.split("?")[0]!)) this.t.countLimited();
    const res = await this.t.app.request(BASE_URL + path, { ...init, headers });
    this.lastSetCookie = res.headers.getSetCookie();
    const sessionBefore = this.jar.get(SESSION_COOKIE);
    for (const line of this.lastSetCookie) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = decodeURIComponent(pair!.slice(eq + 1).trim());
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (gone) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    if (this.jar.get(SESSION_COOKIE) !== sessionBefore) this.token = null;
    if ((res.headers.get("content-type") ?? "").startsWith("text/html")) {
      const html = await res.clone().text();
      this.lastHtml = html;
      const m = /name="_csrf" value="([^"]+)"/.exec(html);
      if (m) this.token = m[1]!;
    }
    return res;
  }

  /** get fetches a page. */
  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, { headers });
  }

  /** csrf returns the token a page of this browser would carry (fetching a page if needed). */
  async csrf(): Promise<string> {
    if (this.token) return this.token;
    if (!this.jar.has(SESSION_COOKIE) && this.jar.get(PRE_COOKIE)) return this.jar.get(PRE_COOKIE)!;
    await this.get(this.jar.has(SESSION_COOKIE) ? "/admin" : "/signin");
    if (this.token) return this.token;
    if (this.jar.get(PRE_COOKIE)) return this.jar.get(PRE_COOKIE)!;
    throw new Error("no CSRF token available");
  }

  /** postForm sends an urlencoded form like a same-origin page would (Origin + `_csrf`). */
  async postForm(path: string, fields: Record<string, string | string[]> = {}, opts: PostOptions = {}): Promise<Response> {
    const body = new URLSearchParams();
    const token = opts.csrf === undefined ? await this.csrf() : opts.csrf;
    if (token !== null) body.append("_csrf", token);
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", ...opts.headers };
    const origin = opts.origin === undefined ? ORIGIN : opts.origin;
    if (origin !== null) headers.origin = origin;
    if (opts.referer) headers.referer = opts.referer;
    return this.request(path, { method: "POST", body: body.toString(), headers });
  }

  /** htmxPost sends a form as htmx does: HX-Request and the X-CSRF-Token header from hx-headers. */
  async htmxPost(path: string, fields: Record<string, string | string[]> = {}): Promise<Response> {
    const token = await this.csrf();
    return this.postForm(path, fields, { csrf: null, headers: { "hx-request": "true", "x-csrf-token": token } });
  }

  /** sessionCookie is the session cookie this browser holds, if any. */
  get sessionCookie(): string | undefined {
    return this.jar.get(SESSION_COOKIE);
  }
}

/** TestAppOptions tweaks the configuration before assembly. */
export interface TestAppOptions {
  config?: (c: Config) => void;
  /** overrides beyond the clock and mailer the test app always sets (e.g. cmkOpener). */
  overrides?: Omit<Overrides, "clock" | "mailer">;
  /** Keep helper-driven flows under the sign-in rate limit by moving the clock (default true). */
  stayUnderRateLimit?: boolean;
}

/** TestApp is a fresh, assembled Conclave with helpers. */
export interface TestApp extends Conclave {
  dir: string;
  clock: ReturnType<typeof fixedClock>;
  mail: Mail[];
  /** request sends a cookie-less request through the app. */
  request(path: string, init?: RequestInit): Promise<Response>;
  browser(): Browser;
  /** setup runs the real first-run flow and returns the signed-in Owner. */
  setup(opts?: { organisation?: string; email?: string; name?: string }): Promise<Signed>;
  /** createAccount adds another account (tenant) with its Owner, signed in. */
  createAccount(opts: { organisation: string; email: string; name?: string }): Promise<Signed>;
  /** inviteAndActivate invites a user through the pages and activates them from the mailed link. */
  inviteAndActivate(by: Signed, opts: { email: string; name: string; role?: string; groupIds?: string[] }): Promise<Signed>;
  /** signIn signs an existing user in with a fresh browser. */
  signIn(email: string, password?: string): Promise<Browser>;
  /** roleId finds a role of an account by name. */
  roleId(accountId: string, name: string): string;
  /** count returns a table's row count (optionally for one account). */
  count(table: string, accountId?: string): number;
  /** lastMailLink returns the activation link of the newest mail to `to`. */
  lastMailLink(to: string): string;
  countLimited(): void;
  cleanup(): void;
}

/** createTestApp builds a Conclave over a new temp data directory. */
export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), "conclave-test-"));
  const config = defaults();
  config.server.data_dir = dir;
  opts.config?.(config);
  const clock = fixedClock();
  const mailer = captureMailer();
  const conclave = await assemble(config, silentLogger, { ...opts.overrides, clock, mailer }, BASE_URL);
  let limited = 0;

  const t: TestApp = {
    ...conclave,
    dir,
    clock,
    mail: mailer.sent,
    request: async (path, init) => await conclave.app.request(BASE_URL + path, init),
    browser: () => new Browser(t),
    countLimited() {
      // The sign-in limiter allows 20 posts a minute from one address ("local" in-process):
      // move the fixed clock past the window before a helper-driven flow would hit it.
      if (opts.stayUnderRateLimit !== false && ++limited >= 18) {
        clock.advance(61_000);
        limited = 1;
      }
    },
    async setup(o = {}) {
      const token = issueSetupToken(conclave.db, clock, conclave.audit, 60);
      const b = t.browser();
      const moved = await b.get(`/setup?token=${token}`);
      if (moved.status !== 303) throw new Error(`setup link: ${moved.status}`);
      const form = await b.get("/setup");
      if (form.status !== 200) throw new Error(`setup form: ${form.status}`);
      const email = o.email ?? "owner@a.example";
      const name = o.name ?? "Olivia Owner";
      const res = await b.postForm("/setup", { organisation: o.organisation ?? "Org A", ownerName: name, ownerEmail: email, password: PASSWORD, confirm: PASSWORD });
      if (res.status !== 303) throw new Error(`setup post: ${res.status} ${await res.text()}`);
      const u = (await conclave.auth.users.findByEmail(email))!;
      return { browser: b, accountId: u.accountId, userId: u.id, email, name, password: PASSWORD };
    },
    async createAccount(o) {
      const name = o.name ?? `Owner of ${o.organisation}`;
      const { accountId, ownerId } = await createAccountWithOwner(
        conclave.auth,
        { organisation: o.organisation, ownerName: name, ownerEmail: o.email, password: PASSWORD, confirm: PASSWORD },
        { label: "test" },
      );
      return { browser: await t.signIn(o.email), accountId, userId: ownerId, email: o.email, name, password: PASSWORD };
    },
    async signIn(email, password = PASSWORD) {
      const b = t.browser();
      const res = await b.postForm("/signin", { email, password, next: "/admin" });
      if (res.status !== 303) throw new Error(`sign-in of ${email}: ${res.status}`);
      return b;
    },
    async inviteAndActivate(by, o) {
      const roleId = o.role ? t.roleId(by.accountId, o.role) : "";
      const res = await by.browser.postForm("/admin/users/new", { email: o.email, name: o.name, roleId, groupIds: o.groupIds ?? [] });
      if (res.status !== 200) throw new Error(`invite ${o.email}: ${res.status} ${await res.text()}`);
      const link = t.lastMailLink(o.email);
      const b = t.browser();
      const path = link.slice(BASE_URL.length);
      if ((await b.get(path)).status !== 303) throw new Error("activation link did not redirect");
      if ((await b.get("/activate")).status !== 200) throw new Error("activation form not shown");
      const act = await b.postForm("/activate", { name: o.name, password: PASSWORD, confirm: PASSWORD });
      if (act.status !== 303) throw new Error(`activate ${o.email}: ${act.status}`);
      const u = (await conclave.auth.users.findByEmail(o.email))!;
      return { browser: b, accountId: u.accountId, userId: u.id, email: o.email, name: o.name, password: PASSWORD };
    },
    roleId(accountId, name) {
      const r = conclave.db.$client.query("SELECT id FROM roles WHERE account_id = ? AND name = ?").get(accountId, name) as { id: string } | null;
      if (!r) throw new Error(`no role ${name}`);
      return r.id;
    },
    count(table, accountId) {
      const q = accountId ? `SELECT count(*) AS n FROM ${table} WHERE account_id = ?` : `SELECT count(*) AS n FROM ${table}`;
      return (conclave.db.$client.query(q).get(...(accountId ? [accountId] : [])) as { n: number }).n;
    },
    lastMailLink(to) {
      const m = [...mailer.sent].reverse().find((x) => x.to === to);
      const link = m && /https:\/\/\S+\/activate\?token=[\w-]+/.exec(m.text)?.[0];
      if (!link) throw new Error(`no activation mail to ${to}`);
      return link;
    },
    cleanup() {
      try {
        conclave.close();
      } catch {
        // already closed
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** snapshot returns every row of an account in the tables a tenant owns (for "nothing changed" checks). */
export function snapshotAccount(t: TestApp, accountId: string): string {
  const q = (sql: string) => t.db.$client.query(sql).all(accountId);
  return JSON.stringify({
    accounts: t.db.$client.query("SELECT * FROM accounts WHERE id = ?").all(accountId),
    roles: q("SELECT * FROM roles WHERE account_id = ? ORDER BY id"),
    users: q("SELECT * FROM users WHERE account_id = ? ORDER BY id"),
    groups: q("SELECT * FROM groups WHERE account_id = ? ORDER BY id"),
    members: q("SELECT * FROM group_members WHERE account_id = ? ORDER BY group_id, user_id"),
    settings: q("SELECT * FROM settings WHERE account_id = ? ORDER BY level, scope_id, key"),
    sessions: q("SELECT id, user_id FROM sessions WHERE account_id = ? ORDER BY id"),
    audit: q("SELECT seq FROM audit_log WHERE account_id = ? ORDER BY seq"),
  });
}

/** auditActions lists an account's audit actions, oldest first. */
export function auditActions(t: TestApp, accountId: string | null): string[] {
  const rows = accountId === null
    ? t.db.$client.query("SELECT action FROM audit_log WHERE account_id IS NULL ORDER BY seq").all()
    : t.db.$client.query("SELECT action FROM audit_log WHERE account_id = ? ORDER BY seq").all(accountId);
  return (rows as { action: string }[]).map((r) => r.action);
}

/** lastAudit returns the newest audit entry with an action, details parsed. */
export function lastAudit(t: TestApp, action: string): { actorId: string | null; actorLabel: string; targetType: string; targetId: string; accountId: string | null; details: Record<string, unknown> } {
  const r = t.db.$client
    .query("SELECT id, actor_id, actor_label, target_type, target_id, account_id, details FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1")
    .get(action) as { id: string; actor_id: string | null; actor_label: string; target_type: string; target_id: string; account_id: string | null; details: string } | null;
  if (!r) throw new Error(`no audit entry ${action}`);
  const open = t.audit.reveal({ id: r.id, accountId: r.account_id, details: r.details, actorLabel: r.actor_label });
  return { actorId: r.actor_id, actorLabel: open.actorLabel, targetType: r.target_type, targetId: r.target_id, accountId: r.account_id, details: JSON.parse(open.details) };
}

/** auditRows returns entries matching a SQL condition with their sealed columns opened. */
export function auditRows(t: TestApp, where: string, ...args: (string | number)[]): { seq: number; id: string; action: string; accountId: string | null; actorLabel: string; details: Record<string, unknown> }[] {
  const rows = t.db.$client.query(`SELECT seq, id, action, account_id, actor_label, details FROM audit_log WHERE ${where} ORDER BY seq`).all(...args) as { seq: number; id: string; action: string; account_id: string | null; actor_label: string; details: string }[];
  return rows.map((r) => {
    const open = t.audit.reveal({ id: r.id, accountId: r.account_id, details: r.details, actorLabel: r.actor_label });
    return { seq: r.seq, id: r.id, action: r.action, accountId: r.account_id, actorLabel: open.actorLabel, details: JSON.parse(open.details) };
  });
}
