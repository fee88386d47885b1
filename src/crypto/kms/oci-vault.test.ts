// The oci-vault provider through the real oci-keymanagement KmsCryptoClient (and oci-common's
// config-file authentication and request signing) against tests/support/fake-oci-vault-server.ts
// (the OCI KMS crypto REST API on 127.0.0.1, verifying OCI HTTP signatures), with fault injection.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { isolateEnv } from "../../../tests/support/test-env.ts";
import { failure, unavailable } from "../../../tests/support/kms-assertions.ts";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeOciVault, type FakeOciFault, type FakeOciKeyState } from "../../../tests/support/fake-oci-vault-server.ts";
import { AppError } from "../../shared/errors.ts";
import { createKeyProvider } from "./index.ts";
import { createOciVaultKeyProvider, OCI_VAULT_WRAP_VERSION, probeOciVaultKeyProvider, type OciVaultKeyProvider } from "./oci-vault.ts";
import { KeyUnavailableError, type KeyUnavailableKind, type KeyUnavailableReason, type OciVaultOptions } from "./types.ts";

const CTX = { account: "acct-1", class: "chat", version: "1" };
/** Per-attempt limit for tests; delays are several times longer. */
const TIMEOUT_MS = 250;
const SLOW_MS = 3000;

// The OCI SDK reads these; the tests own them while they run.
isolateEnv(["OCI_CONFIG_FILE", "OCI_CLI_CONFIG_FILE", "OCI_REGION", "OCI_SDK_DEFAULT_RETRY_ENABLED", "OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED", "OCI_RESOURCE_PRINCIPAL_VERSION"]);

let vault: FakeOciVault;
let keyId: string;
let dir: string;
let configFile: string;
const providers: OciVaultKeyProvider[] = [];

beforeEach(async () => {
  vault = await FakeOciVault.start();
  keyId = vault.createKey();
  dir = mkdtempSync(join(tmpdir(), "conclave-oci-"));
  configFile = vault.writeOciConfig(dir).configFile;
});
afterEach(async () => {
  for (const p of providers.splice(0)) await p.close();
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(overrides: Partial<OciVaultOptions> = {}): Promise<OciVaultKeyProvider> {
  const p = await createOciVaultKeyProvider({
    dataDir: "/nonexistent",
    localKeyFile: "/nonexistent/k",
    oci: { keyId, cryptoEndpoint: vault.endpoint, configFile, timeoutMs: TIMEOUT_MS, maxAttempts: 2, ...overrides },
  });
  providers.push(p);
  return p;
}

function dek(n = 32): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function ocidOf(wrapped: Uint8Array): string {
  return new TextDecoder().decode(wrapped.subarray(3, 3 + ((wrapped[1]! << 8) | wrapped[2]!)));
}

function withOcid(wrapped: Uint8Array, ocid: string): Uint8Array {
  const id = new TextEncoder().encode(ocid);
  const rest = wrapped.subarray(3 + ((wrapped[1]! << 8) | wrapped[2]!));
  return Uint8Array.of(1, id.length >> 8, id.length & 0xff, ...id, ...rest);
}

describe("oci-vault wrap/unwrap", () => {
  test("round trip through the real SDK with signed requests; associatedData carries the context; the format names the key OCID", async () => {
    const p = await open();
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    expect(wrapped[0]).toBe(OCI_VAULT_WRAP_VERSION);
    expect(ocidOf(wrapped)).toBe(keyId);
    expect(Buffer.from(wrapped).includes(Buffer.from(key))).toBe(false);
    expect(await p.unwrap(wrapped, { version: "1", class: "chat", account: "acct-1" })).toEqual(key);

    expect(vault.requests.map((r) => [r.operation, r.status])).toEqual([
      ["encrypt", 200],
      ["decrypt", 200],
    ]);
    for (const r of vault.requests) {
      // The fake verified each RSA-SHA256 signature with the test user's API key.
      expect(r.principal).toBe(`${vault.tenancy}/${vault.user}/${vault.fingerprint}`);
      expect(r.signedHeaders).toEqual(expect.arrayContaining(["x-date", "(request-target)", "host", "content-type", "content-length", "x-content-sha256"]));
      expect(r.body.keyId).toBe(keyId);
      expect(r.body.associatedData).toEqual(CTX);
    }
    const enc = vault.requests[0]!.body;
    expect(Buffer.from(String(enc.plaintext), "base64")).toEqual(Buffer.from(key));
    expect(enc.loggingContext).toEqual(CTX);
  });

  test("the context is bound: another account, data class or key version fails as denied", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    for (const ctx of [{ ...CTX, account: "acct-2" }, { ...CTX, class: "totp" }, { ...CTX, version: "2" }, {}]) {
      const e = await unavailable(p.unwrap(wrapped, ctx), "denied", "invalid_ciphertext");
      expect(e.keyId).toBe(keyId);
      expect(e.message).toContain("encryption context");
      expect(e.providerMessage).toStartWith("InvalidParameter (HTTP 400, opc-request-id ");
    }
  });

  test("after a key rotation in the vault, DEKs wrapped under the old and the new version both unwrap", async () => {
    const p = await open();
    const k1 = dek();
    const w1 = await p.wrap(k1, CTX);
    vault.rotateKey(keyId);
    const k2 = dek();
    const w2 = await p.wrap(k2, CTX);
    expect(await p.unwrap(w1, CTX)).toEqual(k1);
    expect(await p.unwrap(w2, CTX)).toEqual(k2);
  });

  test("a wrapped key sent to another key of the vault → denied (invalid_ciphertext), OCI's message verbatim", async () => {
    const other = vault.createKey();
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    const e = await unavailable(p.unwrap(withOcid(wrapped, other), CTX), "denied", "invalid_ciphertext");
    expect(e.keyId).toBe(other);
    expect(e.providerMessage).toContain("The ciphertext is invalid");
  });

  test("damaged bytes, another provider's bytes and keys of another region are refused without calling OCI", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    const before = vault.requests.length;
    const foreign = withOcid(wrapped, keyId.replace(".iad.", ".phx."));
    for (const bad of [new Uint8Array(0), Uint8Array.of(2, ...wrapped.subarray(1)), wrapped.subarray(0, 10), withOcid(wrapped, "ocid1.vault.oc1.iad.x.y"), foreign]) {
      const err = await failure(p.unwrap(bad, CTX));
      expect(err).toBeInstanceOf(AppError);
      expect(err).not.toBeInstanceOf(KeyUnavailableError);
      expect((err as AppError).code).toBe("internal");
    }
    expect(((await failure(p.unwrap(foreign, CTX))) as Error).message).toContain("only uses keys of realm oc1, region iad");
    expect(vault.requests.length).toBe(before);
  });

  test("a DEK of the wrong size is refused before any request", async () => {
    const p = await open();
    expect(await failure(p.wrap(new Uint8Array(0), CTX))).toBeInstanceOf(RangeError);
    expect(await failure(p.wrap(new Uint8Array(1025), CTX))).toBeInstanceOf(RangeError);
    expect(vault.requests.length).toBe(0);
  });

  test("a transient fault is retried by the SDK and the call succeeds", async () => {
    const p = await open({ maxAttempts: 3 });
    vault.failNext(1, { type: "status", status: 503 });
    vault.failNext(1, { type: "throttle" });
    const key = dek();
    const wrapped = await p.wrap(key, CTX);
    expect(vault.requests.map((r) => r.status)).toEqual([503, 429, 200]);
    expect(await p.unwrap(wrapped, CTX)).toEqual(key);
  });

  test("the SDK's console chatter about failed and retried requests is dropped; other warnings still get through", async () => {
    const saved = console.warn;
    const seen: string[] = [];
    console.warn = (...args: unknown[]): void => {
      seen.push(args.map(String).join(" "));
    };
    try {
      const p = await open({ maxAttempts: 2 });
      vault.failNext(2, { type: "status", status: 503 });
      await unavailable(p.wrap(dek(), CTX), "unreachable", "server_error");
      vault.deny(keyId);
      await unavailable(p.wrap(dek(), CTX), "denied", "not_found");
      expect(vault.count("encrypt")).toBe(3);
      console.warn("a warning of the application");
    } finally {
      console.warn = saved;
    }
    expect(seen).toEqual(["a warning of the application"]);
  });

  test("no SDK circuit breaker: after many failed calls the next call goes straight through", async () => {
    const p = await open({ maxAttempts: 1 });
    vault.failNext(12, { type: "status", status: 500 });
    for (let i = 0; i < 12; i++) await unavailable(p.wrap(dek(), CTX), "unreachable", "server_error");
    const key = dek();
    expect(await p.unwrap(await p.wrap(key, CTX), CTX)).toEqual(key);
    expect(vault.count("encrypt")).toBe(13);
  });
});

describe("oci-vault faults → KeyUnavailableError kind", () => {
  const faults: { name: string; fault: FakeOciFault; kind: KeyUnavailableKind; reason: KeyUnavailableReason; attempts: number; text: RegExp }[] = [
    { name: "timeout", fault: { type: "delay", ms: SLOW_MS }, kind: "unreachable", reason: "timeout", attempts: 2, text: /^ETIMEDOUT: No answer from OCI Vault within 250 ms/ },
    { name: "500", fault: { type: "status", status: 500 }, kind: "unreachable", reason: "server_error", attempts: 2, text: /^InternalServerError \(HTTP 500, opc-request-id [0-9A-F]{32}\): Internal error occurred$/ },
    { name: "503", fault: { type: "status", status: 503 }, kind: "unreachable", reason: "server_error", attempts: 2, text: /^ServiceUnavailable \(HTTP 503/ },
    { name: "429 throttling", fault: { type: "throttle" }, kind: "unreachable", reason: "throttled", attempts: 2, text: /^TooManyRequests \(HTTP 429/ },
    { name: "403 NotAuthorized", fault: { type: "status", status: 403, code: "NotAuthorized", message: "You are not authorized to use this key." }, kind: "denied", reason: "access_denied", attempts: 1, text: /^NotAuthorized \(HTTP 403.*not authorized/ },
    { name: "401 NotAuthenticated", fault: { type: "status", status: 401, code: "NotAuthenticated", message: "The required information to complete authentication was not provided or was incorrect." }, kind: "denied", reason: "credentials", attempts: 1, text: /^NotAuthenticated \(HTTP 401/ },
  ];
  for (const c of faults) {
    test(`${c.name} → ${c.kind} (${c.reason}) on wrap and unwrap, after at most maxAttempts attempts`, async () => {
      const p = await open();
      const wrapped = await p.wrap(dek(), CTX);
      vault.requests.length = 0;
      vault.failNext(c.attempts, c.fault, ["encrypt"]);
      const e = await unavailable(p.wrap(dek(), CTX), c.kind, c.reason);
      expect(e.providerMessage).toMatch(c.text);
      expect(vault.count("encrypt")).toBe(c.attempts);
      vault.failNext(c.attempts, c.fault, ["decrypt"]);
      await unavailable(p.unwrap(wrapped, CTX), c.kind, c.reason);
      expect(vault.count("decrypt")).toBe(c.attempts);
    });
  }

  const states: { state: FakeOciKeyState; kind: KeyUnavailableKind; reason: KeyUnavailableReason }[] = [
    { state: "DISABLED", kind: "denied", reason: "disabled" },
    { state: "DISABLING", kind: "denied", reason: "disabled" },
    { state: "PENDING_DELETION", kind: "denied", reason: "pending_deletion" },
    { state: "SCHEDULING_DELETION", kind: "denied", reason: "pending_deletion" },
    { state: "DELETED", kind: "denied", reason: "not_found" },
    { state: "ENABLING", kind: "unreachable", reason: "key_unavailable" },
    { state: "UPDATING", kind: "unreachable", reason: "key_unavailable" },
  ];
  for (const c of states) {
    test(`key ${c.state} → ${c.kind} (${c.reason}) on wrap and unwrap; enabled again → usable`, async () => {
      const p = await open();
      const key = dek();
      const wrapped = await p.wrap(key, CTX);
      vault.setKeyState(keyId, c.state);
      const e = await unavailable(p.wrap(dek(), CTX), c.kind, c.reason);
      if (c.state !== "DELETED") expect(e.providerMessage).toContain(`IncorrectState (HTTP 409`);
      await unavailable(p.unwrap(wrapped, CTX), c.kind, c.reason);
      vault.setKeyState(keyId, "ENABLED");
      expect(await p.unwrap(wrapped, CTX)).toEqual(key);
    });
  }

  test("no IAM policy for the key (NotAuthorizedOrNotFound) → denied, not retried; a key OCID that does not exist → the same", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    vault.deny(keyId);
    vault.requests.length = 0;
    const e = await unavailable(p.unwrap(wrapped, CTX), "denied", "not_found");
    expect(e.providerMessage).toMatch(/^NotAuthorizedOrNotFound \(HTTP 404, opc-request-id [0-9A-F]{32}\): Authorization failed or requested resource not found\.$/);
    expect(e.message).toContain("no IAM policy lets this principal use it");
    expect(vault.requests.length).toBe(1);
    const missing = await open({ keyId: `ocid1.key.oc1.iad.${vault.vaultPart}.doesnotexist` });
    await unavailable(missing.wrap(dek(), CTX), "denied", "not_found");
  });

  test("an endpoint whose TLS certificate is not trusted → unreachable, nothing reaches the vault (verification stays on)", async () => {
    const tlsVault = await FakeOciVault.start({ tls: true });
    try {
      const tlsKey = tlsVault.createKey();
      const p = await open({ keyId: tlsKey, cryptoEndpoint: tlsVault.endpoint, configFile: tlsVault.writeOciConfig(join(dir, "tls")).configFile });
      expect(tlsVault.endpoint).toStartWith("https://");
      const e = await unavailable(p.wrap(dek(), CTX), "unreachable", "connection");
      expect(e.providerMessage).toMatch(/cert|self.signed|verify/i);
      expect(tlsVault.requests.length).toBe(0);
    } finally {
      await tlsVault.close();
    }
  });

  test("connection refused (vault gone) → unreachable (connection)", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), CTX);
    await vault.close();
    await unavailable(p.wrap(dek(), CTX), "unreachable", "connection");
    await unavailable(p.unwrap(wrapped, CTX), "unreachable", "connection");
  });
});

describe("oci-vault credentials (never from Conclave's config)", () => {
  test("an OCI config file that does not exist → denied (credentials) without any request; works once the file is there", async () => {
    const later = join(dir, "later", "config");
    const p = await open({ configFile: later });
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toContain(later);
    expect(vault.requests.length).toBe(0);
    vault.writeOciConfig(join(dir, "later"));
    const key = dek();
    expect(await p.unwrap(await p.wrap(key, CTX), CTX)).toEqual(key);
  });

  test("a profile the OCI config file does not have → denied (credentials), naming the profile", async () => {
    const p = await open({ profile: "CONCLAVE" });
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toContain("CONCLAVE");
    expect(vault.requests.length).toBe(0);
    // The same file with that profile works.
    const named = vault.writeOciConfig(join(dir, "named"), { profile: "CONCLAVE" });
    const q = await open({ configFile: named.configFile, profile: "CONCLAVE" });
    expect((await q.health()).ok).toBe(true);
  });

  test("an API key OCI does not know (signature does not verify) → denied (credentials), not retried", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const bad = vault.writeOciConfig(join(dir, "bad"), { privateKeyPem: other });
    const p = await open({ configFile: bad.configFile, maxAttempts: 3 });
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toMatch(/^NotAuthenticated \(HTTP 401.*signature does not verify/);
    expect(vault.requests.length).toBe(1);
  });

  test("a key_file that is not a private key → denied (credentials) without any request", async () => {
    const broken = vault.writeOciConfig(join(dir, "broken"));
    writeFileSync(broken.keyFile, "not a key\n", { mode: 0o600 });
    const p = await open({ configFile: broken.configFile });
    await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(vault.requests.length).toBe(0);
  });

  test("instance principal outside OCI → denied (credentials) with the SDK's explanation; nothing reaches the vault", async () => {
    const p = await open({ auth: "instance_principal", configFile: undefined });
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toContain("instance principal");
    expect(vault.requests.length).toBe(0);
  });

  test("resource principal outside OCI (no OCI_RESOURCE_PRINCIPAL_* environment) → denied (credentials)", async () => {
    const p = await open({ auth: "resource_principal", configFile: undefined });
    const e = await unavailable(p.wrap(dek(), CTX), "denied", "credentials");
    expect(e.providerMessage).toContain("resource principal");
    expect(vault.requests.length).toBe(0);
  });
});

describe("oci-vault health, probe and describe", () => {
  test("health: an Encrypt/Decrypt round trip; describe names key, endpoint and where credentials come from, no secret", async () => {
    const p = await open();
    const h = await p.health();
    expect(h).toEqual({ ok: true, detail: expect.stringContaining(`OCI Vault key ${keyId} usable`) });
    expect(vault.requests.map((r) => r.operation)).toEqual(["encrypt", "decrypt"]);
    expect(vault.requests[0]!.body.associatedData).toEqual({ purpose: "conclave-health-check" });
    const d = p.describe();
    expect(d).toMatchObject({ provider: "oci-vault", keyId, hsmGrade: true });
    expect(d.note).toContain(vault.endpoint);
    expect(d.note).toContain(configFile);
    expect(d.note).toContain("protection mode HSM");
    expect(JSON.stringify(d)).not.toContain("PRIVATE KEY");
  });

  test("with the management endpoint, health also reads GetKey: state, algorithm, protection mode; describe then says HSM or not", async () => {
    const p = await open({ managementEndpoint: vault.endpoint });
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain('key "conclave-kek" ENABLED, AES-256, protection mode HSM; Encrypt/Decrypt');
    expect(vault.requests.map((r) => r.operation)).toEqual(["getkey", "encrypt", "decrypt"]);
    expect(vault.requests[0]!.principal).not.toBe("");
    expect(p.describe()).toMatchObject({ hsmGrade: true, note: expect.stringContaining("protection mode HSM: it never leaves the vault's HSMs") });

    const soft = await open({ keyId: vault.createKey({ name: "soft", protectionMode: "SOFTWARE" }), managementEndpoint: vault.endpoint });
    expect(soft.describe().hsmGrade).toBe(true); // unknown until GetKey answered
    expect((await soft.health()).ok).toBe(true);
    expect(soft.hsmGrade).toBe(false);
    expect(soft.describe()).toMatchObject({ hsmGrade: false, note: expect.stringContaining("protection mode SOFTWARE") });
  });

  test("GetKey decides before any encryption: DISABLED, PENDING_DELETION, an RSA key", async () => {
    const p = await open({ managementEndpoint: vault.endpoint });
    vault.setKeyState(keyId, "DISABLED");
    expect(await p.health()).toMatchObject({ ok: false, kind: "denied", reason: "disabled", providerMessage: `lifecycleState DISABLED (GetKey at ${vault.endpoint})` });
    vault.setKeyState(keyId, "PENDING_DELETION");
    expect(await p.health()).toMatchObject({ ok: false, kind: "denied", reason: "pending_deletion" });
    vault.setKeyState(keyId, "ENABLING");
    expect(await p.health()).toMatchObject({ ok: false, kind: "unreachable", reason: "key_unavailable" });
    expect(vault.count("encrypt")).toBe(0);
    const rsa = await open({ keyId: vault.createKey({ algorithm: "RSA" }), managementEndpoint: vault.endpoint });
    expect(await rsa.health()).toMatchObject({ ok: false, kind: "denied", reason: "invalid_key_usage", providerMessage: "the key's algorithm is RSA, not AES" });
    // Without GetKey, the RSA key fails at Encrypt.
    const rsaNoMgmt = await open({ keyId: rsa.describe().keyId });
    expect(await rsaNoMgmt.health()).toMatchObject({ ok: false, kind: "denied", reason: "refused" });
  });

  test("GetKey refused or down (a policy granting only KEY_ENCRYPT/KEY_DECRYPT) only adds a note: the round trip decides", async () => {
    const p = await open({ managementEndpoint: vault.endpoint });
    vault.failNext(1, { type: "status", status: 404, code: "NotAuthorizedOrNotFound", message: "Authorization failed or requested resource not found." }, ["getkey"]);
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain(`GetKey at ${vault.endpoint} failed (NotAuthorizedOrNotFound (HTTP 404`);
    vault.failNext(1, { type: "delay", ms: SLOW_MS }, ["getkey"]);
    expect((await p.health()).ok).toBe(true);
    expect(vault.count("getkey")).toBe(2); // one attempt each: GetKey is not retried
  });

  test("failing health is never thrown: kind, reason and OCI's message verbatim", async () => {
    const p = await open();
    vault.setKeyState(keyId, "DISABLED");
    const h = await p.health();
    expect(h).toMatchObject({ ok: false, kind: "denied", reason: "disabled" });
    if (h.ok) throw new Error("unreachable");
    expect(h.providerMessage).toMatch(/^IncorrectState \(HTTP 409, opc-request-id [0-9A-F]{32}\): The key .* is in DISABLED state/);
    expect(h.detail).toContain(h.providerMessage!);
  });

  test("probeOciVaultKeyProvider (test this key) shows the provider's message verbatim and never throws", async () => {
    const opts = { dataDir: "/x", localKeyFile: "/x/k" };
    expect((await probeOciVaultKeyProvider({ ...opts, oci: { keyId, cryptoEndpoint: vault.endpoint, configFile, timeoutMs: TIMEOUT_MS } })).ok).toBe(true);
    vault.deny(keyId);
    const denied = await probeOciVaultKeyProvider({ ...opts, oci: { keyId, cryptoEndpoint: vault.endpoint, configFile, timeoutMs: TIMEOUT_MS } });
    expect(denied).toMatchObject({ ok: false, kind: "denied", reason: "not_found" });
    expect(denied.detail).toContain("NotAuthorizedOrNotFound (HTTP 404, opc-request-id ");
    expect(denied.detail).toContain("Authorization failed or requested resource not found.");
    const badOpts = await probeOciVaultKeyProvider({ ...opts, oci: { keyId: "ocid1.vault.oc1.iad.x.y", cryptoEndpoint: vault.endpoint } });
    expect(badOpts.ok).toBe(false);
    expect(badOpts.detail).toContain("not of a key");
    expect(await probeOciVaultKeyProvider(opts)).toMatchObject({ ok: false, detail: expect.stringContaining("Missing oci-vault options") });
  });

  test('is registered as "oci-vault" and opens through createKeyProvider; close is final', async () => {
    const p = await createKeyProvider("oci-vault", { dataDir: "/x", localKeyFile: "/x/k", oci: { keyId, cryptoEndpoint: vault.endpoint, configFile } });
    expect(p.name).toBe("oci-vault");
    expect((await p.health()).ok).toBe(true);
    await p.close?.();
    await p.close?.();
    expect(((await failure(p.wrap(dek(), CTX))) as AppError).message).toContain("was closed");
  });
});
