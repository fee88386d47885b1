// A small local Azure Key Vault for tests: speaks the Key Vault REST protocol that the real
// @azure/keyvault-keys uses, over HTTPS (a self-signed certificate from src/crypto/tls-cert.ts)
// on 127.0.0.1, under the host name conclave-test.vault.azure.net.
//
//   const kv = await FakeKeyVault.start();                 // listening; kv.agent trusts it and resolves its name
//   const kid = kv.createKey("conclave-kek");               // RSA-HSM 2048; or { kty: "oct-HSM" } for A256KW
//   ... new CryptographyClient(kid, credential, { agent: kv.agent }) ...
//   kv.failNext(2, { type: "status", status: 503 });        // fault injection
//   await kv.close();
//
// Endpoints (any api-version): GET /keys/{name}[/{version}], POST /keys/{name}[/{version}]/wrapkey
// and /unwrapkey with JSON {alg, value: base64url} → {kid, value}. Key ids name this server's
// host and port, like https://conclave-test.vault.azure.net:PORT/keys/NAME/VERSION.
//
// Authentication is Key Vault's challenge flow: a request without `Authorization: Bearer …`
// gets 401 with `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
// resource="https://vault.azure.net"`; a bearer token outside `acceptTokens` gets 401 too.
//
// Crypto is real: RSA-OAEP-256 (node:crypto, per-key RSA 2048 material) and AES key wrap
// (RFC 3394, A256KW, through WebCrypto because Bun's node:crypto has no id-aes256-wrap) under a
// per-key 256-bit key. Errors use Key Vault's shape {"error":{"code","message","innererror"?}}:
// unknown key or version → 404 KeyNotFound; deny switch → 403 Forbidden (innererror AccessDenied);
// disabled key → 403 Forbidden "Operation wrapKey is not allowed on a disabled key." (innererror
// KeyDisabled); undecryptable input or an algorithm the key type does not support → 400 BadParameter.
//
// Faults apply to the next N authenticated requests (of the given operations, when named), in the
// order added: delay (then answer normally, or not at all once the client has gone), an HTTP status
// with a Key Vault error body (500 InternalServerError, 503 ServiceUnavailable by default), or
// throttling (429 Throttled with Retry-After: 0). `close()` makes the port refuse connections.

import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from "node:crypto";
import { Agent } from "node:https";
import { generateSelfSignedCert } from "../../src/crypto/tls-cert.ts";

export const FAKE_VAULT_HOST = "conclave-test.vault.azure.net";
export const FAKE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export type FakeKeyType = "RSA-HSM" | "RSA" | "oct-HSM";
export type FakeKeyVaultOperation = "get" | "wrapkey" | "unwrapkey";

export type FakeKeyVaultFault =
  /** Wait `ms` before handling the request (longer than the client's timeout = a timeout). */
  | { type: "delay"; ms: number }
  /** Answer with this HTTP status and a Key Vault error body. */
  | { type: "status"; status: number; code?: string; message?: string }
  /** Answer 429 Throttled with Retry-After: 0 (what Key Vault sends when its limits are exceeded). */
  | { type: "throttle" };

/** One request as the server saw it (kept for assertions). */
export interface FakeKeyVaultRequest {
  method: string;
  path: string;
  /** "get", "wrapkey", "unwrapkey", or "" for anything else. */
  operation: FakeKeyVaultOperation | "";
  /** The bearer token, or "" for the unauthenticated challenge request. */
  token: string;
  body: Record<string, unknown>;
  fault: FakeKeyVaultFault["type"] | null;
  /** The Key Vault error code answered (e.g. "KeyNotFound", "Unauthorized"), or null for success. */
  error: string | null;
}

interface KeyVersion {
  version: string;
  kty: FakeKeyType;
  keyOps: string[];
  publicKey?: KeyObject;
  privateKey?: KeyObject;
  secret?: Uint8Array<ArrayBuffer>;
  enabled: boolean;
  created: number;
}

interface KeyRecord {
  name: string;
  versions: KeyVersion[]; // oldest first; the last is "latest"
  deny: boolean;
}

class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

interface PendingFault {
  remaining: number;
  fault: FakeKeyVaultFault;
  operations: readonly string[] | null;
}

const PATH_RE = /^\/keys\/([0-9A-Za-z-]{1,127})(?:\/([0-9A-Za-z]*))?(?:\/(wrapkey|unwrapkey))?\/?$/;

export class FakeKeyVault {
  /** Bearer tokens accepted (401 otherwise). */
  acceptTokens = new Set(["test-token"]);
  /** The application named in AccessDenied messages. */
  principal = "appid=11111111-2222-3333-4444-555555555555;oid=66666666-7777-8888-9999-000000000000";
  readonly requests: FakeKeyVaultRequest[] = [];
  /** An https.Agent for the SDK: trusts this server's certificate and resolves its host name to 127.0.0.1. */
  readonly agent: Agent;
  /** https://conclave-test.vault.azure.net:PORT */
  readonly vaultUrl: string;
  readonly certPem: string;
  private readonly keys = new Map<string, KeyRecord>();
  private faults: PendingFault[] = [];
  private readonly waits = new Set<() => void>();
  private closed = false;

  private constructor(
    private readonly server: ReturnType<typeof Bun.serve>,
    certPem: string,
  ) {
    this.certPem = certPem;
    this.vaultUrl = `https://${FAKE_VAULT_HOST}:${server.port}`;
    this.agent = trustingAgent(certPem);
  }

  static async start(): Promise<FakeKeyVault> {
    const { certPem, keyPem } = generateSelfSignedCert({ commonName: "fake key vault", dnsNames: [FAKE_VAULT_HOST, "*.vault.azure.net"], ipAddresses: ["127.0.0.1"], days: 2 });
    let self: FakeKeyVault | null = null;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 30,
      tls: { cert: certPem, key: keyPem },
      fetch: (req) => self!.handle(req),
    });
    self = new FakeKeyVault(server, certPem);
    return self;
  }

  /** createKey makes an enabled key (one version) and returns its versioned key id. */
  createKey(name: string, opts: { kty?: FakeKeyType; keyOps?: string[] } = {}): string {
    if (this.keys.has(name)) throw new Error(`fake key ${name} exists`);
    this.keys.set(name, { name, versions: [], deny: false });
    return this.rotateKey(name, opts);
  }

  /** rotateKey adds a new version (new material), which becomes "latest"; returns its key id. */
  rotateKey(name: string, opts: { kty?: FakeKeyType; keyOps?: string[] } = {}): string {
    const rec = this.record(name);
    const kty = opts.kty ?? rec.versions.at(-1)?.kty ?? "RSA-HSM";
    const v: KeyVersion = {
      version: randomBytes(16).toString("hex"),
      kty,
      keyOps: opts.keyOps ?? (kty === "oct-HSM" ? ["wrapKey", "unwrapKey", "encrypt", "decrypt"] : ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]),
      enabled: true,
      created: Math.floor(Date.now() / 1000),
    };
    if (kty === "oct-HSM") v.secret = new Uint8Array(randomBytes(32));
    else {
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      v.publicKey = pair.publicKey;
      v.privateKey = pair.privateKey;
    }
    rec.versions.push(v);
    return this.kid(name, v.version);
  }

  /** The key id of a version ("latest" when omitted). */
  keyId(name: string, version?: string): string {
    const rec = this.record(name);
    return this.kid(name, version ?? rec.versions.at(-1)!.version);
  }

  /** setEnabled changes attributes.enabled of one version (all versions when omitted). */
  setEnabled(name: string, enabled: boolean, version?: string): void {
    for (const v of this.record(name).versions) if (version === undefined || v.version === version) v.enabled = enabled;
  }

  /** setDeny makes the vault's access policy refuse every operation on this key (403 Forbidden). */
  setDeny(name: string, deny: boolean): void {
    this.record(name).deny = deny;
  }

  /** deleteKey removes the key and all its versions (404 KeyNotFound afterwards). */
  deleteKey(name: string): void {
    this.record(name);
    this.keys.delete(name);
  }

  /** Applies `fault` to the next `n` authenticated requests (of `operations` only, when given). */
  failNext(n: number, fault: FakeKeyVaultFault, operations?: readonly FakeKeyVaultOperation[]): void {
    if (!Number.isInteger(n) || n < 1) throw new Error("failNext needs n >= 1");
    this.faults.push({ remaining: n, fault, operations: operations ?? null });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Authenticated requests of one operation (the challenge requests without a token are left out). */
  count(operation?: FakeKeyVaultOperation): number {
    return this.requests.filter((r) => r.token !== "" && (operation === undefined || r.operation === operation)).length;
  }

  /** Stops listening and cuts open connections; the port then refuses connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.waits]) wake();
    this.agent.destroy();
    await this.server.stop(true);
  }

  private kid(name: string, version: string): string {
    return `${this.vaultUrl}/keys/${name}/${version}`;
  }

  private record(name: string): KeyRecord {
    const rec = this.keys.get(name);
    if (!rec) throw new Error(`no such fake key ${name}`);
    return rec;
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = PATH_RE.exec(url.pathname);
    const operation: FakeKeyVaultRequest["operation"] = !m ? "" : m[3] === "wrapkey" ? "wrapkey" : m[3] === "unwrapkey" ? "unwrapkey" : req.method === "GET" ? "get" : "";
    const auth = req.headers.get("authorization") ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice("Bearer ".length) : "";
    const entry: FakeKeyVaultRequest = { method: req.method, path: url.pathname, operation, token, body: {}, fault: null, error: null };
    this.requests.push(entry);
    try {
      const text = await req.text();
      if (token === "" || !this.acceptTokens.has(token)) {
        // The challenge: Key Vault names the tenant's authority and the resource to get a token for.
        throw new VaultError(401, "Unauthorized", token === "" ? "AKV10000: Request is missing a Bearer or PoP token." : "AKV10032: Invalid issuer.");
      }
      if (!url.searchParams.get("api-version")) throw new VaultError(400, "BadParameter", "The api-version query parameter (?api-version=) is required for all requests.");
      const fault = this.takeFault(operation);
      if (fault !== null) {
        entry.fault = fault.type;
        if (fault.type === "delay") {
          await this.sleepUnlessGone(fault.ms, req.signal);
          if (req.signal.aborted || this.closed) return new Response(null, { status: 499 });
        } else if (fault.type === "throttle") {
          throw Object.assign(new VaultError(429, "Throttled", "Request was not processed because too many requests were received. Reason: {\"type\":\"Throttled\"}"), { retryAfter: "0" });
        } else {
          const code = fault.code ?? (fault.status === 500 ? "InternalServerError" : "ServiceUnavailable");
          throw new VaultError(fault.status, code, fault.message ?? (fault.status === 500 ? "An unexpected error occurred." : "The service is temporarily unavailable."));
        }
      }
      if (!m || operation === "") throw new VaultError(400, "BadParameter", `Unsupported request ${req.method} ${url.pathname}.`);
      if (text !== "") {
        const parsed: unknown = JSON.parse(text);
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new VaultError(400, "BadParameter", "The request body is not a JSON object.");
        entry.body = parsed as Record<string, unknown>;
      }
      const [, name, version] = m as unknown as [string, string, string | undefined];
      return json(200, await this.operate(operation, name, version ?? "", entry.body));
    } catch (err) {
      const e = err instanceof VaultError ? err : new VaultError(400, "BadParameter", err instanceof Error ? err.message : String(err));
      entry.error = e.code;
      const headers: Record<string, string> = {};
      if (e.status === 401) headers["www-authenticate"] = `Bearer authorization="https://login.microsoftonline.com/${FAKE_TENANT}", resource="https://vault.azure.net"`;
      const retryAfter = (e as VaultError & { retryAfter?: string }).retryAfter;
      if (retryAfter !== undefined) headers["retry-after"] = retryAfter;
      return json(e.status, { error: { code: e.code, message: e.message, ...(e.inner ? { innererror: { code: e.inner } } : {}) } }, headers);
    }
  }

  private async operate(op: FakeKeyVaultOperation, name: string, version: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const rec = this.keys.get(name);
    const v = rec === undefined ? undefined : version === "" ? rec.versions.at(-1) : rec.versions.find((x) => x.version === version);
    if (rec === undefined || v === undefined) {
      throw new VaultError(404, "KeyNotFound", `A key with (name/id) ${name}${version ? `/${version}` : ""} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
    }
    const opName = op === "get" ? "get" : op === "wrapkey" ? "wrapKey" : "unwrapKey";
    if (rec.deny) {
      throw new VaultError(
        403,
        "Forbidden",
        `The user, group or application '${this.principal};iss=https://sts.windows.net/${FAKE_TENANT}/' does not have keys ${opName} permission on key vault 'conclave-test;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        "AccessDenied",
      );
    }
    if (op === "get") return this.bundle(name, v);
    if (!v.enabled) throw new VaultError(403, "Forbidden", `Operation ${opName} is not allowed on a disabled key.`, "KeyDisabled");
    if (!v.keyOps.includes(opName)) throw new VaultError(403, "Forbidden", `Operation ${opName} is not allowed by the key's key_ops.`, "OperationNotAllowed");
    const alg = body.alg;
    const value = body.value;
    if (typeof value !== "string" || !/^[A-Za-z0-9_-]*$/.test(value)) throw new VaultError(400, "BadParameter", "Property value is required and must be base64url.");
    const input = Buffer.from(value, "base64url");
    const kid = this.kid(name, v.version);
    if (alg === "RSA-OAEP-256" && v.kty !== "oct-HSM") {
      if (op === "wrapkey") return { kid, value: publicEncrypt({ key: v.publicKey!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, input).toString("base64url") };
      try {
        return { kid, value: privateDecrypt({ key: v.privateKey!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, input).toString("base64url") };
      } catch {
        throw new VaultError(400, "BadParameter", "Unable to unwrap the key: the ciphertext does not match the key or is damaged.");
      }
    }
    if (alg === "A256KW" && v.kty === "oct-HSM") {
      if (input.length < 16 || input.length % 8 !== 0) throw new VaultError(400, "BadParameter", "AES key wrap input must be a multiple of 8 bytes, at least 16.");
      const kek = await crypto.subtle.importKey("raw", v.secret!, "AES-KW", false, ["wrapKey", "unwrapKey"]);
      if (op === "wrapkey") {
        const k = await crypto.subtle.importKey("raw", input, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
        return { kid, value: Buffer.from(await crypto.subtle.wrapKey("raw", k, kek, "AES-KW")).toString("base64url") };
      }
      try {
        const k = await crypto.subtle.unwrapKey("raw", input, kek, "AES-KW", { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
        return { kid, value: Buffer.from(await crypto.subtle.exportKey("raw", k)).toString("base64url") };
      } catch {
        throw new VaultError(400, "BadParameter", "Unable to unwrap the key: the integrity check failed.");
      }
    }
    throw new VaultError(400, "BadParameter", `Algorithm ${String(alg)} is not supported for key type ${v.kty}.`);
  }

  private bundle(name: string, v: KeyVersion): Record<string, unknown> {
    const key: Record<string, unknown> = { kid: this.kid(name, v.version), kty: v.kty, key_ops: v.keyOps };
    if (v.publicKey) {
      const jwk = v.publicKey.export({ format: "jwk" });
      key.n = jwk.n;
      key.e = jwk.e;
    }
    return {
      key,
      attributes: { enabled: v.enabled, created: v.created, updated: v.created, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90, exportable: false },
    };
  }

  private takeFault(operation: string): FakeKeyVaultFault | null {
    const i = this.faults.findIndex((f) => f.remaining > 0 && (f.operations === null || f.operations.includes(operation)));
    if (i < 0) return null;
    const f = this.faults[i]!;
    f.remaining--;
    if (f.remaining === 0) this.faults.splice(i, 1);
    return f.fault;
  }

  private sleepUnlessGone(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
      this.waits.add(done);
    });
  }
}

/** An https.Agent that trusts `caPem` and resolves every host name to 127.0.0.1 (no DNS, no real Azure). */
export function trustingAgent(caPem: string | null): Agent {
  const lookup = (_host: string, opts: unknown, cb: (...args: unknown[]) => void): void => {
    if (typeof opts === "object" && opts !== null && (opts as { all?: boolean }).all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
    else cb(null, "127.0.0.1", 4);
  };
  return new Agent({ keepAlive: true, ...(caPem !== null ? { ca: caPem } : {}), lookup } as ConstructorParameters<typeof Agent>[0]);
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "x-ms-request-id": crypto.randomUUID(), "x-ms-keyvault-service-version": "1.9.0.0", ...headers },
  });
}
