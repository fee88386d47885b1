/**
 * The composition root: config → db → migrations → key provider → modules → servers.
 * The only file (with src/cli/) that knows every module.
 */
import { existsSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { Hono } from "hono";
import pkg from "../package.json" with { type: "json" };
import type { AccountsDeps } from "./accounts/deps.ts";
import { mountPages } from "./admin/index.ts";
import { apiRoutes } from "./api/index.ts";
import { createAuditLog, type AuditLog } from "./audit/audit-log.ts";
import { securityPolicy } from "./auth/policy.ts";
import type { SessionDeps } from "./auth/sessions.ts";
import type { SamlDeps } from "./auth/saml/deps.ts";
import { createSamlRequestCache } from "./auth/saml/request-cache.ts";
import type { AuthDeps } from "./auth/signin.ts";
import type { Config } from "./config/schema.ts";
import { createKeyProvider, type KeyProvider, type KeyProviderName, type KeyProviderOptions } from "./crypto/kms/index.ts";
import { awsKmsOptionsFromConfig } from "./crypto/kms/aws-kms.ts";
import { azureKeyVaultOptionsFromConfig } from "./crypto/kms/azure-keyvault.ts";
import { ociVaultOptionsFromConfig } from "./crypto/kms/oci-vault.ts";
import { ensureSamlSpKeys, type SamlSpKeys } from "./crypto/saml-sp-cert.ts";
import { createHttpApp } from "./http/app.ts";
import type { AppEnv } from "./http/context.ts";
import { createRateLimiter } from "./http/middleware/rate-limit.ts";
import { createSmtpMailer, type Mailer } from "./notify/mailer.ts";
import { systemClock, type Clock } from "./shared/clock.ts";
import type { Logger } from "./shared/logger.ts";
import { dbHealthy, openDatabase, type Db } from "./storage/db.ts";
import { plainCodec, type PersonalDataCodec } from "./storage/personal-data.ts";
import { resealLegacy } from "./storage/reseal.ts";
import { createKeyService, type KeyService } from "./keys/key-service.ts";
import { createSealingCodec } from "./keys/sealing-codec.ts";
import { createAuditSealer } from "./keys/audit-sealer.ts";
import { createCmkService, type CmkService } from "./keys/cmk-service.ts";
import { createCmkOpener, type CmkOpener } from "./keys/cmk-providers.ts";
import { createSamlResponseLog } from "./storage/saml-repo.ts";
import { createUsersRepo } from "./storage/users-repo.ts";
import { createMeetingsRepo } from "./storage/meetings-repo.ts";
import { createMeetings, type MeetingsModule } from "./meetings/index.ts";
import { runCli } from "./cli/run.ts";

/** VERSION is the package version compiled into the binary. */
export const VERSION: string = pkg.version;

/** Paths derives every file location from the data directory. */
export interface Paths {
  dataDir: string;
  db: string;
  localKey: string;
}

/** pathsOf resolves the data directory layout. */
export function pathsOf(config: Config): Paths {
  const dataDir = resolve(config.server.data_dir);
  const key = config.keys.local_key_file;
  return { dataDir, db: join(dataDir, "conclave.db"), localKey: key ? (isAbsolute(key) ? key : resolve(key)) : join(dataDir, "keys", "local.key") };
}

/** keyProviderOptions maps the [keys] and [pkcs11] config sections to provider options. */
export function keyProviderOptions(config: Config, paths: Paths): KeyProviderOptions {
  const p = config.pkcs11;
  return {
    dataDir: paths.dataDir,
    localKeyFile: paths.localKey,
    aws: awsKmsOptionsFromConfig(config.aws_kms),
    azure: azureKeyVaultOptionsFromConfig(config.azure_keyvault),
    oci: ociVaultOptionsFromConfig(config.oci_vault),
    pkcs11: p.module
      ? {
          module: p.module,
          tokenLabel: p.token_label,
          keyLabel: p.key_label,
          pinFile: p.pin_file ? resolve(p.pin_file) : undefined,
          pinEnv: p.pin_env || undefined,
          mechanism: p.mechanism as "aes-gcm" | "aes-key-wrap",
          createKeyIfMissing: p.create_key,
        }
      : undefined,
  };
}

/** baseUrlOf is the external URL used in printed and e-mailed links. */
export function baseUrlOf(config: Config, port: number): string {
  if (config.server.public_url) return config.server.public_url.replace(/\/+$/, "");
  const b = config.server.bind;
  const host = ["0.0.0.0", "::", "127.0.0.1", "::1", "localhost", ""].includes(b) ? "localhost" : b.includes(":") ? `[${b}]` : b;
  return port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

/** Overrides lets tests inject a clock, mailer and logger. */
export interface Overrides {
  clock?: Clock;
  mailer?: Mailer;
  smtpPassword?: string;
  /**
   * cmkOpener wraps how customer-managed keys are opened (tests hand a provider its transport,
   * e.g. a fake Key Vault's credential and TLS agent, which the config cannot name).
   */
  cmkOpener?: (opener: CmkOpener) => CmkOpener;
}

/** Conclave is the assembled application: app, dependencies, and how to close it. */
export interface Conclave {
  app: Hono<AppEnv>;
  db: Db;
  audit: AuditLog;
  auth: AuthDeps;
  /** saml: single sign-on (purge its log periodically with purgeSamlData). */
  saml: SamlDeps;
  keyProvider: KeyProvider;
  keys: KeyService;
  /** cmk: accounts' customer-managed keys (start() runs the health probe and resumes jobs; serve calls it). */
  cmk: CmkService;
  /** rewrappedAtStart counts data keys moved from the local key file to the configured provider while opening. */
  rewrappedAtStart: number;
  /** codec seals personal data (re-encryption jobs use it). */
  codec: PersonalDataCodec;
  /** meetings: scheduling, join checks, and `meetings.live` (MeetingsLive) for the signalling server. */
  meetings: MeetingsModule;
  paths: Paths;
  created: boolean;
  close(): void;
}

/** readSmtpPassword resolves the SMTP password from its reference (env var or file). */
async function readSmtpPassword(config: Config): Promise<string> {
  if (config.smtp.password_env) return process.env[config.smtp.password_env] ?? "";
  if (config.smtp.password_file) return (await Bun.file(config.smtp.password_file).text()).trim();
  return "";
}

/** assemble opens the data directory and wires every module; it starts no listener. */
export async function assemble(config: Config, log: Logger, over: Overrides = {}, baseUrl = baseUrlOf(config, config.server.https_port)): Promise<Conclave> {
  const clock = over.clock ?? systemClock;
  const paths = pathsOf(config);
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const { db, created, applied } = openDatabase(paths.db);
  if (applied) log.info("database migrated", { path: paths.db, applied });
  const keyProvider = await createKeyProvider(config.keys.provider as KeyProviderName, keyProviderOptions(config, paths));
  // The key service audits key events, and the log seals its details with the key service:
  // a plain log for the key service, then the sealing log for everything else.
  const keys = createKeyService(db, keyProvider, clock, createAuditLog(db, clock), log.child({ module: "keys" }));
  const audit = createAuditLog(db, clock, createAuditSealer(keys));
  const mailer =
    over.mailer ??
    createSmtpMailer(
      { host: config.smtp.host, port: config.smtp.port, tls: config.smtp.tls as "starttls", from: config.smtp.from, username: config.smtp.username, password: over.smtpPassword ?? (await readSmtpPassword(config)) },
      log.child({ module: "mail" }),
    );
  // Customer-managed keys route DEKs from here on (attached to the key service before any account key is warmed).
  const cmk = createCmkService({
    db, clock, audit, keys, mailer, log: log.child({ module: "cmk" }), opener: (over.cmkOpener ?? ((o: CmkOpener) => o))(createCmkOpener(config, keyProviderOptions(config, paths))),
    index: (column, normalised) => codec.index(column, normalised), probeIntervalMs: config.keys.cmk_probe_seconds * 1000,
  });
  // Moved from the local key file to an HSM: re-wrap the data keys the old file still wraps (online, resumable).
  let rewrappedAtStart = 0;
  if (keyProvider.name !== "local" && existsSync(paths.localKey)) {
    const previous = await createKeyProvider("local", keyProviderOptions(config, paths));
    rewrappedAtStart = await keys.rewrapAll(undefined, previous);
    await previous.close?.();
    if (rewrappedAtStart) log.info("data keys re-wrapped under the new key provider", { keys: rewrappedAtStart, provider: keyProvider.name });
  }
  const codec = await createSealingCodec(keys);
  for (const a of db.$client.query("SELECT id FROM accounts").all() as { id: string }[]) await audit.prepare(a.id);
  const resealed = await resealLegacy(db, plainCodec, codec);
  if (resealed) log.info("personal data sealed under the account keys", { rows: resealed });
  const users = createUsersRepo(db, codec);
  const accounts: AccountsDeps = { db, clock, audit, users, mailer, invitationDays: config.security.invitation_days };
  const meetings = createMeetings({ accounts, repo: createMeetingsRepo(db, codec), log: log.child({ module: "meetings" }), baseUrl, meetingsAllowed: (accountId) => cmk.meetingsAllowed(accountId), mac: (data) => codec.index("meetings.join_pass", data) });
  // "Drop meetings when keys are unavailable": a key status change ends the account's running meetings.
  cmk.onStatusChange((change) => {
    const verdict = cmk.meetingsAllowed(change.accountId);
    if (!verdict.ok) meetings.live.endAccountMeetings(change.accountId, "keys_unavailable", verdict.message);
  });
  const sessions: SessionDeps = {
    db,
    clock,
    users,
    sessionHours: config.security.session_hours,
    policy: (accountId, userId) => securityPolicy(accounts, accountId, userId),
  };
  const auth: AuthDeps = { ...accounts, ...sessions };
  let spKeys: SamlSpKeys | undefined; // generated on first SAML use, not at every start
  const saml: SamlDeps = {
    ...auth,
    baseUrl,
    spKeys: () => (spKeys ??= ensureSamlSpKeys(paths.dataDir)),
    requests: createSamlRequestCache(clock),
    samlLog: createSamlResponseLog(db, codec),
  };
  let lastHealth: { at: number; result: Awaited<ReturnType<KeyProvider["health"]>> } | undefined;
  const app = createHttpApp({
    log,
    sessions,
    version: VERSION,
    ready: async () => {
      // A KMS health check is a round trip: probes within 10 s share one answer.
      if (!lastHealth || clock.now() - lastHealth.at > 10_000) lastHealth = { at: clock.now(), result: await keyProvider.health() };
      const kp = lastHealth.result;
      return { database: { ok: dbHealthy(db), detail: "sqlite" }, keyProvider: { ok: kp.ok, detail: kp.detail } };
    },
  });
  mountPages(app, { auth, saml, baseUrl, signInLimiter: createRateLimiter(20, 60_000, clock), keyProvider: keyProvider.describe(), keys, cmk, meetings });
  app.route("/api/v1", apiRoutes(auth));
  return {
    app, db, audit, auth, keys, cmk, rewrappedAtStart, codec, saml, keyProvider, paths, created, meetings,
    close: () => {
      meetings.live.close();
      void cmk.close();
      keys.wipeCache();
      void keyProvider.close?.();
      db.$client.close();
    },
  };
}

/** defaultTlsNames lists the names a generated certificate covers. */
export function defaultTlsNames(config: Config): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = new Set(["localhost", hostname()]);
  const ips = new Set(["127.0.0.1", "::1"]);
  const b = config.server.bind;
  if (/^[\d.]+$/.test(b) && b !== "0.0.0.0") ips.add(b);
  else if (b.includes(":") && b !== "::") ips.add(b);
  if (config.server.public_url) dns.add(new URL(config.server.public_url).hostname);
  return { dnsNames: [...dns].filter((d) => /^[A-Za-z0-9.-]+$/.test(d)), ipAddresses: [...ips] };
}

if (import.meta.main) {
  process.umask(0o077); // everything Conclave creates (database, keys, TLS) is owner-only
  const code = await runCli(process.argv.slice(2), { version: VERSION, assemble, pathsOf, baseUrlOf, defaultTlsNames });
  process.exit(code);
}
