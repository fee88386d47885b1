import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { formatProblems, loadConfig, type ConfigProblem, type LoadResult } from "./load.ts";
import { defaults, schema } from "./schema.ts";

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "conclave-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** file writes a TOML file and returns its path. */
function file(text: string): string {
  const p = join(dir, `c${++n}.toml`);
  writeFileSync(p, text);
  return p;
}

function problems(r: LoadResult): ConfigProblem[] {
  if (r.ok) throw new Error("expected problems, got a valid config");
  return r.problems;
}

function ok(r: LoadResult) {
  if (!r.ok) throw new Error(`unexpected problems:\n${formatProblems(r.problems)}`);
  return r.config;
}

describe("loadConfig layers", () => {
  test("with nothing given, the result is the defaults", () => {
    expect(ok(loadConfig({ env: {}, cwd: dir }))).toEqual(defaults());
  });

  test("a file overrides defaults, env overrides the file, flags override env", () => {
    const f = file(`[server]\nhttps_port = 9001\nbind = "127.0.0.1"\n[smtp]\nhost = "file.example"\n`);
    const fromFile = ok(loadConfig({ file: f, env: {} }));
    expect(fromFile.server.https_port).toBe(9001);
    expect(fromFile.server.bind).toBe("127.0.0.1");
    expect(fromFile.smtp.host).toBe("file.example");
    const fromEnv = ok(loadConfig({ file: f, env: { CONCLAVE_HTTPS_PORT: "9002", CONCLAVE_SMTP_HOST: "env.example" } }));
    expect(fromEnv.server.https_port).toBe(9002);
    expect(fromEnv.smtp.host).toBe("env.example");
    expect(fromEnv.server.bind).toBe("127.0.0.1");
    const fromFlags = ok(loadConfig({ file: f, env: { CONCLAVE_HTTPS_PORT: "9002" }, flags: { "server.https_port": "9003" } }));
    expect(fromFlags.server.https_port).toBe(9003);
  });

  test("long env names work for every key (CONCLAVE_<SECTION>_<KEY>)", () => {
    const c = ok(loadConfig({ env: { CONCLAVE_SERVER_HTTPS_PORT: "9443", CONCLAVE_SECURITY_SESSION_HOURS: "24", CONCLAVE_LOG_FORMAT: "json", CONCLAVE_SMTP_TLS: "none" } }));
    expect(c.server.https_port).toBe(9443);
    expect(c.security.session_hours).toBe(24);
    expect(c.log.format).toBe("json");
    expect(c.smtp.tls).toBe("none");
  });

  test("the default file config/conclave.toml is read from the working directory when present", () => {
    const cwd = mkdtempSync(join(dir, "cwd-"));
    mkdirSync(join(cwd, "config"));
    writeFileSync(join(cwd, "config/conclave.toml"), "[server]\nhttp_port = 8181\n");
    const r = loadConfig({ env: {}, cwd });
    expect(ok(r).server.http_port).toBe(8181);
    expect(r.file).toBe(`${cwd}/config/conclave.toml`);
  });

  test("CONCLAVE_CONFIG names the file", () => {
    const f = file(`[log]\nlevel = "debug"\n`);
    expect(ok(loadConfig({ env: { CONCLAVE_CONFIG: f } })).log.level).toBe("debug");
  });

  test("a named file that does not exist is a problem", () => {
    expect(problems(loadConfig({ file: join(dir, "missing.toml"), env: {} }))).toEqual([{ key: "(file)", source: join(dir, "missing.toml"), problem: "config file not found" }]);
  });

  test("an env var holding the SMTP password (named by password_env) is not mistaken for a setting", () => {
    const c = ok(loadConfig({ env: { CONCLAVE_SMTP_PASSWORD_ENV: "CONCLAVE_MAIL_SECRET", CONCLAVE_MAIL_SECRET: "hunter2" } }));
    expect(c.smtp.password_env).toBe("CONCLAVE_MAIL_SECRET");
    expect(JSON.stringify(c)).not.toContain("hunter2");
  });
});

describe("loadConfig problems name the key and what is wrong", () => {
  const cases: { name: string; toml?: string; env?: Record<string, string>; flags?: Record<string, string>; key: string; problem: RegExp }[] = [
    { name: "an unknown key in a known section", toml: "[server]\nhttps_prot = 1\n", key: "server.https_prot", problem: /^unknown key$/ },
    { name: "an unknown section", toml: "[database]\npath = 'x'\n", key: "database", problem: /unknown key/ },
    { name: "an inline SMTP password", toml: "[smtp]\npassword = 'hunter2'\n", key: "smtp.password", problem: /unknown key \(secrets are never written in the config: use smtp.password_env or smtp.password_file\)/ },
    { name: "an inline TLS key", toml: "[tls]\nkey = '-----BEGIN'\n", key: "tls.key", problem: /use tls.key_file/ },
    { name: "a string where a port belongs", toml: "[server]\nhttps_port = 'https'\n", key: "server.https_port", problem: /must be a whole number, got "https"/ },
    { name: "a port out of range", toml: "[server]\nhttps_port = 70000\n", key: "server.https_port", problem: /must be between 0 and 65535, got 70000/ },
    { name: "a fractional number", toml: "[security]\nsession_hours = 1.5\n", key: "security.session_hours", problem: /whole number/ },
    { name: "an int below its minimum", toml: "[security]\nsetup_token_minutes = 1\n", key: "security.setup_token_minutes", problem: /between 5 and 1440, got 1/ },
    { name: "a value outside its choices", toml: "[log]\nlevel = 'verbose'\n", key: "log.level", problem: /must be one of "debug", "info", "warn", "error", got "verbose"/ },
    { name: "a number where a string belongs", toml: "[smtp]\nhost = 25\n", key: "smtp.host", problem: /must be a string, got 25/ },
    { name: "a section that is not a table", toml: "server = 5\n", key: "server", problem: /must be a table/ },
    { name: "a list for a port", toml: "[server]\nhttp_port = [80]\n", key: "server.http_port", problem: /got a list/ },
    { name: "invalid TOML", toml: "[server\nbind = \n", key: "(file)", problem: /not valid TOML/ },
    { name: "a bad env value", env: { CONCLAVE_HTTPS_PORT: "eighty" }, key: "server.https_port", problem: /must be a whole number, got "eighty"/ },
    { name: "an unknown CONCLAVE_ env var", env: { CONCLAVE_FOO: "1" }, key: "CONCLAVE_FOO", problem: /unknown setting/ },
    { name: "an env var for an unknown key in a known section", env: { CONCLAVE_SERVER_COLOUR: "blue" }, key: "CONCLAVE_SERVER_COLOUR", problem: /unknown setting/ },
    { name: "a bad flag value", flags: { "server.http_port": "-1" }, key: "server.http_port", problem: /between 0 and 65535/ },
    { name: "an unknown flag", flags: { "server.colour": "blue" }, key: "server.colour", problem: /unknown key/ },
    { name: "cert_file without key_file", toml: `[tls]\ncert_file = "${import.meta.path}"\n`, key: "tls.key_file", problem: /must be set together/ },
    { name: "key_file without cert_file", toml: `[tls]\nkey_file = "${import.meta.path}"\n`, key: "tls.cert_file", problem: /must be set together/ },
    { name: "a TLS file that does not exist", toml: `[tls]\ncert_file = "/nonexistent/cert.pem"\nkey_file = "/nonexistent/key.pem"\n`, key: "tls.cert_file", problem: /file not found: \/nonexistent\/cert.pem/ },
    { name: "a password where the env var name belongs", toml: "[smtp]\npassword_env = 'hunter2!'\n", key: "smtp.password_env", problem: /environment variable name, not the password/ },
    { name: "the same port for HTTP and HTTPS", toml: "[server]\nhttps_port = 8443\nhttp_port = 8443\n", key: "server.http_port", problem: /must differ from server.https_port/ },
    { name: "a non-https public URL", toml: "[server]\npublic_url = 'http://meet.example.org'\n", key: "server.public_url", problem: /must be an https:\/\/ URL/ },
    { name: "a host name as the media bind address", toml: "[media]\nbind = 'meet.example.org'\n", key: "media.bind", problem: /must be an IPv4 or IPv6 address, got "meet.example.org"/ },
    { name: "a host name among the announced media addresses", toml: "[media]\nannounced_addresses = '203.0.113.10, meet.example.org'\n", key: "media.announced_addresses", problem: /"meet.example.org" is not an IP address/ },
    { name: "a media port out of range", flags: { "media.udp_port": "70000" }, key: "media.udp_port", problem: /between 0 and 65535/ },
    { name: "an empty data dir", env: { CONCLAVE_DATA_DIR: "" }, key: "server.data_dir", problem: /must not be empty/ },
  ];
  for (const c of cases) {
    test(`reports ${c.name}`, () => {
      const r = loadConfig({ file: c.toml === undefined ? null : file(c.toml), env: c.env ?? {}, flags: c.flags, cwd: dir });
      const p = problems(r);
      const hit = p.find((x) => x.key === c.key);
      expect(hit, `problems were: ${formatProblems(p)}`).toBeDefined();
      expect(hit!.problem).toMatch(c.problem);
      expect(formatProblems(p)).toContain(c.key);
    });
  }

  test("every problem is reported, not only the first", () => {
    const p = problems(loadConfig({ file: file("[server]\nhttps_port = 'x'\nnope = 1\n[log]\nlevel = 'loud'\n"), env: { CONCLAVE_BAR: "1" } }));
    expect(p.map((x) => x.key).sort()).toEqual(["CONCLAVE_BAR", "log.level", "server.https_port", "server.nope"]);
  });

  test("the source says where the bad value came from", () => {
    const f = file("[server]\nhttps_port = 'x'\n");
    expect(problems(loadConfig({ file: f, env: {} }))[0]!.source).toBe(f);
    expect(problems(loadConfig({ env: { CONCLAVE_HTTPS_PORT: "x" } }))[0]!.source).toBe("environment CONCLAVE_HTTPS_PORT");
    expect(problems(loadConfig({ env: {}, flags: { "server.https_port": "x" } }))[0]!.source).toBe("--https-port");
  });

  test("formatProblems puts one problem per line, key first", () => {
    expect(formatProblems([{ key: "a.b", source: "f.toml", problem: "bad" }, { key: "c.d", source: "env", problem: "worse" }])).toBe("  a.b: bad (from f.toml)\n  c.d: worse (from env)");
  });
});

test("announced media addresses accept IPv4 and IPv6, comma or space separated", () => {
  const r = loadConfig({ file: file("[media]\nannounced_addresses = '203.0.113.10, 2001:db8::1 198.51.100.7'\nbind = '::1'\n"), env: {}, cwd: dir });
  expect(r.ok).toBe(true);
});

describe("config/conclave.example.toml", () => {
  const example = resolve(import.meta.dir, "../../config/conclave.example.toml");

  test("exists", () => {
    expect(existsSync(example)).toBe(true);
  });

  test("parses with no problems and matches the defaults", () => {
    expect(existsSync(example)).toBe(true);
    expect(ok(loadConfig({ file: example, env: {} }))).toEqual(defaults());
  });

  test("mentions every key of the schema in its section, with a comment", () => {
    expect(existsSync(example)).toBe(true);
    const text = readFileSync(example, "utf8");
    const parsed = Bun.TOML.parse(text) as Record<string, Record<string, unknown>>;
    for (const [section, keys] of Object.entries(schema)) {
      expect(parsed[section], `[${section}] missing`).toBeDefined();
      for (const key of Object.keys(keys)) expect(Object.hasOwn(parsed[section]!, key), `${section}.${key} missing`).toBe(true);
    }
    expect(text.split("\n").filter((l) => l.trimStart().startsWith("#")).length).toBeGreaterThan(Object.keys(schema).length * 2);
  });
});
