import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { defaults, schema, type Config, type FieldSpec } from "./schema.ts";

/** ConfigProblem names one bad key, where it came from, and what is wrong. */
export interface ConfigProblem {
  key: string;
  source: string;
  problem: string;
}

/** LoadResult is either a validated config or the list of problems found. */
export type LoadResult =
  | { ok: true; config: Config; file: string | null }
  | { ok: false; problems: ConfigProblem[]; file: string | null };

/** LoadInput holds the three override layers; `flags` uses TOML key paths ("server.bind"). */
export interface LoadInput {
  file?: string | null;
  env?: Record<string, string | undefined>;
  flags?: Record<string, string>;
  cwd?: string;
}

/** DEFAULT_CONFIG_FILE is read when present and no other file is named. */
export const DEFAULT_CONFIG_FILE = "config/conclave.toml";

/** Short environment names for the most used keys, besides CONCLAVE_<SECTION>_<KEY>. */
const ENV_ALIASES: Record<string, string> = {
  CONCLAVE_DATA_DIR: "server.data_dir",
  CONCLAVE_BIND: "server.bind",
  CONCLAVE_HTTPS_PORT: "server.https_port",
  CONCLAVE_HTTP_PORT: "server.http_port",
  CONCLAVE_PUBLIC_URL: "server.public_url",
  CONCLAVE_LOG_LEVEL: "log.level",
};

/** Environment variables that are not configuration keys. */
const ENV_RESERVED = new Set(["CONCLAVE_CONFIG"]);

/** Hints for keys people try to use for inline secrets. */
const SECRET_HINTS: Record<string, string> = {
  "smtp.password": "secrets are never written in the config: use smtp.password_env or smtp.password_file",
  "pkcs11.pin": "secrets are never written in the config: use pkcs11.pin_file or pkcs11.pin_env",
  "tls.key": "use tls.key_file (a path)",
};

function specOf(path: string): FieldSpec | undefined {
  const [section, key, ...rest] = path.split(".");
  if (!section || !key || rest.length) return undefined;
  const sec = (schema as Record<string, Record<string, FieldSpec>>)[section];
  return sec ? sec[key] : undefined;
}

function unknownProblem(path: string, source: string): ConfigProblem {
  const hint = SECRET_HINTS[path];
  return { key: path, source, problem: hint ? `unknown key (${hint})` : "unknown key" };
}

/** coerce converts a raw value (TOML value, or string from env/flags) to the spec's type. */
function coerce(spec: FieldSpec, raw: unknown): { value: unknown } | { problem: string } {
  const fromText = typeof raw === "string";
  switch (spec.type) {
    case "string": {
      if (typeof raw !== "string") return { problem: `must be a string, got ${describe(raw)}` };
      if (spec.oneOf && !spec.oneOf.includes(raw)) return { problem: `must be one of ${spec.oneOf.map((v) => `"${v}"`).join(", ")}, got "${raw}"` };
      return { value: raw };
    }
    case "bool": {
      if (typeof raw === "boolean") return { value: raw };
      if (fromText && /^(true|false)$/.test(raw)) return { value: raw === "true" };
      return { problem: `must be true or false, got ${describe(raw)}` };
    }
    case "port":
    case "int": {
      let n: number;
      if (typeof raw === "number") n = raw;
      else if (fromText && /^-?\d+$/.test(raw.trim())) n = Number(raw.trim());
      else return { problem: `must be a whole number, got ${describe(raw)}` };
      if (!Number.isInteger(n)) return { problem: `must be a whole number, got ${n}` };
      const [min, max] = spec.type === "port" ? [spec.allowZero ? 0 : 1, 65535] : [spec.min, spec.max];
      if (n < min || n > max) return { problem: `must be between ${min} and ${max}, got ${n}` };
      return { value: n };
    }
  }
}

function describe(v: unknown): string {
  if (typeof v === "string") return `"${v}"`;
  if (Array.isArray(v)) return "a list";
  if (v && typeof v === "object") return "a table";
  return String(v);
}

function set(config: Config, path: string, value: unknown): void {
  const [section, key] = path.split(".") as [string, string];
  (config as unknown as Record<string, Record<string, unknown>>)[section]![key] = value;
}

/** parseToml parses TOML text and reports syntax errors as a problem. */
function parseToml(text: string, source: string): { data: Record<string, unknown> } | { problem: ConfigProblem } {
  try {
    return { data: Bun.TOML.parse(text) as Record<string, unknown> };
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/^TOML Parse error:\s*/, "") : String(e);
    return { problem: { key: "(file)", source, problem: `not valid TOML: ${msg}` } };
  }
}

/** applyTable walks a parsed TOML document, reporting unknown keys by their full path. */
function applyTable(config: Config, data: Record<string, unknown>, source: string, problems: ConfigProblem[]): void {
  for (const [section, body] of Object.entries(data)) {
    if (!(section in schema)) {
      problems.push(unknownProblem(section, source));
      continue;
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      problems.push({ key: section, source, problem: `must be a table ([${section}]), got ${describe(body)}` });
      continue;
    }
    for (const [key, raw] of Object.entries(body as Record<string, unknown>)) {
      const path = `${section}.${key}`;
      const spec = specOf(path);
      if (!spec) {
        problems.push(unknownProblem(path, source));
        continue;
      }
      const r = coerce(spec, raw);
      if ("problem" in r) problems.push({ key: path, source, problem: r.problem });
      else set(config, path, r.value);
    }
  }
}

/** envPath maps CONCLAVE_SECTION_KEY (or an alias) to a key path, or null if it is unknown. */
function envPath(name: string): string | null {
  if (ENV_ALIASES[name]) return ENV_ALIASES[name]!;
  const rest = name.slice("CONCLAVE_".length).toLowerCase();
  for (const section of Object.keys(schema)) {
    if (rest.startsWith(section + "_")) {
      const path = `${section}.${rest.slice(section.length + 1)}`;
      if (specOf(path)) return path;
    }
  }
  return null;
}

/** crossCheck validates rules that span keys. */
function crossCheck(c: Config, problems: ConfigProblem[]): void {
  if (c.server.http_port !== 0 && c.server.http_port === c.server.https_port)
    problems.push({ key: "server.http_port", source: "validation", problem: `must differ from server.https_port (${c.server.https_port})` });
  if (c.media.bind && !isIP(c.media.bind)) problems.push({ key: "media.bind", source: "validation", problem: `must be an IPv4 or IPv6 address, got "${c.media.bind}"` });
  for (const a of mediaAnnouncedAddresses(c))
    if (!isIP(a)) problems.push({ key: "media.announced_addresses", source: "validation", problem: `"${a}" is not an IP address (list public IPv4/IPv6 addresses separated by commas or spaces)` });
  if (Boolean(c.tls.cert_file) !== Boolean(c.tls.key_file))
    problems.push({ key: c.tls.cert_file ? "tls.key_file" : "tls.cert_file", source: "validation", problem: "tls.cert_file and tls.key_file must be set together" });
  for (const path of ["tls.cert_file", "tls.key_file", "smtp.password_file"]) {
    const [s, k] = path.split(".") as [keyof Config, string];
    const v = (c[s] as Record<string, unknown>)[k] as string;
    if (v && !existsSync(v)) problems.push({ key: path, source: "validation", problem: `file not found: ${v}` });
  }
  if (c.keys.provider === "pkcs11") {
    if (!c.pkcs11.module) problems.push({ key: "pkcs11.module", source: "validation", problem: "required when keys.provider is pkcs11" });
    if (!c.pkcs11.token_label) problems.push({ key: "pkcs11.token_label", source: "validation", problem: "required when keys.provider is pkcs11" });
    if (Boolean(c.pkcs11.pin_file) === Boolean(c.pkcs11.pin_env)) problems.push({ key: "pkcs11.pin_file", source: "validation", problem: "set exactly one of pkcs11.pin_file and pkcs11.pin_env" });
  }
  if (c.keys.provider === "azure-keyvault" && !c.azure_keyvault.key_id) problems.push({ key: "azure_keyvault.key_id", source: "validation", problem: "required when keys.provider is azure-keyvault" });
  if (c.keys.provider === "aws-kms" && !c.aws_kms.key_id) problems.push({ key: "aws_kms.key_id", source: "validation", problem: "required when keys.provider is aws-kms" });
  if (c.keys.provider === "oci-vault" && !c.oci_vault.key_id) problems.push({ key: "oci_vault.key_id", source: "validation", problem: "required when keys.provider is oci-vault" });
  if (c.keys.provider === "oci-vault" && !c.oci_vault.crypto_endpoint) problems.push({ key: "oci_vault.crypto_endpoint", source: "validation", problem: "required when keys.provider is oci-vault (the vault's Cryptographic Endpoint)" });
  if (c.oci_vault.key_id && !/^ocid1\.key\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9]+\.[a-z0-9]+$/.test(c.oci_vault.key_id.trim()))
    problems.push({ key: "oci_vault.key_id", source: "validation", problem: `must be a key OCID (ocid1.key.<realm>.<region>.<vault>.<id>), got "${c.oci_vault.key_id}"` });
  if (c.oci_vault.crypto_endpoint && !/^(https:\/\/[^/\s?#@]+|http:\/\/(127\.0\.0\.1|localhost)(:\d+)?)\/?$/.test(c.oci_vault.crypto_endpoint.trim()))
    problems.push({ key: "oci_vault.crypto_endpoint", source: "validation", problem: `must be the vault's https:// Cryptographic Endpoint without a path, got "${c.oci_vault.crypto_endpoint}"` });
  if (c.oci_vault.management_endpoint && !/^(https:\/\/[^/\s?#@]+|http:\/\/(127\.0\.0\.1|localhost)(:\d+)?)\/?$/.test(c.oci_vault.management_endpoint.trim()))
    problems.push({ key: "oci_vault.management_endpoint", source: "validation", problem: `must be the vault's https:// Management Endpoint without a path, got "${c.oci_vault.management_endpoint}"` });
  if (c.oci_vault.config_file && !existsSync(c.oci_vault.config_file)) problems.push({ key: "oci_vault.config_file", source: "validation", problem: `file not found: ${c.oci_vault.config_file}` });
  if (c.pkcs11.pin_file && !existsSync(c.pkcs11.pin_file)) problems.push({ key: "pkcs11.pin_file", source: "validation", problem: `file not found: ${c.pkcs11.pin_file}` });
  if (c.smtp.password_env && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.smtp.password_env))
    problems.push({ key: "smtp.password_env", source: "validation", problem: "must be an environment variable name, not the password itself" });
  if (c.server.public_url && !/^https:\/\/[^/\s]+(\/.*)?$/.test(c.server.public_url))
    problems.push({ key: "server.public_url", source: "validation", problem: `must be an https:// URL, got "${c.server.public_url}"` });
  if (!c.server.data_dir) problems.push({ key: "server.data_dir", source: "validation", problem: "must not be empty" });
}

/** loadConfig layers defaults → file → env → flags, then validates the result. */
export function loadConfig(input: LoadInput = {}): LoadResult {
  const config = defaults();
  const problems: ConfigProblem[] = [];
  const env = input.env ?? {};
  const cwd = input.cwd ?? process.cwd();

  let file = input.file ?? env.CONCLAVE_CONFIG ?? null;
  const explicit = file !== null;
  if (!file && existsSync(`${cwd}/${DEFAULT_CONFIG_FILE}`)) file = `${cwd}/${DEFAULT_CONFIG_FILE}`;
  if (file) {
    if (!existsSync(file)) {
      if (explicit) problems.push({ key: "(file)", source: file, problem: "config file not found" });
    } else {
      const parsed = parseToml(readFileSync(file, "utf8"), file);
      if ("problem" in parsed) problems.push(parsed.problem);
      else applyTable(config, parsed.data, file, problems);
    }
  }

  const referencedEnv = new Set([config.smtp.password_env, env.CONCLAVE_SMTP_PASSWORD_ENV, config.pkcs11.pin_env, env.CONCLAVE_PKCS11_PIN_ENV].filter(Boolean));
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("CONCLAVE_") || ENV_RESERVED.has(name) || raw === undefined || referencedEnv.has(name)) continue;
    const path = envPath(name);
    if (!path) {
      problems.push({ key: name, source: "environment", problem: "unknown setting (expected CONCLAVE_<SECTION>_<KEY>)" });
      continue;
    }
    const r = coerce(specOf(path)!, raw);
    if ("problem" in r) problems.push({ key: path, source: `environment ${name}`, problem: r.problem });
    else set(config, path, r.value);
  }

  for (const [path, raw] of Object.entries(input.flags ?? {})) {
    const spec = specOf(path);
    if (!spec) {
      problems.push(unknownProblem(path, "command line"));
      continue;
    }
    const r = coerce(spec, raw);
    if ("problem" in r) problems.push({ key: path, source: `--${path.split(".")[1]!.replaceAll("_", "-")}`, problem: r.problem });
    else set(config, path, r.value);
  }

  if (problems.length === 0) crossCheck(config, problems);
  return problems.length ? { ok: false, problems, file } : { ok: true, config, file };
}

/** formatProblems renders problems one per line, key first. */
export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `  ${p.key}: ${p.problem} (from ${p.source})`).join("\n");
}

/** mediaAnnouncedAddresses splits media.announced_addresses into its addresses. */
export function mediaAnnouncedAddresses(c: Config): string[] {
  return c.media.announced_addresses.split(/[\s,]+/).filter(Boolean);
}
