// The aws-kms provider through the real @aws-sdk/client-kms against tests/support/fake-kms-server.ts
// (KMS JSON 1.1 over HTTP on 127.0.0.1), with fault injection.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { failure, unavailable } from "../../../tests/support/kms-assertions.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeKms, type FakeKmsEndpoint, type FakeKmsFault } from "../../../tests/support/fake-kms-server.ts";
import { AppError } from "../../shared/errors.ts";
import { AWS_KMS_WRAP_VERSION, awsKmsOptionsFromConfig, classifyAwsKmsError, createAwsKmsKeyProvider, probeAwsKmsKeyProvider, type AwsKmsKeyProvider } from "./aws-kms.ts";
import { createKeyProvider, keyProviders } from "./index.ts";
import { KeyUnavailableError, type AwsKmsOptions, type KeyUnavailableKind, type KeyUnavailableReason } from "./types.ts";

const ACCESS_KEY = "AKIDCONCLAVETEST0001";
const CTX = { account: "acct-1", data_class: "chat", key_version: "1" };
/** Per-attempt limit for tests; delays are several times longer. */
const TIMEOUT_MS = 250;
const SLOW_MS = 3000;

// The SDK's credential chain and config read these; the tests own them while they run.
const AWS_ENV = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_KMS",
  "AWS_MAX_ATTEMPTS",
  "AWS_RETRY_MODE",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_ARN",
];
const savedEnv = new Map<string, string | undefined>();
let homeDir = "";

beforeAll(() => {
  homeDir = mkdtempSync(join(tmpdir(), "conclave-aws-kms-"));
  for (const k of AWS_ENV) savedEnv.set(k, process.env[k]);
});
afterAll(() => {
  for (const [k, v] of savedEnv) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(homeDir, { recursive: true, force: true });
});

/** Credentials from the environment only: no shared files, no instance metadata. */
function envCredentials(): void {
  for (const k of AWS_ENV) delete process.env[k];
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(homeDir, "no-credentials");
  process.env.AWS_CONFIG_FILE = join(homeDir, "no-config");
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = "test-secret-not-checked";
}

let kms: FakeKms;
let east: FakeKmsEndpoint;
let west: FakeKmsEndpoint;
let primaryArn: string;
let replicaArn: string;
const providers: AwsKmsKeyProvider[] = [];

beforeEach(async () => {
  envCredentials();
  kms = new FakeKms();
  primaryArn = kms.createKey({ region: "us-east-1", multiRegion: true });
  replicaArn = kms.replicateKey(primaryArn, "eu-west-1");
  east = await kms.serve("us-east-1");
  west = await kms.serve("eu-west-1");
});
afterEach(async () => {
  for (const p of providers.splice(0)) await p.close();
  await kms.close();
});

async function open(overrides: Partial<AwsKmsOptions> = {}): Promise<AwsKmsKeyProvider> {
  const p = await createAwsKmsKeyProvider({
    dataDir: "/nonexistent",
    localKeyFile: "/nonexistent/k",
    aws: { keyId: primaryArn, region: "us-east-1", endpoint: east.url, timeoutMs: TIMEOUT_MS, maxAttempts: 2, ...overrides },
  });
  providers.push(p);
  return p;
}

/** A provider with the eu-west-1 replica configured. */
function openWithReplica(overrides: Partial<AwsKmsOptions> = {}): Promise<AwsKmsKeyProvider> {
  return open({ replicaKeyIds: [replicaArn], regionEndpoints: { "eu-west-1": west.url }, ...overrides });
}

function dek(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

function ops(ep: FakeKmsEndpoint, operation?: string): number {
  return ep.requests.filter((r) => operation === undefined || r.operation === operation).length;
}

describe("aws-kms wrap/unwrap", () => {
  test("round trip through the real SDK; the context is the KMS EncryptionContext; the wrapped format names the key ARN", async () => {
    const p = await open();
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    expect(wrapped[0]).toBe(AWS_KMS_WRAP_VERSION);
    const arnLen = (wrapped[1]! << 8) | wrapped[2]!;
    expect(new TextDecoder().decode(wrapped.subarray(3, 3 + arnLen))).toBe(primaryArn);
    expect(Buffer.from(wrapped).includes(Buffer.from(key))).toBe(false);
    expect(await p.unwrap(wrapped, { key_version: "1", data_class: "chat", account: "acct-1" })).toEqual(key);

    const enc = east.requests.find((r) => r.operation === "Encrypt")!;
    expect(enc.body.KeyId).toBe(primaryArn);
    expect(enc.body.EncryptionContext).toEqual(CTX);
    expect(enc.accessKeyId).toBe(ACCESS_KEY);
    const dec = east.requests.find((r) => r.operation === "Decrypt")!;
    expect(dec.body.KeyId).toBe(primaryArn);
    expect(dec.body.EncryptionContext).toEqual(CTX);
    expect(ops(west)).toBe(0);
  });

  test("an alias ARN wraps under the key it points at and stores that key's ARN", async () => {
    const aliasArn = kms.createAlias("alias/conclave", primaryArn);
    const p = await open({ keyId: aliasArn });
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    expect(Buffer.from(wrapped).includes(Buffer.from(primaryArn))).toBe(true);
    expect(await p.unwrap(wrapped, CTX)).toEqual(key);
    expect(p.describe().keyId).toBe(aliasArn);
    expect(p.describe().note).toContain(primaryArn);
  });

  test("generateDataKey returns a KMS-made key and its wrapped form, which unwrap opens", async () => {
    const p = await open();
    const { plaintextKey, wrapped } = await p.generateDataKey(CTX);
    expect(plaintextKey.length).toBe(32);
    expect(ops(east, "GenerateDataKey")).toBe(1);
    expect(await p.unwrap(wrapped, CTX)).toEqual(plaintextKey);
    await unavailable(p.unwrap(wrapped, { ...CTX, data_class: "recordings" }), "denied", "invalid_ciphertext");
  });

  test("the context is bound: another account, data class or key version fails as denied", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    for (const ctx of [{ ...CTX, account: "acct-2" }, { ...CTX, data_class: "totp" }, { ...CTX, key_version: "2" }, {}]) {
      const e = await unavailable(p.unwrap(wrapped, ctx), "denied", "invalid_ciphertext");
      expect(e.keyId).toBe(primaryArn);
      expect(e.message).toContain("encryption context");
    }
  });

  test("a transient fault is retried by the SDK and the call succeeds", async () => {
    const p = await open({ maxAttempts: 3 });
    east.failNext(1, { type: "status", status: 503 });
    east.failNext(1, { type: "throttle" });
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    expect(ops(east, "Encrypt")).toBe(3);
    expect(await p.unwrap(wrapped, CTX)).toEqual(key);
  });

  test("damaged or foreign bytes are refused without calling KMS", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    const before = east.requests.length;
    for (const bad of [new Uint8Array(0), Uint8Array.of(2, ...wrapped.subarray(1)), wrapped.subarray(0, 10), Uint8Array.of(1, 0, 3, 0x61, 0x62, 0x63, 9)]) {
      const err = await failure(p.unwrap(bad, CTX));
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("internal");
      expect((err as AppError).message).toContain("not an aws-kms wrapped key");
    }
    // A wrapped key naming another AWS account's key (altered storage) is not sent to KMS.
    const foreign = new TextEncoder().encode(primaryArn.replace("111122223333", "999988887777"));
    const blob = wrapped.subarray(3 + ((wrapped[1]! << 8) | wrapped[2]!));
    const tampered = Uint8Array.of(1, foreign.length >> 8, foreign.length & 0xff, ...foreign, ...blob);
    const err = await failure(p.unwrap(tampered, CTX));
    expect((err as AppError).code).toBe("internal");
    expect((err as AppError).message).toContain("999988887777");
    expect(east.requests.length).toBe(before);
  });

  test("a DEK of the wrong size is refused", async () => {
    const p = await open();
    expect(await failure(p.wrap(new Uint8Array(0), CTX))).toBeInstanceOf(RangeError);
    expect(await failure(p.wrap(new Uint8Array(1025), CTX))).toBeInstanceOf(RangeError);
    expect(await failure(p.generateDataKey(CTX, 0))).toBeInstanceOf(RangeError);
    expect(east.requests.length).toBe(0);
  });
});

describe("aws-kms faults → KeyUnavailableError kind", () => {
  type Case = { name: string; setup: () => void; kind: KeyUnavailableKind; reason: KeyUnavailableReason; attempts: number; says?: string };
  const fault = (f: FakeKmsFault) => () => east.failNext(100, f);
  const cases: Case[] = [
    { name: "timeout", setup: fault({ type: "delay", ms: SLOW_MS }), kind: "unreachable", reason: "timeout", attempts: 2 },
    { name: "500", setup: fault({ type: "status", status: 500 }), kind: "unreachable", reason: "server_error", attempts: 2, says: "KMSInternalException" },
    { name: "503", setup: fault({ type: "status", status: 503 }), kind: "unreachable", reason: "server_error", attempts: 2 },
    { name: "throttling", setup: fault({ type: "throttle" }), kind: "unreachable", reason: "throttled", attempts: 2, says: "ThrottlingException: Rate exceeded" },
    {
      name: "KeyUnavailableException",
      setup: fault({ type: "status", status: 500, errorType: "KeyUnavailableException", message: "The request was rejected because the specified KMS key is not available." }),
      kind: "unreachable",
      reason: "key_unavailable",
      attempts: 2,
    },
    { name: "AccessDenied", setup: () => kms.setDeny(primaryArn, true), kind: "denied", reason: "access_denied", attempts: 1, says: "is not authorized to perform: kms:" },
    { name: "disabled key", setup: () => kms.setKeyState(primaryArn, "Disabled"), kind: "denied", reason: "disabled", attempts: 1, says: "DisabledException" },
    { name: "pending deletion", setup: () => kms.setKeyState(primaryArn, "PendingDeletion"), kind: "denied", reason: "pending_deletion", attempts: 1, says: "is pending deletion" },
    { name: "not found", setup: () => kms.deleteKey(primaryArn), kind: "denied", reason: "not_found", attempts: 1, says: "NotFoundException" },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.kind} (${c.reason}) on wrap and unwrap, after at most maxAttempts attempts`, async () => {
      const p = await open({ maxAttempts: 2 });
      const wrapped = await p.wrap(dek(), CTX);
      const before = { enc: ops(east, "Encrypt"), dec: ops(east, "Decrypt") };
      c.setup();
      const e1 = await unavailable(p.wrap(dek(), CTX), c.kind, c.reason);
      const e2 = await unavailable(p.unwrap(wrapped, CTX), c.kind, c.reason);
      expect(e1.keyId).toBe(primaryArn);
      if (c.says) {
        expect(e1.providerMessage).toContain(c.says);
        expect(e2.providerMessage).toContain(c.says);
      }
      expect(ops(east, "Encrypt") - before.enc).toBe(c.attempts);
      expect(ops(east, "Decrypt") - before.dec).toBe(c.attempts);
    });
  }

  test("connection refused (endpoint closed) → unreachable", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    await east.close();
    const e = await unavailable(p.unwrap(wrapped, CTX), "unreachable", "connection");
    expect(e.providerMessage).toContain("ECONNREFUSED");
  });

  test("retries are bounded: a server that never answers in time gets exactly maxAttempts requests per call", async () => {
    for (const maxAttempts of [1, 3]) {
      const p = await open({ maxAttempts });
      east.failNext(100, { type: "delay", ms: SLOW_MS });
      const before = ops(east, "Encrypt");
      await unavailable(p.wrap(dek(), CTX), "unreachable", "timeout");
      expect(ops(east, "Encrypt") - before).toBe(maxAttempts);
      east.clearFaults();
    }
  });
});

describe("aws-kms multi-region replicas", () => {
  test("primary endpoint down (closed) → unwrap succeeds through the replica region", async () => {
    const p = await openWithReplica();
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    await east.close();
    expect(await p.unwrap(wrapped, CTX)).toEqual(key);
    const dec = west.requests.find((r) => r.operation === "Decrypt")!;
    expect(dec.body.KeyId).toBe(replicaArn);
    expect(dec.error).toBeNull();
  });

  test("primary answering 503 → unwrap and wrap go to the replica; the replica's wrap unwraps in either region", async () => {
    const p = await openWithReplica();
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    east.failNext(100, { type: "status", status: 503 });
    expect(await p.unwrap(wrapped, CTX)).toEqual(key);

    const key2 = dek();
    const wrapped2 = await p.wrap(key2, CTX);
    expect(Buffer.from(wrapped2).includes(Buffer.from(replicaArn))).toBe(true);
    east.clearFaults();
    await west.close();
    // Stored under the replica ARN; eu-west-1 is now down, so the primary region opens it.
    expect(await p.unwrap(wrapped2, CTX)).toEqual(key2);
    expect(east.requests.filter((r) => r.operation === "Decrypt" && r.error === null).at(-1)!.body.KeyId).toBe(primaryArn);
  });

  test("a denied primary is never routed around", async () => {
    const p = await openWithReplica();
    const wrapped = await p.wrap(dek(), CTX);
    kms.setKeyState(primaryArn, "Disabled");
    await unavailable(p.unwrap(wrapped, CTX), "denied", "disabled");
    await unavailable(p.wrap(dek(), CTX), "denied", "disabled");
    expect(ops(west)).toBe(0);
  });

  test("primary unreachable and replica denied → denied (the replica's answer)", async () => {
    const p = await openWithReplica();
    const wrapped = await p.wrap(dek(), CTX);
    await east.close();
    kms.setKeyState(replicaArn, "PendingDeletion");
    const e = await unavailable(p.unwrap(wrapped, CTX), "denied", "pending_deletion");
    expect(e.keyId).toBe(replicaArn);
  });

  test("every region unreachable → unreachable, naming the replicas tried", async () => {
    const p = await openWithReplica({ maxAttempts: 1 });
    const wrapped = await p.wrap(dek(), CTX);
    east.failNext(100, { type: "delay", ms: SLOW_MS });
    await west.close();
    const e = await unavailable(p.unwrap(wrapped, CTX), "unreachable", "timeout");
    expect(e.keyId).toBe(primaryArn);
    expect(e.message).toContain(replicaArn);
  });

  test("options: replicas must be multi-region replicas of the key, in other regions", async () => {
    const single = kms.createKey({ region: "us-east-1" });
    const otherMrk = kms.createKey({ region: "us-west-2", multiRegion: true });
    const bad: Partial<AwsKmsOptions>[] = [
      { keyId: single, replicaKeyIds: [replicaArn] },
      { replicaKeyIds: [otherMrk] },
      { replicaKeyIds: [primaryArn] },
      { replicaKeyIds: [replicaArn.replace("111122223333", "999988887777")] },
      { replicaKeyIds: ["arn:aws:kms:eu-west-1:111122223333:alias/x"] },
    ];
    for (const o of bad) {
      const err = await failure(open(o));
      expect((err as AppError).code).toBe("invalid_input");
    }
  });
});

describe("aws-kms health", () => {
  test("ok: DescribeKey and a round trip in every region", async () => {
    const p = await openWithReplica();
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain("primary us-east-1: key");
    expect(h.detail).toContain("replica eu-west-1: key");
    for (const ep of [east, west]) {
      expect(ep.requests.map((r) => r.operation).sort()).toEqual(["Decrypt", "DescribeKey", "Encrypt"]);
      expect(ep.requests.every((r) => r.error === null)).toBe(true);
    }
  });

  test("primary unreachable, replica fine → ok through the replica", async () => {
    const p = await openWithReplica();
    await east.close();
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain("through replica eu-west-1");
  });

  const failing: { name: string; setup: () => void | Promise<void>; kind: KeyUnavailableKind; reason: KeyUnavailableReason }[] = [
    { name: "timeout", setup: () => east.failNext(100, { type: "delay", ms: SLOW_MS }), kind: "unreachable", reason: "timeout" },
    { name: "closed endpoint", setup: () => east.close(), kind: "unreachable", reason: "connection" },
    { name: "throttling", setup: () => east.failNext(100, { type: "throttle" }), kind: "unreachable", reason: "throttled" },
    { name: "disabled", setup: () => kms.setKeyState(primaryArn, "Disabled"), kind: "denied", reason: "disabled" },
    { name: "pending deletion", setup: () => kms.setKeyState(primaryArn, "PendingDeletion"), kind: "denied", reason: "pending_deletion" },
    { name: "access denied", setup: () => kms.setDeny(primaryArn, true), kind: "denied", reason: "access_denied" },
    { name: "not found", setup: () => kms.deleteKey(primaryArn), kind: "denied", reason: "not_found" },
  ];
  for (const c of failing) {
    test(`${c.name} → not ok, ${c.kind} (${c.reason}), never throws`, async () => {
      const p = await open({ maxAttempts: 1 });
      await c.setup();
      const h = await p.health();
      expect(h.ok).toBe(false);
      if (h.ok) return;
      expect({ kind: h.kind, reason: h.reason }).toEqual({ kind: c.kind, reason: c.reason });
      expect(h.detail).toContain(primaryArn);
      expect(h.providerMessage?.length).toBeGreaterThan(0);
    });
  }

  test("a disabled replica is reported but the key stays ok while the primary works", async () => {
    const p = await openWithReplica();
    kms.setKeyState(replicaArn, "Disabled");
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain("replica eu-west-1: AWS KMS key");
    expect(h.detail).toContain("disabled");
  });

  test("probeAwsKmsKeyProvider never throws: bad options and failures come back as not ok", async () => {
    const bad = await probeAwsKmsKeyProvider({ dataDir: "/x", localKeyFile: "/x/k", aws: { keyId: "alias/conclave" } });
    expect(bad.ok).toBe(false);
    expect(bad.detail).toContain("full key ARN");
    const good = await probeAwsKmsKeyProvider({ dataDir: "/x", localKeyFile: "/x/k", aws: { keyId: primaryArn, endpoint: east.url, timeoutMs: TIMEOUT_MS } });
    expect(good).toMatchObject({ ok: true });
  });
});

describe("aws-kms credentials (never from Conclave's config)", () => {
  test("no credentials anywhere → denied (reason credentials), before any request reaches KMS", async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const p = await open();
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toContain("CredentialsProviderError");
    expect(e.message).toContain("standard chain");
    const h = await p.health();
    expect(h).toMatchObject({ ok: false, kind: "denied", reason: "credentials" });
    expect(east.requests.length).toBe(0);
  });

  test("a shared credentials file named by AWS_SHARED_CREDENTIALS_FILE is used", async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const file = join(homeDir, "credentials");
    writeFileSync(file, "[default]\naws_access_key_id = AKIDFROMSHAREDFILE01\naws_secret_access_key = from-file\n", { mode: 0o600 });
    process.env.AWS_SHARED_CREDENTIALS_FILE = file;
    const p = await open();
    const key = dek();
    expect(await p.unwrap(await p.wrap(key, CTX), CTX)).toEqual(key);
    expect(east.requests.every((r) => r.accessKeyId === "AKIDFROMSHAREDFILE01")).toBe(true);
  });

  test("credentials KMS does not recognise → denied (reason credentials)", async () => {
    kms.acceptAccessKeys = new Set(["AKIDSOMEONEELSE00001"]);
    const p = await open();
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toContain("UnrecognizedClientException");
  });
});

describe("aws-kms options and registry", () => {
  test("is registered as \"aws-kms\" and opens through createKeyProvider", async () => {
    expect(Object.hasOwn(keyProviders, "aws-kms")).toBe(true);
    const p = (await createKeyProvider("aws-kms", { dataDir: "/x", localKeyFile: "/x/k", aws: { keyId: primaryArn, endpoint: east.url } })) as AwsKmsKeyProvider;
    providers.push(p);
    expect(p.name).toBe("aws-kms");
    expect(p.hsmGrade).toBe(true);
    expect(p.describe()).toMatchObject({ provider: "aws-kms", keyId: primaryArn, hsmGrade: true });
    expect((await p.health()).ok).toBe(true);
    const missing = await failure(createKeyProvider("aws-kms", { dataDir: "/x", localKeyFile: "/x/k" }));
    expect((missing as AppError).code).toBe("invalid_input");
  });

  test("describe names the regions and says where credentials come from", async () => {
    const p = await openWithReplica();
    const d = p.describe();
    expect(d.note).toContain("us-east-1");
    expect(d.note).toContain("eu-west-1");
    expect(d.note).toContain("default chain");
    await p.close();
    await p.close();
    const err = await failure(p.wrap(dek(), CTX));
    expect((err as AppError).message).toContain("was closed");
  });

  test("bad options are refused with invalid_input", async () => {
    const bad: Partial<AwsKmsOptions>[] = [
      { keyId: "alias/conclave" },
      { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" },
      { region: "eu-west-1" },
      { endpoint: "http://kms.example.com" },
      { endpoint: "not a url" },
      { endpoint: "https://user:pw@kms.example.com" },
      { timeoutMs: 0 },
      { maxAttempts: 0 },
      { maxAttempts: 1.5 },
    ];
    for (const o of bad) {
      const err = await failure(open(o));
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("invalid_input");
    }
    await open({ endpoint: "https://vpce-0123.kms.us-east-1.vpce.amazonaws.com" });
  });

  test("awsKmsOptionsFromConfig maps the [aws_kms] section", () => {
    expect(
      awsKmsOptionsFromConfig({ key_id: "", replica_key_ids: "", region: "", endpoint: "", region_endpoints: "", timeout_ms: 5000, max_attempts: 3 }),
    ).toBeUndefined();
    expect(
      awsKmsOptionsFromConfig({
        key_id: primaryArn,
        replica_key_ids: `${replicaArn}, arn:aws:kms:ap-south-1:111122223333:key/mrk-0`,
        region: "",
        endpoint: "https://a.example",
        region_endpoints: "eu-west-1=https://b.example ap-south-1=https://c.example",
        timeout_ms: 2000,
        max_attempts: 4,
      }),
    ).toEqual({
      keyId: primaryArn,
      replicaKeyIds: [replicaArn, "arn:aws:kms:ap-south-1:111122223333:key/mrk-0"],
      region: undefined,
      endpoint: "https://a.example",
      regionEndpoints: { "eu-west-1": "https://b.example", "ap-south-1": "https://c.example" },
      timeoutMs: 2000,
      maxAttempts: 4,
    });
    expect(() => awsKmsOptionsFromConfig({ key_id: primaryArn, replica_key_ids: "", region: "", endpoint: "", region_endpoints: "eu-west-1", timeout_ms: 1, max_attempts: 1 })).toThrow(
      "REGION=URL",
    );
  });
});

describe("classifyAwsKmsError", () => {
  const sdk = (name: string, status: number, message = "m") => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, $fault: status >= 500 ? "server" : "client" });
  const cases: [unknown, KeyUnavailableKind, KeyUnavailableReason][] = [
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "unreachable", "connection"],
    [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "unreachable", "connection"],
    [Object.assign(new Error("getaddrinfo ENOTFOUND kms.x"), { code: "ENOTFOUND" }), "unreachable", "connection"],
    [Object.assign(new Error("t"), { name: "TimeoutError", code: "ETIMEDOUT" }), "unreachable", "timeout"],
    [sdk("ThrottlingException", 400), "unreachable", "throttled"],
    [sdk("LimitExceededException", 400), "unreachable", "throttled"],
    [sdk("KMSInternalException", 500), "unreachable", "server_error"],
    [sdk("DependencyTimeoutException", 503), "unreachable", "server_error"],
    [sdk("Unknown", 502, "UnknownError"), "unreachable", "server_error"],
    [sdk("KeyUnavailableException", 500), "unreachable", "key_unavailable"],
    [sdk("AccessDeniedException", 400), "denied", "access_denied"],
    [sdk("DisabledException", 400), "denied", "disabled"],
    [sdk("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:111122223333:key/x is pending deletion."), "denied", "pending_deletion"],
    [sdk("KMSInvalidStateException", 400, "arn:... is unavailable."), "denied", "invalid_state"],
    [sdk("NotFoundException", 400), "denied", "not_found"],
    [sdk("InvalidCiphertextException", 400, "UnknownError"), "denied", "invalid_ciphertext"],
    [sdk("IncorrectKeyException", 400), "denied", "incorrect_key"],
    [sdk("InvalidKeyUsageException", 400), "denied", "invalid_key_usage"],
    [sdk("UnrecognizedClientException", 400), "denied", "credentials"],
    [sdk("ExpiredTokenException", 400), "denied", "credentials"],
    [Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }), "denied", "credentials"],
    [sdk("Unknown", 404, "UnknownError"), "denied", "refused"],
  ];
  test("maps SDK errors to unreachable or denied", () => {
    for (const [err, kind, reason] of cases) {
      const c = classifyAwsKmsError(err);
      expect({ name: (err as Error).name, kind: c.kind, reason: c.reason }).toEqual({ name: (err as Error).name, kind, reason });
    }
    expect(classifyAwsKmsError(sdk("InvalidCiphertextException", 400, "UnknownError")).providerMessage).toBe("InvalidCiphertextException");
    expect(classifyAwsKmsError(sdk("AccessDeniedException", 400, "User: x is not authorized")).providerMessage).toBe("AccessDeniedException: User: x is not authorized");
  });
});
