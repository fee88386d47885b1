// Encryption-at-rest benchmark (issue #4, "Benchmarks"): what sealing personal data costs next to
// plaintext, how often the KMS is called in steady state, cold unwrap latency per key provider,
// rewrap throughput and re-encryption throughput. Prints Markdown tables and writes
// crypto-results.json.
//
//   bun run scripts/bench/crypto.ts [--rows 5000] [--runs 3] [--out scripts/bench/crypto-results.json]
//
// Everything runs in this process against temp directories (fresh SQLite databases with the real
// migrations, a temp local key file, a SoftHSM2 token in a temp dir). Goals are reported, never
// enforced: this exits non-zero only when the benchmark itself could not run.

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createAuditLog } from "../../src/audit/audit-log.ts";
import { createChunkOpener, createChunkSealer } from "../../src/crypto/aead/chunked-format.ts";
import { gcmOpen, gcmSeal } from "../../src/crypto/aead/gcm.ts";
import type { AadBinding, DekMaterial } from "../../src/crypto/aead/types.ts";
import { decodeText, encodeText, openValue, sealValue } from "../../src/crypto/aead/value-format.ts";
import { createKeyProvider, keyProviders, type KeyProvider, type KeyProviderFactory, type KeyProviderOptions, type Pkcs11Options } from "../../src/crypto/kms/index.ts";
import { createKeyService, DATA_CLASSES, DEFAULT_KEY_OPTIONS, type KeyService } from "../../src/keys/key-service.ts";
import { createSealingCodec } from "../../src/keys/sealing-codec.ts";
import { fixedClock, systemClock, type Clock } from "../../src/shared/clock.ts";
import { newId } from "../../src/shared/ids.ts";
import { silentLogger } from "../../src/shared/logger.ts";
import { insertAccount, insertRole } from "../../src/storage/accounts-repo.ts";
import { openDatabase, type Db } from "../../src/storage/db.ts";
import { plainCodec, type PersonalDataCodec } from "../../src/storage/personal-data.ts";
import { createUsersRepo, type NewUser, type PreparedUser, type UsersRepo } from "../../src/storage/users-repo.ts";
import { createTestApp } from "../../tests/helpers/test-app.ts";
import { startSoftHsm, type SoftHsm } from "../../tests/support/softhsm.ts";
import { fixed, goalMark, markdownTable, mb, median, percentile, ratio, type Goal } from "./stats.ts";

// ---- pure helpers (crypto.test.ts) --------------------------------------------------------------

/** KmsCounts counts key-provider calls; unwraps are also split by the context's data class. */
export interface KmsCounts {
  wrap: number;
  unwrap: number;
  unwrapByClass: Record<string, number>;
}

/** newCounts returns zeroed counters. */
export function newCounts(): KmsCounts {
  return { wrap: 0, unwrap: 0, unwrapByClass: {} };
}

/** resetCounts zeroes counters in place. */
export function resetCounts(c: KmsCounts): void {
  c.wrap = 0;
  c.unwrap = 0;
  c.unwrapByClass = {};
}

const bump = (c: KmsCounts, context: Record<string, string>): void => {
  const cls = context.dataClass ?? "(no class)";
  c.unwrapByClass[cls] = (c.unwrapByClass[cls] ?? 0) + 1;
};

/** countingProvider wraps a provider in a delegating proxy that counts wrap and unwrap calls. */
export function countingProvider(inner: KeyProvider, counts: KmsCounts = newCounts()): { provider: KeyProvider; counts: KmsCounts } {
  const provider: KeyProvider = {
    name: inner.name,
    hsmGrade: inner.hsmGrade,
    wrap: (key, context) => {
      counts.wrap++;
      return inner.wrap(key, context);
    },
    unwrap: (wrapped, context) => {
      counts.unwrap++;
      bump(counts, context);
      return inner.unwrap(wrapped, context);
    },
    health: () => inner.health(),
    describe: () => inner.describe(),
    close: async () => inner.close?.(),
  };
  return { provider, counts };
}

/**
 * countInPlace makes an existing provider object count its own calls (the assembled app takes its
 * provider from config, so the proxy cannot be passed in; the key service calls the methods
 * through the object, so replacing them counts every call). Returns the counters.
 */
export function countInPlace(p: KeyProvider, counts: KmsCounts = newCounts()): KmsCounts {
  const wrap = p.wrap.bind(p);
  const unwrap = p.unwrap.bind(p);
  p.wrap = (key, context) => {
    counts.wrap++;
    return wrap(key, context);
  };
  p.unwrap = (wrapped, context) => {
    counts.unwrap++;
    bump(counts, context);
    return unwrap(wrapped, context);
  };
  return counts;
}

/** typicalUser is the benchmark's user row: a 20-character name and a 25-character e-mail. */
export function typicalUser(i: number, accountId: string, roleId: string, id: string, now: number): NewUser {
  const n = String(i).padStart(6, "0");
  return {
    id,
    accountId,
    roleId,
    name: `Person Number ${n}`,
    email: `person.${n}@example.org`,
    status: "active",
    // The shape of a real argon2id hash (97 characters); never verified here.
    passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$${"c2FsdHNhbHRzYWx0".padEnd(22, "A")}$${"aGFzaGhhc2hoYXNo".padEnd(43, "B")}`,
    now,
  };
}

/** perSecond turns a count done in `ms` milliseconds into a rate per second (NaN for ms ≤ 0). */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? count / (ms / 1000) : Number.NaN;
}

/** mulberry32 is a small seeded PRNG (uniform in [0, 1)), so shuffles repeat run to run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** shuffledIndices returns 0..n-1 in a seeded random order (Fisher–Yates). */
export function shuffledIndices(n: number, seed: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  const rnd = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** runOrder alternates the order of variants between runs, so drift in background load hits both alike. */
export function runOrder<T>(variants: readonly T[], run: number): T[] {
  return run % 2 === 0 ? [...variants] : [...variants].reverse();
}

/** busyNote says whether the load average suggests the figures are noisier than usual. */
export function busyNote(load1: number, cores: number): string {
  const base = `load average ${load1.toFixed(2)} on ${cores} cores`;
  return load1 > cores * 0.5
    ? `${base}: the machine was busy, so these figures are noisier than usual (re-run on a quiet machine before quoting them)`
    : `${base}: the machine was fairly quiet, but figures from a shared machine are still noisy (±10–20% between runs is normal)`;
}

/** classes renders unwrap counts by data class ("user_pii 1, totp 1"), or "—". */
export function classes(byClass: Record<string, number>): string {
  const parts = Object.entries(byClass).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(", ") : "—";
}

// ---- benchmark ----------------------------------------------------------------------------------

const ROOT = resolve(import.meta.dir, "../..");
const ACCOUNTS = 10;
const BATCH = 1000;
const KMS_REQUESTS = 1000;
const UNWRAP_SAMPLES = 200;
const UNWRAP_WARMUP = 10;
const REWRAP_DEKS = 2000;
const VALUE_ROWS = 20_000;
const VALUE_BYTES = 200;
const STREAM_BYTES = 64 * 1024 * 1024;
const STREAM_CHUNK = 64 * 1024;
const SOFTHSM_NOTE = "SoftHSM2 is a software token: a hardware HSM or network HSM is typically slower per call";

const log = (msg: string): void => console.error(`[crypto-bench] ${msg}`);
const now = (): number => performance.now();
const gc = (): void => Bun.gc(true);

interface Ctx {
  tmp: string;
  localA: KeyProvider;
  localB: KeyProvider;
  hsm: SoftHsm;
  pkcs11: KeyProvider;
  pkcs11Kw: KeyProvider;
}

function localOptions(tmp: string, file: string): KeyProviderOptions {
  return { dataDir: tmp, localKeyFile: join(tmp, file) };
}

let dbCount = 0;
/** freshDb opens a new database file in the temp dir with the real migrations. */
function freshDb(tmp: string): { db: Db; path: string } {
  const path = join(tmp, `bench-${++dbCount}.db`);
  return { db: openDatabase(path).db, path };
}

function dropDb(db: Db, path: string): void {
  db.$client.close();
  for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
}

interface Tenant {
  id: string;
  roleId: string;
}

function seedTenants(db: Db, tenants: readonly Tenant[]): void {
  tenants.forEach((t, i) => {
    insertAccount(db, { id: t.id, name: `Org ${i}` });
    insertRole(db, { id: t.roleId, accountId: t.id, name: "Member", kind: "member" });
  });
}

function makeKeys(db: Db, provider: KeyProvider, clock: Clock = systemClock): KeyService {
  return createKeyService(db, provider, clock, createAuditLog(db, clock), silentLogger);
}

// ---- 1. sealed vs plaintext user rows -------------------------------------------------------------

type CodecName = "plain" | "sealed";

interface RowFigures {
  writeRow: number;
  writeBatch: number;
  get: number;
  find: number;
  storedBytes: number;
}

async function codecFor(name: CodecName, db: Db, provider: KeyProvider, tenants: readonly Tenant[]): Promise<PersonalDataCodec> {
  if (name === "plain") return plainCodec;
  const keys = makeKeys(db, provider);
  const codec = await createSealingCodec(keys);
  // Steady state: each account's user_pii DEK exists and is cached before timing starts.
  for (const t of tenants) await keys.sealingKey(t.id, "user_pii");
  return codec;
}

async function rowVariant(ctx: Ctx, name: CodecName, people: readonly NewUser[], tenants: readonly Tenant[], seed: number): Promise<RowFigures> {
  const n = people.length;
  // Per-row transactions, then reads, on one fresh database.
  const a = freshDb(ctx.tmp);
  seedTenants(a.db, tenants);
  const repoA = createUsersRepo(a.db, await codecFor(name, a.db, ctx.localA, tenants));
  const insertOne = a.db.$client.transaction((row: PreparedUser) => repoA.insert(row));
  gc();
  let t0 = now();
  for (const u of people) insertOne(await repoA.prepare(u));
  const writeRowMs = now() - t0;

  const order = shuffledIndices(n, seed);
  gc();
  t0 = now();
  for (const i of order) {
    const u = people[i]!;
    const r = await repoA.get(u.accountId, u.id);
    if (r?.name !== u.name) throw new Error(`get ${u.id}: wrong or missing row`);
  }
  const getMs = now() - t0;
  gc();
  t0 = now();
  for (const i of order) {
    const u = people[i]!;
    const r = await repoA.findByEmail(u.email);
    if (r?.id !== u.id) throw new Error(`findByEmail ${u.email}: wrong or missing row`);
  }
  const findMs = now() - t0;
  const stored = a.db.$client.query("SELECT avg(length(email_sealed) + length(name_sealed) + length(email_index)) AS b FROM users").get() as { b: number };
  dropDb(a.db, a.path);

  // Batched transactions (1,000 rows each) on another fresh database.
  const b = freshDb(ctx.tmp);
  seedTenants(b.db, tenants);
  const repoB = createUsersRepo(b.db, await codecFor(name, b.db, ctx.localA, tenants));
  const insertMany = b.db.$client.transaction((rows: PreparedUser[]) => {
    for (const row of rows) repoB.insert(row);
  });
  gc();
  t0 = now();
  for (let s = 0; s < n; s += BATCH) {
    const rows: PreparedUser[] = [];
    for (let i = s; i < Math.min(n, s + BATCH); i++) rows.push(await repoB.prepare(people[i]!));
    insertMany(rows);
  }
  const writeBatchMs = now() - t0;
  const count = (b.db.$client.query("SELECT count(*) AS n FROM users").get() as { n: number }).n;
  if (count !== n) throw new Error(`batched insert stored ${count} rows, expected ${n}`);
  dropDb(b.db, b.path);

  return { writeRow: perSecond(n, writeRowMs), writeBatch: perSecond(n, writeBatchMs), get: perSecond(n, getMs), find: perSecond(n, findMs), storedBytes: stored.b };
}

/** Step is one measured call on the sealed path, in microseconds per call. */
interface Step {
  label: string;
  us: number;
}

/** sealedSteps times the pieces of sealing and opening one personal value, to show where the sealed row's time goes. */
async function sealedSteps(ctx: Ctx): Promise<Step[]> {
  const { db, path } = freshDb(ctx.tmp);
  try {
    const tenant: Tenant = { id: newId(), roleId: newId() };
    seedTenants(db, [tenant]);
    const keys = makeKeys(db, ctx.localA);
    const codec = await codecFor("sealed", db, ctx.localA, [tenant]);
    const dek = await keys.sealingKey(tenant.id, "user_pii");
    const material: DekMaterial = { id: dek.id, version: dek.version, key: dek.key };
    const email = "person.000042@example.org";
    const at = (i: number): AadBinding => ({ accountId: tenant.id, table: "users", column: "email", rowId: `row-${i}` });
    const sealedText = await codec.seal(at(0), email);
    const plainText = await plainCodec.seal(at(0), email);
    const enc = new TextEncoder();
    const n = 20_000;
    const time = async (label: string, f: (i: number) => unknown): Promise<Step> => {
      for (let i = 0; i < 2000; i++) await f(i);
      gc();
      const t0 = now();
      for (let i = 0; i < n; i++) await f(i);
      return { label, us: ((now() - t0) * 1000) / n };
    };
    return [
      await time("plainCodec.seal (\"p1:\" prefix)", (i) => plainCodec.seal(at(i), email)),
      await time("plainCodec.open", () => plainCodec.open(at(0), plainText)),
      await time("plainCodec.index (SHA-256)", (i) => plainCodec.index("users.email", `person.${i}@example.org`)),
      await time("codec.seal (sealing codec, total)", (i) => codec.seal(at(i), email)),
      await time("↳ keys.sealingKey (active-DEK lookup in data_keys + invocation count; DEK cached)", () => keys.sealingKey(tenant.id, "user_pii")),
      await time("↳ sealValue + encodeText (AES-256-GCM, 25 B)", (i) => encodeText(sealValue(material, at(i), enc.encode(email)))),
      await time("codec.open (sealing codec, total; DEK cached)", () => codec.open(at(0), sealedText)),
      await time("codec.index (keyed blind index)", (i) => codec.index("users.email", `person.${i}@example.org`)),
    ];
  } finally {
    dropDb(db, path);
  }
}

async function benchRows(ctx: Ctx, n: number, runs: number): Promise<Record<CodecName, { runs: RowFigures[]; median: RowFigures }>> {
  const tenants: Tenant[] = Array.from({ length: ACCOUNTS }, () => ({ id: newId(), roleId: newId() }));
  const at = Date.now();
  const people = Array.from({ length: n }, (_, i) => {
    const t = tenants[i % ACCOUNTS]!;
    return typicalUser(i, t.id, t.roleId, newId(), at);
  });
  // One untimed round on a slice first, so the JIT has compiled both paths before anything is timed.
  log("rows: warm-up round (not reported)");
  for (const name of ["plain", "sealed"] as const) await rowVariant(ctx, name, people.slice(0, BATCH), tenants, 999);
  const out: Record<CodecName, RowFigures[]> = { plain: [], sealed: [] };
  for (let r = 0; r < runs; r++) {
    for (const name of runOrder<CodecName>(["plain", "sealed"], r)) {
      log(`rows: run ${r + 1}/${runs}, ${name}`);
      out[name].push(await rowVariant(ctx, name, people, tenants, 1000 + r));
    }
  }
  const med = (xs: RowFigures[]): RowFigures => ({
    writeRow: median(xs.map((x) => x.writeRow)),
    writeBatch: median(xs.map((x) => x.writeBatch)),
    get: median(xs.map((x) => x.get)),
    find: median(xs.map((x) => x.find)),
    storedBytes: median(xs.map((x) => x.storedBytes)),
  });
  return { plain: { runs: out.plain, median: med(out.plain) }, sealed: { runs: out.sealed, median: med(out.sealed) } };
}

// ---- 2. KMS calls in steady state ---------------------------------------------------------------

interface KmsPhase {
  requests: number;
  wrap: number;
  unwrap: number;
  unwrapByClass: Record<string, number>;
  perSecond: number;
}

interface KmsFigures {
  label: string;
  deks: number;
  warm: KmsPhase;
  afterTtl: KmsPhase;
}

async function phase(counts: KmsCounts, n: number, one: (i: number) => Promise<void>): Promise<KmsPhase> {
  resetCounts(counts);
  const t0 = now();
  for (let i = 0; i < n; i++) await one(i);
  const ms = now() - t0;
  return { requests: n, wrap: counts.wrap, unwrap: counts.unwrap, unwrapByClass: { ...counts.unwrapByClass }, perSecond: perSecond(n, ms) };
}

/** The real app in process: a signed-in Owner loading /admin (session, user, role, settings reads). */
async function kmsThroughApp(): Promise<KmsFigures> {
  const t = await createTestApp();
  try {
    const owner = await t.setup();
    const counts = countInPlace(t.keyProvider);
    const hit = async (): Promise<void> => {
      const res = await owner.browser.get("/admin");
      if (res.status !== 200) throw new Error(`GET /admin: ${res.status}`);
      await res.arrayBuffer();
    };
    for (let i = 0; i < 50; i++) await hit();
    const warm = await phase(counts, KMS_REQUESTS, hit);
    t.clock.advance(DEFAULT_KEY_OPTIONS.cacheTtlMs + 1000);
    const afterTtl = await phase(counts, KMS_REQUESTS, hit);
    return { label: "HTTP GET /admin, signed-in Owner (real app, in process)", deks: t.keys.accountKeys(owner.accountId).length, warm, afterTtl };
  } finally {
    t.cleanup();
  }
}

/** The key service and codec directly: users.get + sealing a name, over 10 accounts × 100 users. */
async function kmsDirect(ctx: Ctx): Promise<KmsFigures> {
  const { db, path } = freshDb(ctx.tmp);
  try {
    const clock = fixedClock();
    const { provider, counts } = countingProvider(ctx.localA);
    const keys = makeKeys(db, provider, clock);
    const codec = await createSealingCodec(keys);
    const repo: UsersRepo = createUsersRepo(db, codec);
    const tenants: Tenant[] = Array.from({ length: ACCOUNTS }, () => ({ id: newId(), roleId: newId() }));
    seedTenants(db, tenants);
    const people = Array.from({ length: ACCOUNTS * 100 }, (_, i) => {
      const t = tenants[i % ACCOUNTS]!;
      return typicalUser(i, t.id, t.roleId, newId(), clock.now());
    });
    for (const u of people) repo.insert(await repo.prepare(u));
    const one = async (i: number): Promise<void> => {
      const u = people[(i * 7919) % people.length]!;
      const r = await repo.get(u.accountId, u.id);
      if (r?.email !== u.email) throw new Error("direct replay: wrong row");
      await codec.seal({ accountId: u.accountId, table: "users", column: "name", rowId: u.id }, `${u.name} (renamed)`);
    };
    for (let i = 0; i < 100; i++) await one(i);
    const warm = await phase(counts, KMS_REQUESTS, one);
    clock.advance(DEFAULT_KEY_OPTIONS.cacheTtlMs + 1000);
    const afterTtl = await phase(counts, KMS_REQUESTS, one);
    const deks = (db.$client.query("SELECT count(*) AS n FROM data_keys WHERE account_id <> 'server'").get() as { n: number }).n;
    return { label: `Key service direct: users.get + seal a name (${ACCOUNTS} accounts × 100 users)`, deks, warm, afterTtl };
  } finally {
    dropDb(db, path);
  }
}

// ---- 3. cold unwrap latency ---------------------------------------------------------------------

interface Latency {
  label: string;
  samples: number;
  unwrapMedianMs: number;
  unwrapP95Ms: number;
  wrapMedianMs: number;
  wrapP95Ms: number;
  note: string;
}

const msSince = (ns: number): number => (Bun.nanoseconds() - ns) / 1e6;

/** providerLatency wraps fresh DEKs, then unwraps each once by calling the provider directly (no DEK cache). */
async function providerLatency(label: string, provider: KeyProvider, note: string): Promise<Latency> {
  const wraps: number[] = [];
  const items: { wrapped: Uint8Array; context: Record<string, string>; key: Uint8Array }[] = [];
  for (let i = 0; i < UNWRAP_SAMPLES + UNWRAP_WARMUP; i++) {
    const key = randomBytes(32);
    const context = { account: `acct-${i}`, dataClass: "user_pii", dek: randomBytes(16).toString("hex"), version: "1" };
    const t = Bun.nanoseconds();
    const wrapped = await provider.wrap(key, context);
    wraps.push(msSince(t));
    items.push({ wrapped, context, key });
  }
  const unwraps: number[] = [];
  for (const it of items) {
    const t = Bun.nanoseconds();
    const key = await provider.unwrap(it.wrapped, it.context);
    unwraps.push(msSince(t));
    if (!Buffer.from(key).equals(it.key)) throw new Error(`${label}: unwrap returned different bytes`);
  }
  const w = wraps.slice(UNWRAP_WARMUP);
  const u = unwraps.slice(UNWRAP_WARMUP);
  return { label, samples: u.length, unwrapMedianMs: median(u), unwrapP95Ms: percentile(u, 95), wrapMedianMs: median(w), wrapP95Ms: percentile(w, 95), note };
}

/** serviceColdOpen times keys.openingKey after wiping the DEK cache: database lookup + provider unwrap. */
async function serviceColdOpen(ctx: Ctx, label: string, provider: KeyProvider, note: string): Promise<Latency> {
  const { db, path } = freshDb(ctx.tmp);
  try {
    const keys = makeKeys(db, provider);
    const ids: string[] = [];
    for (let a = 0; ids.length < UNWRAP_SAMPLES + UNWRAP_WARMUP; a++) {
      for (const cls of DATA_CLASSES) {
        if (ids.length >= UNWRAP_SAMPLES + UNWRAP_WARMUP) break;
        ids.push((await keys.sealingKey(`acct-${a}`, cls)).idHex);
      }
    }
    const opens: number[] = [];
    for (const id of ids) {
      keys.wipeCache();
      const t = Bun.nanoseconds();
      await keys.openingKey(id);
      opens.push(msSince(t));
    }
    const u = opens.slice(UNWRAP_WARMUP);
    return { label, samples: u.length, unwrapMedianMs: median(u), unwrapP95Ms: percentile(u, 95), wrapMedianMs: Number.NaN, wrapP95Ms: Number.NaN, note };
  } finally {
    dropDb(db, path);
  }
}

// ---- 4. rewrap throughput -----------------------------------------------------------------------

interface RewrapRun {
  createPerSecond: number;
  toPkcs11: number;
  backToLocal: number;
  localToLocal: number;
}

async function rewrapRun(ctx: Ctx): Promise<RewrapRun> {
  const { db, path } = freshDb(ctx.tmp);
  try {
    const underA = makeKeys(db, ctx.localA);
    const sampled = new Map<string, Uint8Array>();
    let made = 0;
    gc();
    const t0 = now();
    for (let a = 0; made < REWRAP_DEKS; a++) {
      for (const cls of DATA_CLASSES) {
        if (made >= REWRAP_DEKS) break;
        const dek = await underA.sealingKey(`acct-${a}`, cls);
        if (made % 97 === 0) sampled.set(dek.idHex, dek.key.slice());
        made++;
      }
    }
    const createMs = now() - t0;

    const rewrap = async (to: KeyProvider, from: KeyProvider): Promise<number> => {
      const keys = makeKeys(db, to);
      gc();
      const t = now();
      const n = await keys.rewrapAll(undefined, from);
      const ms = now() - t;
      if (n !== REWRAP_DEKS) throw new Error(`rewrap ${from.name} → ${to.name}: ${n} keys, expected ${REWRAP_DEKS}`);
      // The rewrapped DEKs unwrap to the same bytes under the new provider.
      keys.wipeCache();
      for (const [id, key] of sampled) {
        if (!Buffer.from((await keys.openingKey(id)).key).equals(key)) throw new Error(`rewrap ${from.name} → ${to.name}: DEK ${id} changed`);
      }
      return perSecond(n, ms);
    };
    const toPkcs11 = await rewrap(ctx.pkcs11, ctx.localA);
    const backToLocal = await rewrap(ctx.localA, ctx.pkcs11);
    const localToLocal = await rewrap(ctx.localB, ctx.localA);
    return { createPerSecond: perSecond(REWRAP_DEKS, createMs), toPkcs11, backToLocal, localToLocal };
  } finally {
    dropDb(db, path);
  }
}

// ---- 5. re-encryption throughput ----------------------------------------------------------------

interface ReencRun {
  valueText: number;
  valueBinary: number;
  valueRaw: number;
  streamSeal: number;
  streamOpen: number;
  rawChunkSeal: number;
  rawChunkOpen: number;
  rawOneShotSeal: number;
  rawOneShotOpen: number;
}

function dek(): DekMaterial {
  return { id: randomBytes(16), version: 1, key: randomBytes(32) };
}

/** A ~200-byte chat-message-like plaintext. */
function messageBytes(i: number): Uint8Array {
  const s = JSON.stringify({ from: `user-${i % 97}`, at: 1767225600000 + i, text: "Meeting notes: agreed to move the review to Thursday; ".repeat(3) });
  return new TextEncoder().encode(s.padEnd(VALUE_BYTES, " ").slice(0, VALUE_BYTES));
}

function reencRun(): ReencRun {
  const oldKey = dek();
  const newKey = dek();
  const bindings: AadBinding[] = Array.from({ length: VALUE_ROWS }, (_, i) => ({ accountId: "acct-0001", table: "chat_messages", column: "body", rowId: `msg-${i}` }));
  const plain = bindings.map((_, i) => messageBytes(i));
  const sealedBin = plain.map((p, i) => sealValue(oldKey, bindings[i]!, p));
  const sealedText = sealedBin.map(encodeText);
  const lookup = (): Uint8Array => oldKey.key;

  gc();
  let t0 = now();
  let out = 0;
  for (let i = 0; i < VALUE_ROWS; i++) {
    const pt = openValue(lookup, bindings[i]!, decodeText(sealedText[i]!));
    out += encodeText(sealValue(newKey, bindings[i]!, pt)).length;
  }
  const textMs = now() - t0;
  gc();
  t0 = now();
  for (let i = 0; i < VALUE_ROWS; i++) out += sealValue(newKey, bindings[i]!, openValue(lookup, bindings[i]!, sealedBin[i]!)).length;
  const binMs = now() - t0;
  // Baseline: AES-256-GCM decrypt + encrypt of the same bytes, no header, binding or text form.
  const nonce = randomBytes(12);
  const aad = new Uint8Array(0);
  const rawCt = plain.map((p) => gcmSeal(oldKey.key, nonce, aad, p));
  gc();
  t0 = now();
  for (let i = 0; i < VALUE_ROWS; i++) {
    const pt = gcmOpen(oldKey.key, nonce, aad, rawCt[i]!);
    if (pt === null) throw new Error("raw GCM baseline did not verify");
    out += gcmSeal(newKey.key, randomBytes(12), aad, pt).length;
  }
  const rawMs = now() - t0;
  if (out === 0) throw new Error("unreachable");

  // Chunked stream: 64 MiB fed in 64 KiB pieces, 64 KiB chunks.
  const data = randomBytes(STREAM_BYTES);
  const binding: AadBinding = { accountId: "acct-0001", table: "recordings", column: "content", rowId: "rec-1" };
  gc();
  t0 = now();
  const sealer = createChunkSealer(newKey, binding, { chunkSize: STREAM_CHUNK });
  const parts: Uint8Array[] = [];
  for (let at = 0; at < STREAM_BYTES; at += STREAM_CHUNK) parts.push(...sealer.push(data.subarray(at, at + STREAM_CHUNK)));
  parts.push(...sealer.finish());
  const sealMs = now() - t0;
  gc();
  t0 = now();
  const opener = createChunkOpener(() => newKey.key, binding);
  let opened = 0;
  const firstAndLast: Uint8Array[] = [];
  for (const p of parts) for (const c of opener.push(p)) {
    if (opened === 0) firstAndLast.push(c);
    opened += c.length;
  }
  for (const c of opener.finish()) {
    firstAndLast.push(c);
    opened += c.length;
  }
  const openMs = now() - t0;
  if (opened !== STREAM_BYTES || !Buffer.from(firstAndLast[0]!).equals(data.subarray(0, STREAM_CHUNK)) || !Buffer.from(firstAndLast.at(-1)!).equals(data.subarray(STREAM_BYTES - STREAM_CHUNK))) {
    throw new Error("chunked stream did not round-trip");
  }
  parts.length = 0;

  // Baselines: raw GCM per 64 KiB chunk (same number of GCM invocations, no format), and one GCM over all 64 MiB.
  const chunkAad = randomBytes(48);
  const rawChunks: Uint8Array[] = [];
  const nonces: Uint8Array[] = [];
  gc();
  t0 = now();
  for (let at = 0; at < STREAM_BYTES; at += STREAM_CHUNK) {
    const n = randomBytes(12);
    nonces.push(n);
    rawChunks.push(gcmSeal(newKey.key, n, chunkAad, data.subarray(at, at + STREAM_CHUNK)));
  }
  const rawChunkSealMs = now() - t0;
  gc();
  t0 = now();
  for (let i = 0; i < rawChunks.length; i++) if (gcmOpen(newKey.key, nonces[i]!, chunkAad, rawChunks[i]!) === null) throw new Error("raw chunk did not verify");
  const rawChunkOpenMs = now() - t0;
  rawChunks.length = 0;

  gc();
  t0 = now();
  const oneNonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", newKey.key, oneNonce);
  const ct = Buffer.concat([c.update(data), c.final()]);
  const tag = c.getAuthTag();
  const oneSealMs = now() - t0;
  gc();
  t0 = now();
  const d = createDecipheriv("aes-256-gcm", newKey.key, oneNonce);
  d.setAuthTag(tag);
  const back = Buffer.concat([d.update(ct), d.final()]);
  const oneOpenMs = now() - t0;
  if (back.length !== STREAM_BYTES) throw new Error("one-shot GCM baseline did not round-trip");

  const streamMb = mb(STREAM_BYTES);
  return {
    valueText: perSecond(VALUE_ROWS, textMs),
    valueBinary: perSecond(VALUE_ROWS, binMs),
    valueRaw: perSecond(VALUE_ROWS, rawMs),
    streamSeal: perSecond(streamMb, sealMs),
    streamOpen: perSecond(streamMb, openMs),
    rawChunkSeal: perSecond(streamMb, rawChunkSealMs),
    rawChunkOpen: perSecond(streamMb, rawChunkOpenMs),
    rawOneShotSeal: perSecond(streamMb, oneSealMs),
    rawOneShotOpen: perSecond(streamMb, oneOpenMs),
  };
}

// ---- main -------------------------------------------------------------------------------------------

function sh(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "";
}

/**
 * What this benchmark uses of tests/support/fake-kms-server.ts. It is imported by path at run
 * time, so the benchmark still type-checks and runs while the aws-kms provider and its fake
 * server are absent or changing; a mismatch becomes a "not measured" note, not a crash.
 */
interface FakeKmsModule {
  FakeKms: new () => {
    createKey(opts: { region: string }): string;
    serve(region: string): Promise<{ url: string }>;
    close(): Promise<void>;
  };
}

/** The AWS SDK reads these; the benchmark owns them while the fake server runs, then restores them. */
const AWS_ENV = [
  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
];

/**
 * awsKmsLatency measures the aws-kms provider (the real @aws-sdk/client-kms) against the local
 * fake KMS server in this process, when the provider exists and is registered; otherwise, or
 * when it cannot be opened, it returns the reason it was not measured.
 */
async function awsKmsLatency(ctx: Ctx): Promise<Latency | string> {
  const file = join(ROOT, "src/crypto/kms/aws-kms.ts");
  const fake = join(ROOT, "tests/support/fake-kms-server.ts");
  const factory = (keyProviders as Record<string, KeyProviderFactory>)["aws-kms"];
  if (!existsSync(file) || factory === undefined || !existsSync(fake)) {
    return `aws-kms: not measured (src/crypto/kms/aws-kms.ts ${existsSync(file) ? "exists" : "does not exist"}; ${factory ? "registered" : "not registered"} in keyProviders; tests/support/fake-kms-server.ts ${existsSync(fake) ? "exists" : "does not exist"}).`;
  }
  const saved = new Map(AWS_ENV.map((k) => [k, process.env[k]] as const));
  let kms: InstanceType<FakeKmsModule["FakeKms"]> | null = null;
  let provider: KeyProvider | null = null;
  try {
    // Throwaway test credentials for the fake server (it checks the SigV4 header's shape, not the signature).
    for (const k of AWS_ENV) delete process.env[k];
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(ctx.tmp, "no-aws-credentials");
    process.env.AWS_CONFIG_FILE = join(ctx.tmp, "no-aws-config");
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    process.env.AWS_ACCESS_KEY_ID = "AKIAFAKEBENCHMARK000";
    process.env.AWS_SECRET_ACCESS_KEY = "fake-secret-for-the-local-fake-server";
    const mod = (await import(fake)) as FakeKmsModule;
    kms = new mod.FakeKms();
    const keyId = kms.createKey({ region: "us-east-1" });
    const endpoint = await kms.serve("us-east-1");
    const opts = { ...localOptions(ctx.tmp, "unused"), aws: { keyId, region: "us-east-1", endpoint: endpoint.url } };
    provider = await factory(opts);
    return await providerLatency(
      "aws-kms — local fake server, not AWS",
      provider,
      "real @aws-sdk/client-kms (Encrypt/Decrypt, SigV4) over plain HTTP to tests/support/fake-kms-server.ts on 127.0.0.1 in this same process; no TLS, no network: real AWS KMS adds a network round trip (typically several ms)",
    );
  } catch (err) {
    return `aws-kms: not measured — opening it against the fake server failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await provider?.close?.().catch(() => undefined);
    await kms?.close().catch(() => undefined);
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** What this benchmark uses of tests/support/fake-oci-vault-server.ts (imported by path at run time, like the fake KMS). */
interface FakeOciVaultModule {
  FakeOciVault: {
    start(): Promise<{ endpoint: string; createKey(): string; writeOciConfig(dir: string): { configFile: string }; close(): Promise<void> }>;
  };
}

/**
 * ociVaultLatency measures the oci-vault provider (the real oci-keymanagement KmsCryptoClient with
 * oci-common's request signing) against the local fake OCI Vault crypto endpoint in this process;
 * otherwise it returns the reason it was not measured.
 */
async function ociVaultLatency(ctx: Ctx): Promise<Latency | string> {
  const fake = join(ROOT, "tests/support/fake-oci-vault-server.ts");
  const factory = (keyProviders as Record<string, KeyProviderFactory>)["oci-vault"];
  if (factory === undefined || !existsSync(fake)) return `oci-vault: not measured (${factory ? "registered" : "not registered"} in keyProviders; ${fake} ${existsSync(fake) ? "exists" : "does not exist"}).`;
  let vault: Awaited<ReturnType<FakeOciVaultModule["FakeOciVault"]["start"]>> | null = null;
  let provider: KeyProvider | null = null;
  try {
    const mod = (await import(fake)) as FakeOciVaultModule;
    vault = await mod.FakeOciVault.start();
    const keyId = vault.createKey();
    const { configFile } = vault.writeOciConfig(join(ctx.tmp, "oci"));
    provider = await factory({ ...localOptions(ctx.tmp, "unused"), oci: { keyId, cryptoEndpoint: vault.endpoint, configFile } });
    return await providerLatency(
      "oci-vault — local fake server, not OCI",
      provider,
      "real oci-keymanagement KmsCryptoClient (Encrypt/Decrypt with associatedData, RSA-SHA256 request signatures by oci-common, verified by the fake) over plain HTTP to tests/support/fake-oci-vault-server.ts on 127.0.0.1 in this same process; no TLS, no network: a real vault adds a network round trip",
    );
  } catch (err) {
    return `oci-vault: not measured — opening it against the fake server failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await provider?.close?.().catch(() => undefined);
    await vault?.close().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      rows: { type: "string", default: "5000" },
      runs: { type: "string", default: "3" },
      out: { type: "string", default: "scripts/bench/crypto-results.json" },
    },
  });
  const N = Number(args.rows);
  const RUNS = Number(args.runs);
  if (!Number.isInteger(N) || N < BATCH || !Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--rows must be an integer ≥ ${BATCH} and --runs ≥ 1`);

  const started = now();
  const loadBefore = loadavg();
  const cores = availableParallelism();
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  log(`${cores} cores (${cpu}); load average ${loadBefore.map((n) => n.toFixed(2)).join(" ")}`);

  const tmp = mkdtempSync(join(tmpdir(), "conclave-crypto-bench-"));
  const closers: (() => Promise<void> | void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    const localA = await createKeyProvider("local", localOptions(tmp, "kek-a"));
    const localB = await createKeyProvider("local", localOptions(tmp, "kek-b"));
    const hsm = startSoftHsm();
    closers.unshift(() => hsm.close());
    const token = hsm.initToken("conclave-bench");
    const pinFile = join(tmp, "pin");
    writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
    const pk = (keyLabel: string, mechanism: Pkcs11Options["mechanism"]): Promise<KeyProvider> =>
      createKeyProvider("pkcs11", { ...localOptions(tmp, "unused"), pkcs11: { module: hsm.module, tokenLabel: token.label, keyLabel, pinFile, mechanism, createKeyIfMissing: true } });
    const pkcs11 = await pk("conclave-kek", "aes-gcm");
    closers.unshift(() => pkcs11.close?.());
    const pkcs11Kw = await pk("conclave-kek-kw", "aes-key-wrap");
    closers.unshift(() => pkcs11Kw.close?.());
    const ctx: Ctx = { tmp, localA, localB, hsm, pkcs11, pkcs11Kw };

    // 1
    const rows = await benchRows(ctx, N, RUNS);
    log("rows: where the sealed time goes");
    const steps = await sealedSteps(ctx);
    // 2
    log("KMS calls: real app");
    const kmsApp = await kmsThroughApp();
    log("KMS calls: key service direct");
    const kmsSvc = await kmsDirect(ctx);
    // 3
    log("cold unwrap latency");
    const pkNote = `SoftHSM2 ${sh(["softhsm2-util", "--version"])}, ${SOFTHSM_NOTE}`;
    const awsResult = await awsKmsLatency(ctx);
    const aws = typeof awsResult === "string" ? awsResult : "";
    const ociResult = await ociVaultLatency(ctx);
    const latency: Latency[] = [
      await providerLatency("local key file (AES-256-GCM in process)", localA, "provider.unwrap directly"),
      await providerLatency("pkcs11, SoftHSM2, CKM_AES_GCM", pkcs11, `provider.unwrap directly; ${pkNote}`),
      await providerLatency("pkcs11, SoftHSM2, CKM_AES_KEY_WRAP", pkcs11Kw, `provider.unwrap directly; ${pkNote}`),
      ...(typeof awsResult === "string" ? [] : [awsResult]),
      ...(typeof ociResult === "string" ? [] : [ociResult]),
      await serviceColdOpen(ctx, "key service openingKey, cache wiped, local", localA, "adds the data_keys lookup"),
      await serviceColdOpen(ctx, "key service openingKey, cache wiped, pkcs11 (GCM)", pkcs11, "adds the data_keys lookup"),
    ];
    // 4
    const rewrapRuns: RewrapRun[] = [];
    for (let r = 0; r < RUNS; r++) {
      log(`rewrap: run ${r + 1}/${RUNS}`);
      rewrapRuns.push(await rewrapRun(ctx));
    }
    const rewrap = {
      createPerSecond: median(rewrapRuns.map((r) => r.createPerSecond)),
      toPkcs11: median(rewrapRuns.map((r) => r.toPkcs11)),
      backToLocal: median(rewrapRuns.map((r) => r.backToLocal)),
      localToLocal: median(rewrapRuns.map((r) => r.localToLocal)),
    };
    // 5
    const reencRuns: ReencRun[] = [];
    for (let r = 0; r < RUNS; r++) {
      log(`re-encryption: run ${r + 1}/${RUNS}`);
      reencRuns.push(reencRun());
      gc();
    }
    const m = (k: keyof ReencRun): number => median(reencRuns.map((r) => r[k]));
    const reenc = Object.fromEntries((Object.keys(reencRuns[0]!) as (keyof ReencRun)[]).map((k) => [k, m(k)])) as unknown as ReencRun;

    const loadAfter = loadavg();
    const seconds = (now() - started) / 1000;

    // ---- report ----
    const P = rows.plain.median;
    const S = rows.sealed.median;
    const ops = (x: number): string => fixed(x, 0);
    const goalRatio = (plain: number, sealed: number): string => (Number.isFinite(plain / sealed) ? (plain / sealed <= 1.3 ? "met" : "NOT met") : "not measured");
    const runRange = (k: keyof RowFigures): string => {
      const rs = rows.plain.runs.map((p, i) => p[k] / rows.sealed.runs[i]![k]);
      return `${fixed(Math.min(...rs), 2)}–${fixed(Math.max(...rs), 2)}×`;
    };
    const rowOps: [string, keyof RowFigures][] = [
      ["Write: prepare + insert, one transaction per row", "writeRow"],
      [`Write: prepare + insert, ${BATCH} rows per transaction`, "writeBatch"],
      ["Read: get by id", "get"],
      ["Read: findByEmail (blind index)", "find"],
    ];
    const rowTable = markdownTable(
      ["Operation (users repo)", "plain ops/s", "sealed ops/s", "sealed/plain time", "per-run range", "goal ≤ 1.3×"],
      rowOps.map(([label, k]) => [label, ops(P[k]), ops(S[k]), ratio(P[k], S[k]), runRange(k), goalRatio(P[k], S[k])]),
    );
    const stepTable = markdownTable(["Step (one value)", "µs per call"], steps.map((st) => [st.label, fixed(st.us, 1)]));
    const kmsRow = (f: KmsFigures, which: "warm" | "afterTtl"): string[] => {
      const ph = f[which];
      return [
        f.label,
        which === "warm" ? "warm cache" : `after the ${DEFAULT_KEY_OPTIONS.cacheTtlMs / 60_000}-min TTL (fixed clock advanced)`,
        String(ph.requests),
        String(ph.wrap),
        String(ph.unwrap),
        classes(ph.unwrapByClass),
        fixed(ph.perSecond, 0),
      ];
    };
    const kmsTable = markdownTable(
      ["Workload", "Cache state", "Requests", "KMS wraps", "KMS unwraps", "Unwraps by data class", "req/s"],
      [kmsRow(kmsApp, "warm"), kmsRow(kmsApp, "afterTtl"), kmsRow(kmsSvc, "warm"), kmsRow(kmsSvc, "afterTtl")],
    );
    const latTable = markdownTable(
      ["Provider / path", "Samples", "unwrap median ms", "unwrap p95 ms", "wrap median ms", "wrap p95 ms", "Notes"],
      latency.map((l) => [l.label, String(l.samples), fixed(l.unwrapMedianMs, 3), fixed(l.unwrapP95Ms, 3), fixed(l.wrapMedianMs, 3), fixed(l.wrapP95Ms, 3), l.note]),
    );
    const rewrapTable = markdownTable(
      ["Job", `DEKs/s (${REWRAP_DEKS} DEKs, median of ${RUNS})`, "Per DEK"],
      [
        [`Create DEKs under the local key (wrap + insert + audit entry)`, ops(rewrap.createPerSecond), `${fixed(1000 / rewrap.createPerSecond, 3)} ms`],
        ["rewrapAll local → pkcs11 (SoftHSM2, GCM) — moving to an HSM", ops(rewrap.toPkcs11), `${fixed(1000 / rewrap.toPkcs11, 3)} ms`],
        ["rewrapAll pkcs11 → local — deprovisioning direction", ops(rewrap.backToLocal), `${fixed(1000 / rewrap.backToLocal, 3)} ms`],
        ["rewrapAll local → another local key file (software baseline)", ops(rewrap.localToLocal), `${fixed(1000 / rewrap.localToLocal, 3)} ms`],
      ],
    );
    const rowMb = (rps: number): string => fixed(mb(rps * VALUE_BYTES), 1);
    const reencTable = markdownTable(
      ["Re-encryption (open under old DEK + seal under new)", "rows/s", "MB/s", "vs raw GCM"],
      [
        [`Value format v1, text form as stored ("c1:" base64url), ${VALUE_ROWS} rows × ${VALUE_BYTES} B`, ops(reenc.valueText), rowMb(reenc.valueText), ratio(reenc.valueText, reenc.valueRaw)],
        ["Value format v1, binary", ops(reenc.valueBinary), rowMb(reenc.valueBinary), ratio(reenc.valueBinary, reenc.valueRaw)],
        ["Raw AES-256-GCM decrypt + encrypt per row (baseline)", ops(reenc.valueRaw), rowMb(reenc.valueRaw), "1.00×"],
      ],
    );
    const streamTable = markdownTable(
      [`${mb(STREAM_BYTES)} MB in ${STREAM_CHUNK / 1024} KiB chunks`, "seal MB/s", "open MB/s", "seal vs raw per-chunk GCM", "open vs raw per-chunk GCM"],
      [
        ["Chunked stream format v1", fixed(reenc.streamSeal, 0), fixed(reenc.streamOpen, 0), ratio(reenc.streamSeal, reenc.rawChunkSeal), ratio(reenc.streamOpen, reenc.rawChunkOpen)],
        ["Raw AES-256-GCM per 64 KiB chunk (baseline)", fixed(reenc.rawChunkSeal, 0), fixed(reenc.rawChunkOpen, 0), "1.00×", "1.00×"],
        ["Raw AES-256-GCM, one call over all 64 MB", fixed(reenc.rawOneShotSeal, 0), fixed(reenc.rawOneShotOpen, 0), ratio(reenc.rawOneShotSeal, reenc.rawChunkSeal), ratio(reenc.rawOneShotOpen, reenc.rawChunkOpen)],
      ],
    );
    const goals: Goal[] = [
      ...rowOps.map(([label, k]): Goal => ({ name: `Sealed vs plain: ${label}`, target: "≤ 1.3×", measured: ratio(P[k], S[k]), met: Number.isFinite(P[k] / S[k]) ? P[k] / S[k] <= 1.3 : null })),
      { name: "KMS calls per 1,000 requests, warm cache (real app)", target: "0", measured: String(kmsApp.warm.wrap + kmsApp.warm.unwrap), met: kmsApp.warm.wrap + kmsApp.warm.unwrap === 0 },
      { name: "KMS calls per 1,000 requests, warm cache (key service direct)", target: "0", measured: String(kmsSvc.warm.wrap + kmsSvc.warm.unwrap), met: kmsSvc.warm.wrap + kmsSvc.warm.unwrap === 0 },
    ];
    const goalTable = markdownTable(["Goal (issue #4)", "Target", "Measured", "Status"], goals.map((g) => [g.name, g.target, g.measured, goalMark(g.met)]));
    const commit = sh(["git", "rev-parse", "--short", "HEAD"]);
    const dirty = sh(["git", "status", "--porcelain"]) !== "";
    const machine = {
      cpu,
      cores,
      memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
      platform: `${process.platform} ${process.arch}, kernel ${release()}`,
      bun: Bun.version,
      softhsm: sh(["softhsm2-util", "--version"]),
      loadAverage: { before: loadBefore, after: loadAfter },
    };

    const report = [
      `## Encryption at rest (${new Date().toISOString().slice(0, 10)}, commit ${commit || "unknown"}${dirty ? " + local changes" : ""})`,
      "",
      `Machine: ${cpu}, ${cores} cores, ${machine.memoryGiB} GiB; ${machine.platform}; Bun ${Bun.version}. ` +
        `Load average ${loadBefore.map((n) => n.toFixed(2)).join(" ")} before, ${loadAfter.map((n) => n.toFixed(2)).join(" ")} after. ` +
        `${busyNote(Math.max(loadBefore[0] ?? 0, loadAfter[0] ?? 0), cores)}. Everything runs in one process, single-threaded, on temp files.`,
      "",
      `### Typical user row, sealed vs plaintext`,
      "",
      `${N} users (20-char name, 25-char e-mail, ${ACCOUNTS} accounts) through createUsersRepo with plainCodec vs the sealing codec over the local key provider; ` +
        `a fresh database per variant and run, DEK cache warm, after an untimed warm-up round; median ops/s of ${RUNS} runs, variants alternating order. ` +
        `Stored personal data per row (e-mail + name + index): ${fixed(P.storedBytes, 0)} B plain, ${fixed(S.storedBytes, 0)} B sealed.`,
      "",
      rowTable,
      "",
      "Where the sealed time goes (20,000 calls each after a warm-up; a user row seals two values and computes one index):",
      "",
      stepTable,
      "",
      `### KMS calls in steady state`,
      "",
      `Counting proxy around the key provider (the app's provider object counts its own calls, since assemble builds it from config). ${KMS_REQUESTS} requests after a warm-up; ` +
        `then the fixed clock is moved ${DEFAULT_KEY_OPTIONS.cacheTtlMs / 60_000} min + 1 s forward and ${KMS_REQUESTS} more run. ` +
        `The real app's account holds ${kmsApp.deks} DEKs; the direct workload's accounts hold ${kmsSvc.deks} (one user_pii DEK each). Audit DEKs are pinned in memory and never expire.`,
      "",
      kmsTable,
      "",
      `### Cold unwrap latency (DEK cache bypassed)`,
      "",
      `${UNWRAP_SAMPLES} unwraps, each of a different freshly wrapped DEK, after ${UNWRAP_WARMUP} warm-up calls; the provider's session is already open. ${aws}${typeof ociResult === "string" ? ` ${ociResult}` : ""}`,
      "",
      latTable,
      "",
      `### Rewrap throughput`,
      "",
      `${REWRAP_DEKS} DEKs (accounts × the ${DATA_CLASSES.length} data classes) created under the local key, then keys.rewrapAll(undefined, previous) as src/main.ts runs it, ` +
        `chained on the same database; every rewrap is checked by unwrapping sampled DEKs under the new provider.`,
      "",
      rewrapTable,
      "",
      `### Re-encryption throughput`,
      "",
      `Median of ${RUNS} runs; MB = 2^20 bytes of plaintext. In memory (no database I/O).`,
      "",
      reencTable,
      "",
      streamTable,
      "",
      goalTable,
      "",
      `Notes: goals are informative; the benchmark never fails on them. ${SOFTHSM_NOTE}. Total run time ${fixed(seconds, 0)} s.`,
    ].join("\n");
    console.log(report);

    const out = resolve(ROOT, args.out);
    const results = {
      date: new Date().toISOString(),
      commit,
      dirty,
      machine,
      settings: { rows: N, runs: RUNS, accounts: ACCOUNTS, batch: BATCH, kmsRequests: KMS_REQUESTS, unwrapSamples: UNWRAP_SAMPLES, rewrapDeks: REWRAP_DEKS, valueRows: VALUE_ROWS, valueBytes: VALUE_BYTES, streamBytes: STREAM_BYTES, streamChunk: STREAM_CHUNK, cacheTtlMs: DEFAULT_KEY_OPTIONS.cacheTtlMs },
      rows: { opsPerSecond: rows, goal: "sealed/plain time ≤ 1.3", stepsMicroseconds: steps },
      kms: [kmsApp, kmsSvc],
      unwrapLatency: latency,
      awsKms: aws || "measured against tests/support/fake-kms-server.ts (local fake server, not AWS)",
      rewrapDeksPerSecond: { runs: rewrapRuns, median: rewrap },
      reencryption: { runs: reencRuns, median: reenc, units: { value: "rows/s", stream: "MB/s (2^20 B)" } },
      goals,
      seconds,
      markdown: report,
    };
    writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
    log(`wrote ${out.startsWith(ROOT) ? relative(ROOT, out) : out} in ${fixed(seconds, 0)} s`);
  } finally {
    for (const close of closers) {
      try {
        await close();
      } catch (err) {
        log(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`crypto-bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  });
}
