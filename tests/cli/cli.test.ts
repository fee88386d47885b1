// The command line of the compiled binary: help/version, config check, migrate, refusing foreign or
// newer databases without touching them, audit verify on a tampered log, reset-owner-password,
// bad flags/env, security headers over real HTTPS, and what the server writes to stdout.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { ConclaveServer, freePorts, insecureTls, removeDir, requireBinary, runCli, SETUP_URL_LINE, startConclave, tempDir } from "../support/conclave.ts";
import { completeSetup, signIn, WebClient } from "../support/http.ts";

// Generous limits for a slow machine; nothing here asserts on timing.
setDefaultTimeout(60_000);

let work = "";

beforeAll(() => {
  requireBinary();
  work = tempDir("conclave-cli-");
});

afterAll(() => removeDir(work));

/** sub makes a fresh directory under the test's temp dir. */
function sub(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** dbFiles lists conclave.db and any -wal/-shm/-journal file next to it. */
function dbFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith("conclave.db")).sort();
}

describe("help and version", () => {
  test("--help lists every subcommand", async () => {
    const r = await runCli(["--help"], { cwd: work });
    expect(r.code).toBe(0);
    for (const cmd of ["serve", "migrate", "version", "config check", "audit verify", "admin reset-owner-password", "keys status", "keys rewrap", "account delete"]) expect(r.stdout).toContain(cmd);
    for (const flag of ["--data-dir", "--bind", "--https-port", "--http-port"]) expect(r.stdout).toContain(flag);
  });

  test("version prints the package.json version", async () => {
    const r = await runCli(["version"], { cwd: work });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`conclave ${pkg.version}`);
  });
});

describe("keys and account commands", () => {
  test("keys status names the provider and says the key file is not HSM-grade; keys test round-trips", async () => {
    const dir = sub("keys-status");
    const status = await runCli(["keys", "status", "--data-dir", dir], { cwd: work });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("provider: local (NOT HSM-grade)");
    expect(status.stdout).toContain("health: ok");
    const t = await runCli(["keys", "test", "--data-dir", dir], { cwd: work });
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("key test OK");
  });

  test("account delete refuses without --shred or --account, and names an unknown account", async () => {
    const dir = sub("account-delete");
    const noShred = await runCli(["account", "delete", "--account", "x", "--data-dir", dir], { cwd: work });
    expect(noShred.code).toBe(2);
    expect(noShred.stderr).toContain("--shred");
    const unknown = await runCli(["account", "delete", "--account", "no-such-id", "--shred", "--data-dir", dir], { cwd: work });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No account has the id no-such-id");
  });
});

describe("config check", () => {
  const check = (name: string, toml: string) => {
    const file = join(sub("config"), name);
    writeFileSync(file, toml);
    return runCli(["config", "check", "--config", file], { cwd: work });
  };

  test("an unknown key is an error naming its full path", async () => {
    const r = await check("unknown.toml", '[server]\ncolour = "red"\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("server.colour");
    expect(r.stderr).toContain("unknown key");
  });

  test("a value of the wrong type names the key", async () => {
    const r = await check("type.toml", '[server]\nhttps_port = "abc"\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("server.https_port");
    expect(r.stderr).toContain("abc");
  });

  test("an inline SMTP password is refused with a pointer to password_env / password_file", async () => {
    const r = await check("secret.toml", '[smtp]\nhost = "mail.example.org"\npassword = "x"\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("smtp.password");
    expect(r.stderr).toContain("password_env");
    expect(r.stderr).toContain("password_file");
  });

  test("a good file passes", async () => {
    const r = await check("good.toml", '[server]\nbind = "127.0.0.1"\nhttps_port = 9443\nhttp_port = 0\n\n[log]\nlevel = "warn"\n\n[smtp]\nhost = "127.0.0.1"\nport = 2525\ntls = "none"\n');
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("configuration OK");
  });
});

describe("migrate", () => {
  test("creates the database in an empty directory; a second run applies nothing", async () => {
    const dir = join(work, "migrate-fresh");
    const first = await runCli(["migrate", "--data-dir", dir], { cwd: work });
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("created");
    const applied = Number(/(\d+) migration\(s\) applied/.exec(first.stdout)?.[1]);
    expect(applied).toBeGreaterThan(0);
    expect(existsSync(join(dir, "conclave.db"))).toBe(true);

    const second = await runCli(["migrate", "--data-dir", dir], { cwd: work });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("0 migration(s) applied");
  });
});

describe("a database that is not Conclave's, or is newer, is refused and left untouched", () => {
  const commands = (dir: string): [string, string[]][] => {
    const [https] = freePorts(1) as [number];
    return [
      ["serve", ["serve", "--data-dir", dir, "--https-port", String(https), "--http-port", "0", "--bind", "127.0.0.1"]],
      ["migrate", ["migrate", "--data-dir", dir]],
      ["audit verify", ["audit", "verify", "--data-dir", dir]],
    ];
  };

  async function expectRefused(dir: string, message: RegExp): Promise<void> {
    const db = join(dir, "conclave.db");
    const before = sha256(db);
    const files = dbFiles(dir);
    for (const [name, args] of commands(dir)) {
      const r = await runCli(args, { cwd: work, timeoutMs: 20_000 });
      expect({ name, code: r.code === 0 ? 0 : "non-zero" }).toEqual({ name, code: "non-zero" });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("untouched");
      expect(sha256(db)).toBe(before);
      // Nothing was left beside it either (no -wal or -shm from inspecting the file).
      expect(dbFiles(dir)).toEqual(files);
    }
  }

  test("a SQLite file with someone else's tables", async () => {
    const dir = sub("foreign-sqlite");
    const db = new Database(join(dir, "conclave.db"), { create: true });
    db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('precious')");
    db.close();
    await expectRefused(dir, /not a Conclave one/);
  });

  test("a file that is not SQLite at all", async () => {
    const dir = sub("foreign-text");
    writeFileSync(join(dir, "conclave.db"), "These are my notes, not a database.\n".repeat(20));
    await expectRefused(dir, /not a SQLite database/);
  });

  test("a Conclave database written by a newer version (user_version 999)", async () => {
    const dir = join(work, "newer");
    expect((await runCli(["migrate", "--data-dir", dir], { cwd: work })).code).toBe(0);
    const db = new Database(join(dir, "conclave.db"));
    db.exec("PRAGMA user_version = 999");
    db.close();
    await expectRefused(dir, /newer/);
  });
});

describe("bad flags and environment", () => {
  test("--https-port abc names server.https_port and touches nothing", async () => {
    const dir = join(work, "never-created-1");
    const r = await runCli(["serve", "--data-dir", dir, "--https-port", "abc"], { cwd: work, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("server.https_port");
    expect(existsSync(dir)).toBe(false);
  });

  test("an unknown flag exits 2", async () => {
    const r = await runCli(["--nope"], { cwd: work, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--nope");
  });

  test("CONCLAVE_HTTPS_PORT=99999 names the key and the variable", async () => {
    const dir = join(work, "never-created-2");
    const r = await runCli(["serve", "--data-dir", dir], { cwd: work, env: { CONCLAVE_HTTPS_PORT: "99999" }, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("server.https_port");
    expect(r.stderr).toContain("CONCLAVE_HTTPS_PORT");
    expect(existsSync(dir)).toBe(false);
  });
});

describe("against the running binary", () => {
  const OWNER = { organisation: "Shell Co", ownerName: "Sam Shell", ownerEmail: "owner@shell.test", password: "First-Passw0rd-Here" };
  const NEW_PASSWORD = "Second-Passw0rd-Now";
  const WRONG_PASSWORD = "Wrong-Passw0rd-Typed";
  let server: ConclaveServer;
  let setupUrl = "";
  let owner: WebClient;

  beforeAll(async () => {
    server = await startConclave({ cwd: sub("running") });
    setupUrl = await server.setupUrl();
    owner = new WebClient(server.baseUrl);
    await completeSetup(owner, setupUrl, OWNER);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  }, 30_000);

  test("HTTPS responses carry HSTS, a strict CSP and the other hardening headers", async () => {
    const res = await fetch(`${server.baseUrl}/signin`, insecureTls);
    expect(res.status).toBe(200);
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d{7,}/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script

    const health = await fetch(`${server.baseUrl}/healthz`, insecureTls);
    expect(await health.json()).toMatchObject({ status: "ok", version: pkg.version });
    const ready = await fetch(`${server.baseUrl}/readyz`, insecureTls);
    expect(await ready.json()).toMatchObject({ status: "ready" });
  });

  test("the HTTP port answers 308 to the same path on HTTPS", async () => {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/signin?next=%2Fadmin%2Fusers`, { redirect: "manual" });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe(`https://127.0.0.1:${server.httpsPort}/signin?next=%2Fadmin%2Fusers`);
  });

  test("state-changing requests need the same origin (Origin or Fetch Metadata) and the CSRF token", async () => {
    const c = new WebClient(server.baseUrl);
    await c.get("/signin");
    const form = { email: OWNER.ownerEmail, password: WRONG_PASSWORD, next: "/admin" };
    expect((await c.post("/signin", form, { origin: "https://evil.example" })).status).toBe(403);
    expect((await c.post("/signin", form, { csrf: false })).status).toBe(403);
    // What Chromium sends under Referrer-Policy: no-referrer: Origin null, Sec-Fetch-Site same-origin.
    const post = (headers: Record<string, string>) =>
      fetch(`${server.baseUrl}/signin`, {
        ...insecureTls,
        method: "POST",
        redirect: "manual",
        headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; "), "content-type": "application/x-www-form-urlencoded", accept: "text/html", ...headers },
        body: new URLSearchParams({ ...form, _csrf: c.csrf ?? "" }),
      });
    expect((await post({ origin: "null" })).status).toBe(403);
    expect((await post({ origin: "null", "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({ origin: "null", "sec-fetch-site": "same-origin" })).status).toBe(400); // reached the form: wrong password
  });

  test("audit verify names the first tampered entry", async () => {
    const copyDir = sub("tampered");
    const live = new Database(join(server.dataDir, "conclave.db"), { readonly: true });
    live.exec(`VACUUM INTO '${join(copyDir, "conclave.db")}'`);
    live.close();

    const ok = await runCli(["audit", "verify", "--data-dir", copyDir], { cwd: work });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("audit chain OK");

    const db = new Database(join(copyDir, "conclave.db"));
    db.exec("DROP TRIGGER audit_log_no_update");
    db.exec(`UPDATE audit_log SET details = '{"tampered":true}' WHERE seq = 2`);
    db.close();
    const broken = await runCli(["audit", "verify", "--data-dir", copyDir], { cwd: work });
    expect(broken.code).toBe(1);
    expect(broken.stdout + broken.stderr).toContain("entry #2");
  });

  test("admin reset-owner-password refuses an unknown e-mail and a weak password", async () => {
    const unknown = await runCli(["admin", "reset-owner-password", "--email", "nobody@shell.test", "--data-dir", server.dataDir], { cwd: work, stdin: `${NEW_PASSWORD}\n` });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No account Owner has the e-mail address nobody@shell.test");

    const weak = await runCli(["admin", "reset-owner-password", "--email", OWNER.ownerEmail, "--data-dir", server.dataDir], { cwd: work, stdin: "short\n" });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain("at least 8 characters");
    expect(weak.stderr).toContain("at least one digit");
  });

  test("admin reset-owner-password reads the new password from stdin; signing in with it works and the log records it", async () => {
    const r = await runCli(["admin", "reset-owner-password", "--email", OWNER.ownerEmail, "--data-dir", server.dataDir], { cwd: work, stdin: `${NEW_PASSWORD}\n` });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`password reset for ${OWNER.ownerEmail}`);
    expect(r.stdout + r.stderr).not.toContain(NEW_PASSWORD);

    // The Owner's existing session was ended.
    const stale = await owner.get("/admin");
    expect(stale.status).toBe(303);
    expect(stale.location).toStartWith("/signin");

    const old = await signIn(new WebClient(server.baseUrl), OWNER.ownerEmail, OWNER.password);
    expect(old.status).toBe(400);

    const c = new WebClient(server.baseUrl);
    const signedIn = await signIn(c, OWNER.ownerEmail, NEW_PASSWORD);
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe("/admin");
    const log = await c.get("/admin/audit?action=user.password_reset");
    expect(log.status).toBe(200);
    expect(log.html).toContain('data-action="user.password_reset"');
    expect(log.html).toContain("reset-owner-password");
  });

  test("stdout is JSON lines with a msg, except the setup URL line; no token or password in the logs", async () => {
    expect(await server.stop()).toBe(0);
    const token = new URL(setupUrl).searchParams.get("token")!;
    expect(token.length).toBeGreaterThan(20);
    const urlLines = server.lines.filter((l) => SETUP_URL_LINE.test(l));
    expect(urlLines).toEqual([setupUrl]);
    let requests = 0;
    for (const line of server.lines) {
      if (line === setupUrl) continue;
      let event: { msg?: unknown; requestId?: unknown };
      try {
        event = JSON.parse(line);
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
      expect(typeof event.msg).toBe("string");
      if (event.msg === "request") {
        requests++;
        expect(typeof event.requestId).toBe("string");
      }
      expect(line).not.toContain(token);
    }
    expect(requests).toBeGreaterThan(5);
    const all = server.lines.join("\n") + server.stderr;
    for (const secret of [OWNER.password, NEW_PASSWORD, WRONG_PASSWORD]) expect(all).not.toContain(secret);
  });
});
