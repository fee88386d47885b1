// The azure-keyvault provider through the real @azure/keyvault-keys (and @azure/identity) against
// tests/support/fake-keyvault-server.ts (Key Vault REST over HTTPS on 127.0.0.1, with the
// challenge auth flow), with fault injection.
import { CredentialUnavailableError } from "@azure/identity";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { AZURE_SDK_ENV, isolateEnv } from "../../../tests/support/test-env.ts";
import { failure, unavailable } from "../../../tests/support/kms-assertions.ts";
import { FakeKeyVault, FAKE_TENANT, trustingAgent, type FakeKeyVaultFault, type FakeKeyVaultOperation } from "../../../tests/support/fake-keyvault-server.ts";
import { AppError } from "../../shared/errors.ts";
import {
  AZURE_KEYVAULT_WRAP_VERSION,
  azureKeyVaultOptionsFromConfig,
  classifyAzureKeyVaultError,
  createAzureKeyVaultKeyProvider,
  probeAzureKeyVaultKeyProvider,
  type AzureKeyVaultKeyProvider,
} from "./azure-keyvault.ts";
import { createKeyProvider, keyProviders } from "./index.ts";
import { KeyUnavailableError, type AzureKeyVaultOptions, type KeyUnavailableKind, type KeyUnavailableReason } from "./types.ts";

const CTX = { account: "acct-1", data_class: "chat", key_version: "1" };
/** Per-attempt limit for tests; delays are several times longer. */
const TIMEOUT_MS = 250;
const SLOW_MS = 3000;
const TOKEN = "test-token";

isolateEnv(AZURE_SDK_ENV);

/** A TokenCredential like the one the challenge asks for; records the scopes and tenant it was asked for. */
const tokenRequests: { scopes: string[]; tenantId: string | undefined }[] = [];
const staticCredential = {
  async getToken(scopes: string | string[], options?: { tenantId?: string }) {
    tokenRequests.push({ scopes: ([] as string[]).concat(scopes), tenantId: options?.tenantId });
    return { token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

let kv: FakeKeyVault;
let rsaKid: string;
let octKid: string;
const providers: AzureKeyVaultKeyProvider[] = [];

beforeEach(async () => {
  tokenRequests.length = 0;
  kv = await FakeKeyVault.start();
  rsaKid = kv.createKey("conclave-kek");
  octKid = kv.createKey("conclave-aes", { kty: "oct-HSM" });
});
afterEach(async () => {
  for (const p of providers.splice(0)) await p.close();
  await kv.close();
});

async function open(overrides: Partial<AzureKeyVaultOptions> = {}): Promise<AzureKeyVaultKeyProvider> {
  const p = await createAzureKeyVaultKeyProvider({
    dataDir: "/nonexistent",
    localKeyFile: "/nonexistent/k",
    azure: { keyId: rsaKid, credential: staticCredential, httpsAgent: kv.agent, timeoutMs: TIMEOUT_MS, maxAttempts: 2, ...overrides },
  });
  providers.push(p);
  return p;
}

function dek(n = 32): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function kidOf(wrapped: Uint8Array): string {
  const len = (wrapped[1]! << 8) | wrapped[2]!;
  return new TextDecoder().decode(wrapped.subarray(3, 3 + len));
}

function withKid(wrapped: Uint8Array, kid: string): Uint8Array {
  const id = new TextEncoder().encode(kid);
  const rest = wrapped.subarray(3 + ((wrapped[1]! << 8) | wrapped[2]!));
  return Uint8Array.of(1, id.length >> 8, id.length & 0xff, ...id, ...rest);
}

describe("azure-keyvault wrap/unwrap", () => {
  test("RSA-OAEP-256 round trip through the real SDK, after Key Vault's challenge auth flow; the format names the versioned key id", async () => {
    const p = await open();
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    expect(wrapped[0]).toBe(AZURE_KEYVAULT_WRAP_VERSION);
    expect(kidOf(wrapped)).toBe(rsaKid);
    expect(Buffer.from(wrapped).includes(Buffer.from(key))).toBe(false);
    expect(await p.unwrap(wrapped, { key_version: "1", data_class: "chat", account: "acct-1" })).toEqual(key);

    // The first request goes without a token and gets the challenge; the token is asked for the
    // challenge's resource and tenant; every later request carries it.
    expect(kv.requests[0]!.token).toBe("");
    expect(kv.requests[0]!.error).toBe("Unauthorized");
    expect(kv.requests.slice(1).every((r) => r.token === TOKEN && r.error === null)).toBe(true);
    expect(tokenRequests[0]).toEqual({ scopes: ["https://vault.azure.net/.default"], tenantId: FAKE_TENANT });
    const wrapReq = kv.requests.find((r) => r.operation === "wrapkey")!;
    expect(wrapReq.body.alg).toBe("RSA-OAEP-256");
    expect(Buffer.from(String(wrapReq.body.value), "base64url").length).toBe(32 + key.length); // context hash || DEK
    expect(kv.count("unwrapkey")).toBe(1);
  });

  test("A256KW round trip with an oct-HSM key", async () => {
    const p = await open({ keyId: octKid, algorithm: "A256KW" });
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    expect(kidOf(wrapped)).toBe(octKid);
    expect(wrapped.length - 3 - octKid.length).toBe(32 + 32 + 8); // RFC 3394 adds one block
    expect(kv.requests.find((r) => r.operation === "wrapkey")!.body.alg).toBe("A256KW");
    expect(await p.unwrap(wrapped, CTX)).toEqual(key);
    await unavailable(p.unwrap(wrapped, { ...CTX, account: "acct-2" }), "denied", "invalid_ciphertext");
  });

  test("a key id without version wraps under the latest version and stores it; after a rotation both unwrap", async () => {
    const latest = `${kv.vaultUrl}/keys/conclave-kek`;
    const p = await open({ keyId: latest });
    const k1 = dek();
    const w1 = await p.wrap(k1, CTX);
    expect(kidOf(w1)).toBe(rsaKid);
    const v2 = kv.rotateKey("conclave-kek");
    const k2 = dek();
    const w2 = await p.wrap(k2, CTX);
    expect(kidOf(w2)).toBe(v2);
    expect(await p.unwrap(w1, CTX)).toEqual(k1);
    expect(await p.unwrap(w2, CTX)).toEqual(k2);
    expect(p.describe().keyId).toBe(latest);
    expect(p.describe().note).toContain("latest version");
  });

  test("the context is bound: another account, data class or key version fails as denied", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    for (const ctx of [{ ...CTX, account: "acct-2" }, { ...CTX, data_class: "totp" }, { ...CTX, key_version: "2" }, {}]) {
      const e = await unavailable(p.unwrap(wrapped, ctx), "denied", "invalid_ciphertext");
      expect(e.keyId).toBe(rsaKid);
      expect(e.message).toContain("encryption context");
    }
  });

  test("a wrapped key sent to another key of the vault (wrong key) → denied, Key Vault's BadParameter verbatim", async () => {
    const otherKid = kv.createKey("other-kek");
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    const e = await unavailable(p.unwrap(withKid(wrapped, otherKid), CTX), "denied", "invalid_ciphertext");
    expect(e.keyId).toBe(otherKid);
    expect(e.providerMessage).toContain("BadParameter (HTTP 400)");
  });

  test("a transient fault is retried by the SDK and the call succeeds", async () => {
    const p = await open({ maxAttempts: 3 });
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    kv.failNext(1, { type: "status", status: 503 }, ["unwrapkey"]);
    kv.failNext(1, { type: "throttle" }, ["unwrapkey"]);
    expect(await p.unwrap(wrapped, CTX)).toEqual(key);
    expect(kv.count("unwrapkey")).toBe(3);
  });

  test("damaged, foreign or other-vault bytes are refused without calling Key Vault", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    const before = kv.requests.length;
    const unversioned = withKid(wrapped, `${kv.vaultUrl}/keys/conclave-kek`);
    for (const bad of [new Uint8Array(0), Uint8Array.of(2, ...wrapped.subarray(1)), wrapped.subarray(0, 10), Uint8Array.of(1, 0, 3, 0x61, 0x62, 0x63, 9), unversioned]) {
      const err = await failure(p.unwrap(bad, CTX));
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("internal");
      expect((err as AppError).message).toContain("not an azure-keyvault wrapped key");
    }
    // A wrapped key naming a key in another vault (altered storage): no request, so no token goes there.
    const foreign = withKid(wrapped, rsaKid.replace("conclave-test.vault.azure.net", "attacker.vault.azure.net"));
    const err = await failure(p.unwrap(foreign, CTX));
    expect((err as AppError).code).toBe("internal");
    expect((err as AppError).message).toContain("attacker.vault.azure.net");
    expect(kv.requests.length).toBe(before);
  });

  test("a DEK of the wrong size is refused before any request", async () => {
    const p = await open();
    expect(await failure(p.wrap(new Uint8Array(0), CTX))).toBeInstanceOf(RangeError);
    expect(await failure(p.wrap(new Uint8Array(159), CTX))).toBeInstanceOf(RangeError);
    const aes = await open({ keyId: octKid, algorithm: "A256KW" });
    expect(await failure(aes.wrap(new Uint8Array(20), CTX))).toBeInstanceOf(RangeError);
    expect(kv.requests.length).toBe(0);
  });
});

describe("azure-keyvault faults → KeyUnavailableError kind", () => {
  type Case = { name: string; setup: () => void; kind: KeyUnavailableKind; reason: KeyUnavailableReason; attempts: number; says: string };
  const ops: FakeKeyVaultOperation[] = ["wrapkey", "unwrapkey"];
  const fault = (f: FakeKeyVaultFault) => () => kv.failNext(100, f, ops);
  const cases: Case[] = [
    { name: "timeout", setup: fault({ type: "delay", ms: SLOW_MS }), kind: "unreachable", reason: "timeout", attempts: 2, says: "ETIMEDOUT" },
    { name: "500", setup: fault({ type: "status", status: 500 }), kind: "unreachable", reason: "server_error", attempts: 2, says: "InternalServerError (HTTP 500)" },
    { name: "503", setup: fault({ type: "status", status: 503 }), kind: "unreachable", reason: "server_error", attempts: 2, says: "ServiceUnavailable (HTTP 503)" },
    { name: "throttling (429)", setup: fault({ type: "throttle" }), kind: "unreachable", reason: "throttled", attempts: 2, says: "Throttled (HTTP 429)" },
    { name: "AccessDenied (403)", setup: () => kv.setDeny("conclave-kek", true), kind: "denied", reason: "access_denied", attempts: 1, says: "does not have keys" },
    { name: "disabled key", setup: () => kv.setEnabled("conclave-kek", false), kind: "denied", reason: "disabled", attempts: 1, says: "is not allowed on a disabled key" },
    { name: "not found", setup: () => kv.deleteKey("conclave-kek"), kind: "denied", reason: "not_found", attempts: 1, says: "KeyNotFound (HTTP 404)" },
  ];

  for (const c of cases) {
    test(`${c.name} → ${c.kind} (${c.reason}) on wrap and unwrap, after at most maxAttempts attempts`, async () => {
      const p = await open({ maxAttempts: 2 });
      const wrapped = await p.wrap(dek(), CTX);
      const before = { wrap: kv.count("wrapkey"), unwrap: kv.count("unwrapkey") };
      c.setup();
      const e1 = await unavailable(p.wrap(dek(), CTX), c.kind, c.reason);
      const e2 = await unavailable(p.unwrap(wrapped, CTX), c.kind, c.reason);
      expect(e1.keyId).toBe(rsaKid);
      expect(e1.providerMessage).toContain(c.says);
      expect(e2.providerMessage).toContain(c.says);
      expect(kv.count("wrapkey") - before.wrap).toBe(c.attempts);
      expect(kv.count("unwrapkey") - before.unwrap).toBe(c.attempts);
    });
  }

  test("a token Key Vault rejects (401) → denied (reason credentials)", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    kv.acceptTokens = new Set(["someone-else"]);
    const e = await unavailable(p.unwrap(wrapped, CTX), "denied", "credentials");
    expect(e.providerMessage).toContain("Unauthorized (HTTP 401)");
  });

  test("connection refused (server closed) → unreachable", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    await kv.close();
    const e = await unavailable(p.unwrap(wrapped, CTX), "unreachable", "connection");
    expect(e.providerMessage).toContain("ECONNREFUSED");
  });

  test("a vault certificate that is not trusted → unreachable, nothing sent", async () => {
    const agent = trustingAgent(null);
    try {
      const p = await open({ httpsAgent: agent });
      const e = await unavailable(p.wrap(dek(), CTX), "unreachable", "connection");
      expect(e.providerMessage).toMatch(/certificate|CERT|VERIFY/i);
      expect(kv.requests.length).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  test("retries are bounded: a vault that never answers in time gets exactly maxAttempts requests per call", async () => {
    for (const maxAttempts of [1, 3]) {
      const p = await open({ maxAttempts });
      await p.wrap(dek(), CTX); // challenge and key fetch done
      kv.failNext(100, { type: "delay", ms: SLOW_MS }, ["wrapkey"]);
      const before = kv.count("wrapkey");
      await unavailable(p.wrap(dek(), CTX), "unreachable", "timeout");
      expect(kv.count("wrapkey") - before).toBe(maxAttempts);
      kv.clearFaults();
    }
  });
});

describe("azure-keyvault health", () => {
  test("ok: getKey and a round trip, for both algorithms; describe then names the key type", async () => {
    const p = await open();
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain("enabled, RSA-HSM");
    expect(h.detail).toContain("round trip ok");
    expect(kv.requests.filter((r) => r.token !== "").map((r) => r.operation).sort()).toEqual(["get", "get", "unwrapkey", "wrapkey"]);
    expect(p.describe()).toMatchObject({ provider: "azure-keyvault", keyId: rsaKid, hsmGrade: true });
    expect(p.describe().note).toContain("RSA-HSM: HSM-protected");

    const aes = await open({ keyId: octKid, algorithm: "A256KW" });
    expect(await aes.health()).toMatchObject({ ok: true });
    expect(aes.describe().note).toContain("oct-HSM");
  });

  test("a software-protected RSA key is usable and described as such", async () => {
    const soft = kv.createKey("soft-kek", { kty: "RSA" });
    const p = await open({ keyId: soft });
    expect((await p.health()).ok).toBe(true);
    expect(p.describe().note).toContain("software-protected");
  });

  const failing: { name: string; setup: () => void | Promise<void>; kind: KeyUnavailableKind; reason: KeyUnavailableReason; options?: () => Partial<AzureKeyVaultOptions> }[] = [
    { name: "timeout", setup: () => kv.failNext(100, { type: "delay", ms: SLOW_MS }), kind: "unreachable", reason: "timeout" },
    { name: "closed server", setup: () => kv.close(), kind: "unreachable", reason: "connection" },
    { name: "throttling", setup: () => kv.failNext(100, { type: "throttle" }), kind: "unreachable", reason: "throttled" },
    { name: "disabled", setup: () => kv.setEnabled("conclave-kek", false), kind: "denied", reason: "disabled" },
    { name: "access denied", setup: () => kv.setDeny("conclave-kek", true), kind: "denied", reason: "access_denied" },
    { name: "not found", setup: () => kv.deleteKey("conclave-kek"), kind: "denied", reason: "not_found" },
    { name: "key_ops without wrapKey", setup: () => {}, kind: "denied", reason: "invalid_key_usage", options: () => ({ keyId: kv.createKey("sign-only", { keyOps: ["sign", "verify"] }) }) },
    { name: "RSA key with A256KW", setup: () => {}, kind: "denied", reason: "invalid_key_usage", options: () => ({ algorithm: "A256KW" }) },
  ];
  for (const c of failing) {
    test(`${c.name} → not ok, ${c.kind} (${c.reason}), never throws`, async () => {
      const p = await open({ maxAttempts: 1, ...c.options?.() });
      await c.setup();
      const h = await p.health();
      expect(h.ok).toBe(false);
      if (h.ok) return;
      expect({ kind: h.kind, reason: h.reason }).toEqual({ kind: c.kind, reason: c.reason });
      expect(h.detail).toContain(p.describe().keyId);
      expect(h.providerMessage?.length).toBeGreaterThan(0);
    });
  }

  test("probeAzureKeyVaultKeyProvider never throws: bad options and failures come back as not ok", async () => {
    const bad = await probeAzureKeyVaultKeyProvider({ dataDir: "/x", localKeyFile: "/x/k", azure: { keyId: "conclave-kek" } });
    expect(bad.ok).toBe(false);
    expect(bad.detail).toContain("key identifier");
    const good = await probeAzureKeyVaultKeyProvider({ dataDir: "/x", localKeyFile: "/x/k", azure: { keyId: rsaKid, credential: staticCredential, httpsAgent: kv.agent, timeoutMs: TIMEOUT_MS } });
    expect(good).toMatchObject({ ok: true });
  });
});

describe("azure-keyvault credentials (never from Conclave's config)", () => {
  test("a credential that cannot get a token → denied (reason credentials); no authenticated request reaches the vault", async () => {
    const failing = {
      async getToken(): Promise<never> {
        throw new CredentialUnavailableError("EnvironmentCredential is unavailable. No underlying credential could be used.");
      },
    };
    const p = await open({ credential: failing });
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toContain("CredentialUnavailableError");
    expect(e.message).toContain("standard chain");
    expect(await p.health()).toMatchObject({ ok: false, kind: "denied", reason: "credentials" });
    expect(kv.count()).toBe(0);
  });

  test('"default" is DefaultAzureCredential: with no credentials in its chain → denied (reason credentials)', async () => {
    process.env.AZURE_TOKEN_CREDENTIALS = "EnvironmentCredential"; // only the environment: no IMDS probe, no CLI
    try {
      const p = await open({ credential: "default" });
      const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
      expect(e.providerMessage).toMatch(/CredentialUnavailableError|AggregateAuthenticationError/);
      expect(kv.count()).toBe(0);
    } finally {
      delete process.env.AZURE_TOKEN_CREDENTIALS;
    }
  });
});

describe("azure-keyvault options and registry", () => {
  test('is registered as "azure-keyvault" and opens through createKeyProvider', async () => {
    expect(Object.hasOwn(keyProviders, "azure-keyvault")).toBe(true);
    const p = (await createKeyProvider("azure-keyvault", {
      dataDir: "/x",
      localKeyFile: "/x/k",
      azure: { keyId: rsaKid, credential: staticCredential, httpsAgent: kv.agent },
    })) as AzureKeyVaultKeyProvider;
    providers.push(p);
    expect(p.name).toBe("azure-keyvault");
    expect(p.hsmGrade).toBe(true);
    expect((await p.health()).ok).toBe(true);
    const missing = await failure(createKeyProvider("azure-keyvault", { dataDir: "/x", localKeyFile: "/x/k" }));
    expect((missing as AppError).code).toBe("invalid_input");
  });

  test("describe says where the key and the credentials come from; close is idempotent and final", async () => {
    const p = await open();
    const d = p.describe();
    expect(d.note).toContain("conclave-test.vault.azure.net");
    expect(d.note).toContain("DefaultAzureCredential");
    const hsm = await open({ keyId: "https://contoso-pool.managedhsm.azure.net/keys/kek" });
    expect(hsm.describe().note).toContain("Managed HSM");
    await p.close();
    await p.close();
    const err = await failure(p.wrap(dek(), CTX));
    expect((err as AppError).message).toContain("was closed");
  });

  test("bad options are refused with invalid_input", async () => {
    const bad: Partial<AzureKeyVaultOptions>[] = [
      { keyId: "conclave-kek" },
      { keyId: "http://contoso.vault.azure.net/keys/kek" },
      { keyId: "https://contoso.vault.azure.net/secrets/kek" },
      { keyId: "https://contoso.vault.azure.net/keys/kek/v1/extra" },
      { keyId: "https://contoso.vault.azure.net/keys/kek?x=1" },
      { keyId: "https://user:pw@contoso.vault.azure.net/keys/kek" },
      { algorithm: "RSA1_5" as AzureKeyVaultOptions["algorithm"] },
      { timeoutMs: 0 },
      { maxAttempts: 0 },
      { maxAttempts: 1.5 },
      { credential: "environment" as "default" },
    ];
    for (const o of bad) {
      const err = await failure(open(o));
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("invalid_input");
    }
    await open({ keyId: "https://contoso.vault.azure.net/keys/kek/0123456789abcdef0123456789abcdef" });
  });

  test("azureKeyVaultOptionsFromConfig maps the [azure_keyvault] section", () => {
    expect(azureKeyVaultOptionsFromConfig({ key_id: "", algorithm: "", timeout_ms: 5000, max_attempts: 3 })).toBeUndefined();
    expect(azureKeyVaultOptionsFromConfig({ key_id: " https://contoso.vault.azure.net/keys/kek ", algorithm: "", timeout_ms: 2000, max_attempts: 4 })).toEqual({
      keyId: "https://contoso.vault.azure.net/keys/kek",
      algorithm: undefined,
      timeoutMs: 2000,
      maxAttempts: 4,
      credential: "default",
    });
    expect(azureKeyVaultOptionsFromConfig({ key_id: "https://p.managedhsm.azure.net/keys/k", algorithm: "A256KW", timeout_ms: 1, max_attempts: 1 })?.algorithm).toBe("A256KW");
    expect(() => azureKeyVaultOptionsFromConfig({ key_id: "https://contoso.vault.azure.net/keys/kek", algorithm: "RSA1_5", timeout_ms: 1, max_attempts: 1 })).toThrow("RSA-OAEP-256 or A256KW");
  });
});

describe("classifyAzureKeyVaultError", () => {
  const rest = (status: number, code: string, message: string, inner?: string) =>
    Object.assign(new Error(message), { name: "RestError", statusCode: status, code, details: { error: { code, message, innerError: inner ? { code: inner } : undefined } } });
  const cases: [unknown, "wrapKey" | "unwrapKey", KeyUnavailableKind, KeyUnavailableReason][] = [
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { name: "RestError", code: "ECONNREFUSED" }), "wrapKey", "unreachable", "connection"],
    [Object.assign(new Error("getaddrinfo ENOTFOUND x.vault.azure.net"), { name: "RestError", code: "ENOTFOUND" }), "wrapKey", "unreachable", "connection"],
    [Object.assign(new Error("No answer"), { name: "RestError", code: "ETIMEDOUT" }), "wrapKey", "unreachable", "timeout"],
    [rest(429, "Throttled", "too many requests"), "wrapKey", "unreachable", "throttled"],
    [rest(500, "InternalServerError", "x"), "unwrapKey", "unreachable", "server_error"],
    [rest(503, "ServiceUnavailable", "x"), "unwrapKey", "unreachable", "server_error"],
    [rest(401, "Unauthorized", "AKV10032: Invalid issuer."), "wrapKey", "denied", "credentials"],
    [rest(403, "Forbidden", "The user, group or application … does not have keys wrapKey permission", "AccessDenied"), "wrapKey", "denied", "access_denied"],
    [rest(403, "Forbidden", "Caller is not authorized to perform action on resource.", "ForbiddenByRbac"), "wrapKey", "denied", "access_denied"],
    [rest(403, "Forbidden", "Operation unwrapKey is not allowed on a disabled key.", "KeyDisabled"), "unwrapKey", "denied", "disabled"],
    [rest(403, "Forbidden", "Operation unwrapKey is not allowed on a disabled key."), "unwrapKey", "denied", "disabled"],
    [rest(404, "KeyNotFound", "A key with (name/id) kek was not found in this key vault."), "unwrapKey", "denied", "not_found"],
    [rest(400, "BadParameter", "Unable to unwrap"), "unwrapKey", "denied", "invalid_ciphertext"],
    [rest(400, "BadParameter", "Algorithm A256KW is not supported for key type RSA-HSM."), "wrapKey", "denied", "refused"],
    [Object.assign(new Error("EnvironmentCredential is unavailable."), { name: "CredentialUnavailableError" }), "wrapKey", "denied", "credentials"],
    [Object.assign(new Error("ClientSecretCredential authentication failed."), { name: "AuthenticationError" }), "wrapKey", "denied", "credentials"],
    [new Error("Operation wrapKey is not supported on key https://x.vault.azure.net/keys/k/1"), "wrapKey", "denied", "invalid_key_usage"],
    [new Error("Key https://x.vault.azure.net/keys/k/1 expired at 2020-01-01T00:00:00.000Z"), "wrapKey", "denied", "invalid_state"],
    [new Error("The challenge resource 'evil.example' does not match the requested domain."), "wrapKey", "denied", "refused"],
    [new Error("something odd"), "wrapKey", "unreachable", "connection"],
  ];
  test("maps SDK errors to unreachable or denied, with the service's text verbatim", () => {
    for (const [err, op, kind, reason] of cases) {
      const c = classifyAzureKeyVaultError(err, op);
      expect({ message: (err as Error).message, kind: c.kind, reason: c.reason }).toEqual({ message: (err as Error).message, kind, reason });
    }
    expect(classifyAzureKeyVaultError(rest(403, "Forbidden", "Operation unwrapKey is not allowed on a disabled key.", "KeyDisabled"), "unwrapKey").providerMessage).toBe(
      "Forbidden (HTTP 403, KeyDisabled): Operation unwrapKey is not allowed on a disabled key.",
    );
  });
});
