// A small local OCI Vault crypto endpoint for tests: speaks the KMS crypto REST API that the real
// oci-keymanagement KmsCryptoClient uses, over plain HTTP on 127.0.0.1.
//
//   const vault = await FakeOciVault.start();               // listening; vault.endpoint = http://127.0.0.1:PORT
//   const keyId = vault.createKey();                         // an ENABLED AES-256 key: ocid1.key.oc1.iad.<vault>.<id>
//   const { configFile } = vault.writeOciConfig(dir);        // an OCI config file + API private key for the test user
//   vault.failNext(2, { type: "status", status: 503 });      // fault injection
//   await vault.close();
//
// Endpoints: POST /20180608/encrypt {keyId, plaintext (base64), associatedData?, loggingContext?}
// → {ciphertext, keyId, keyVersionId, encryptionAlgorithm}; POST /20180608/decrypt {keyId,
// ciphertext, associatedData?} → {plaintext, plaintextChecksum, keyId, keyVersionId, encryptionAlgorithm};
// and the management API's GET /20180608/keys/{keyId} → the Key (displayName, lifecycleState,
// keyShape, protectionMode, …), served on the same port (pass it as the management endpoint).
//
// Authentication is OCI's HTTP signature scheme and it is checked for real: the Authorization
// header must be `Signature version="1",keyId="<tenancy>/<user>/<fingerprint>",algorithm="rsa-sha256",
// headers="…",signature="…"`, sign at least x-date (or date), (request-target), host, and for POST
// content-type, content-length and x-content-sha256; the body must match x-content-sha256 and the
// RSA-SHA256 signature must verify with the registered API key of that keyId; the date must be
// within 5 minutes. Anything else → 401 NotAuthenticated.
//
// Crypto is real: AES-256-GCM under a per-version key; the associatedData (canonical JSON, keys
// sorted) and the key OCID are the GCM AAD, so decrypting with other associatedData or under
// another key fails. The ciphertext names its key version, so rotated keys still decrypt.
//
// Errors use OCI's shape {"code","message"} with an opc-request-id header: a key that does not
// exist, is DELETED, or that the `deny` switch hides → 404 NotAuthorizedOrNotFound (OCI answers
// the same for "no policy allows it"); key state other than ENABLED → 409 IncorrectState with the
// lifecycle state in the message (OCI does not document the exact wording of these refusals; the
// state name is what the provider reads); ciphertext that does not open → 400 InvalidParameter;
// malformed JSON → 400 CannotParseRequest. Faults apply to the next N signed requests (of the
// given operations, when named), in the order added: delay (answer late, or not at all once the
// client has gone), an HTTP status with an OCI error body (500 InternalServerError, 503
// ServiceUnavailable by default), or throttling (429 TooManyRequests). `close()` makes the port
// refuse connections.

import { createCipheriv, createDecipheriv, createHash, createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateSelfSignedCert } from "../../src/crypto/tls-cert.ts";

export type FakeOciOperation = "encrypt" | "decrypt" | "getkey";
export type FakeOciKeyState = "ENABLED" | "DISABLED" | "DISABLING" | "ENABLING" | "PENDING_DELETION" | "SCHEDULING_DELETION" | "DELETED" | "UPDATING";

export type FakeOciFault =
  /** Wait `ms` before handling the request (longer than the client's timeout = a timeout). */
  | { type: "delay"; ms: number }
  /** Answer with this HTTP status and an OCI error body. */
  | { type: "status"; status: number; code?: string; message?: string }
  /** Answer 429 TooManyRequests (what OCI sends when the vault's request rate limit is exceeded). */
  | { type: "throttle" };

/** One request as the server saw it (kept for assertions). */
export interface FakeOciRequest {
  method: string;
  path: string;
  operation: FakeOciOperation | "";
  /** The signing keyId (tenancy/user/fingerprint) when the signature verified, else "". */
  principal: string;
  /** The headers the signature covered, as the client listed them. */
  signedHeaders: string[];
  body: Record<string, unknown>;
  fault: FakeOciFault["type"] | null;
  status: number;
  /** The OCI error code answered (e.g. "NotAuthenticated"), or null for success. */
  error: string | null;
  requestId: string;
}

interface KeyVersion {
  id: string;
  /** 16 bytes that name the version inside ciphertexts. */
  tag: Buffer;
  secret: Buffer;
}

interface KeyRecord {
  ocid: string;
  name: string;
  algorithm: "AES" | "RSA";
  protectionMode: "HSM" | "SOFTWARE";
  versions: KeyVersion[];
  state: FakeOciKeyState;
  deny: boolean;
}

interface PendingFault {
  remaining: number;
  fault: FakeOciFault;
  operations: readonly string[] | null;
}

class OciFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const API = "/20180608/";
const CT_MAGIC = 0x0c;
const MAX_SKEW_MS = 5 * 60_000;
const DEFAULT_FAULT: Record<number, [string, string]> = {
  500: ["InternalServerError", "Internal error occurred"],
  502: ["BadGateway", "Bad gateway"],
  503: ["ServiceUnavailable", "Service unavailable; please retry the request later."],
  504: ["GatewayTimeout", "Gateway timeout"],
};

function base32id(bytes = 30): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  return [...randomBytes(bytes)].map((b) => alphabet[b & 31]).join("");
}

/** canonicalJson serialises associatedData with keys sorted, the AAD the fake binds. */
function canonicalJson(ad: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(ad).sort().map((k) => [k, ad[k]])));
}

export class FakeOciVault {
  /** The test user's identity; writeOciConfig writes these with the private key. */
  readonly tenancy = `ocid1.tenancy.oc1..aaaaaaaa${base32id(26)}`;
  readonly user = `ocid1.user.oc1..aaaaaaaa${base32id(26)}`;
  readonly fingerprint: string;
  readonly privateKeyPem: string;
  /** The vault part of key OCIDs. */
  readonly vaultPart = `b${base32id(12)}`;
  readonly region = "iad";
  readonly requests: FakeOciRequest[] = [];
  /** http://127.0.0.1:PORT (https:// when started with tls) */
  readonly endpoint: string;
  /** Signing keyIds (tenancy/user/fingerprint) → public key; registerApiKey adds more. */
  private readonly apiKeys = new Map<string, KeyObject>();
  private readonly keys = new Map<string, KeyRecord>();
  private faults: PendingFault[] = [];
  private readonly waits = new Set<() => void>();
  private closed = false;

  private constructor(
    private readonly server: ReturnType<typeof Bun.serve>,
    tls: boolean,
  ) {
    this.endpoint = `${tls ? "https" : "http"}://127.0.0.1:${server.port}`;
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    this.fingerprint = fingerprintOf(publicKey);
    this.apiKeys.set(`${this.tenancy}/${this.user}/${this.fingerprint}`, publicKey);
  }

  /** start listens on 127.0.0.1 (plain HTTP; `tls: true` serves HTTPS with a self-signed certificate no client trusts). */
  static async start(opts: { tls?: boolean } = {}): Promise<FakeOciVault> {
    let self: FakeOciVault | null = null;
    const tls = opts.tls ? generateSelfSignedCert({ commonName: "fake oci vault", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], days: 2 }) : null;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 30,
      ...(tls ? { tls: { cert: tls.certPem, key: tls.keyPem } } : {}),
      fetch: (req) => self!.handle(req),
    });
    self = new FakeOciVault(server, tls !== null);
    return self;
  }

  /**
   * writeOciConfig writes an OCI config file (profile `profile`, default DEFAULT) and the API
   * private key it names (mode 0600) into `dir`; `privateKeyPem` overrides the key (a key the
   * vault does not know = rejected signatures). Returns the config file path.
   */
  writeOciConfig(dir: string, opts: { profile?: string; privateKeyPem?: string; fingerprint?: string } = {}): { configFile: string; keyFile: string } {
    mkdirSync(dir, { recursive: true });
    const profile = opts.profile ?? "DEFAULT";
    const keyFile = join(dir, `oci_api_key_${profile}.pem`);
    writeFileSync(keyFile, opts.privateKeyPem ?? this.privateKeyPem, { mode: 0o600 });
    const configFile = join(dir, "config");
    writeFileSync(
      configFile,
      `[${profile}]\nuser=${this.user}\nfingerprint=${opts.fingerprint ?? this.fingerprint}\ntenancy=${this.tenancy}\nregion=us-ashburn-1\nkey_file=${keyFile}\n`,
      { mode: 0o600 },
    );
    return { configFile, keyFile };
  }

  /** createKey makes an ENABLED key (AES-256, protection mode HSM unless told otherwise; one version) and returns its OCID. */
  createKey(opts: { name?: string; algorithm?: "AES" | "RSA"; protectionMode?: "HSM" | "SOFTWARE" } = {}): string {
    const ocid = `ocid1.key.oc1.${this.region}.${this.vaultPart}.${base32id(40)}`;
    this.keys.set(ocid, { ocid, name: opts.name ?? "conclave-kek", algorithm: opts.algorithm ?? "AES", protectionMode: opts.protectionMode ?? "HSM", versions: [], state: "ENABLED", deny: false });
    this.rotateKey(ocid);
    return ocid;
  }

  /** rotateKey adds a key version that new encryptions use; returns its OCID. */
  rotateKey(ocid: string): string {
    const k = this.record(ocid);
    const id = `ocid1.keyversion.oc1.${this.region}.${this.vaultPart}.${base32id(40)}`;
    k.versions.push({ id, tag: randomBytes(16), secret: randomBytes(32) });
    return id;
  }

  setKeyState(ocid: string, state: FakeOciKeyState): void {
    this.record(ocid).state = state;
  }

  /** deny makes the key answer NotAuthorizedOrNotFound (as when no IAM policy allows the caller). */
  deny(ocid: string, on = true): void {
    this.record(ocid).deny = on;
  }

  /** Applies `fault` to the next `n` signed requests (of `operations` only, when given). */
  failNext(n: number, fault: FakeOciFault, operations?: readonly FakeOciOperation[]): void {
    if (!Number.isInteger(n) || n < 1) throw new Error("failNext needs n >= 1");
    this.faults.push({ remaining: n, fault, operations: operations ?? null });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Requests of one operation (or all) that carried a verified signature. */
  count(operation?: FakeOciOperation): number {
    return this.requests.filter((r) => r.principal !== "" && (operation === undefined || r.operation === operation)).length;
  }

  /** Stops listening and cuts open connections; the port then refuses connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.waits]) wake();
    await this.server.stop(true);
  }

  private record(ocid: string): KeyRecord {
    const k = this.keys.get(ocid);
    if (k === undefined) throw new Error(`fake OCI key ${ocid} does not exist`);
    return k;
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const requestId = randomBytes(16).toString("hex").toUpperCase();
    const text = await req.text();
    const keyPath = /^\/20180608\/keys\/([^/]+)$/.exec(url.pathname);
    const operation: FakeOciOperation | "" =
      req.method === "POST" && url.pathname === `${API}encrypt` ? "encrypt" : req.method === "POST" && url.pathname === `${API}decrypt` ? "decrypt" : req.method === "GET" && keyPath ? "getkey" : "";
    const entry: FakeOciRequest = { method: req.method, path: url.pathname, operation, principal: "", signedHeaders: [], body: {}, fault: null, status: 200, error: null, requestId };
    this.requests.push(entry);
    const answer = (status: number, body: unknown): Response => {
      entry.status = status;
      return Response.json(body, { status, headers: { "opc-request-id": requestId } });
    };
    const failure = (f: OciFailure): Response => {
      entry.error = f.code;
      return answer(f.status, { code: f.code, message: f.message });
    };
    try {
      const signed = this.checkSignature(req, url, text);
      entry.principal = signed.principal;
      entry.signedHeaders = signed.headers;
      if (operation === "") throw new OciFailure(404, "NotFound", `There is no operation supported at the URI path and HTTP method you specified in the request (${req.method} ${url.pathname}).`);
      let body: Record<string, unknown> = {};
      if (operation !== "getkey") {
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          throw new OciFailure(400, "CannotParseRequest", "Incorrectly formatted request. Please refer to the documentation and try again.");
        }
      }
      entry.body = body;
      const fault = this.takeFault(operation);
      if (fault !== null) {
        entry.fault = fault.type;
        if (fault.type === "delay") {
          const gone = await this.sleep(fault.ms, req.signal);
          if (gone) return answer(499, { code: "ClientClosed", message: "client went away" });
        } else if (fault.type === "throttle") {
          throw new OciFailure(429, "TooManyRequests", "Too many requests for the tenancy. Please retry the request later.");
        } else {
          const [code, message] = DEFAULT_FAULT[fault.status] ?? ["Error", `HTTP ${fault.status}`];
          throw new OciFailure(fault.status, fault.code ?? code, fault.message ?? message);
        }
      }
      if (operation === "getkey") return answer(200, this.getKey(decodeURIComponent(keyPath![1]!)));
      return answer(200, operation === "encrypt" ? this.encrypt(body) : this.decrypt(body));
    } catch (err) {
      if (err instanceof OciFailure) return failure(err);
      return failure(new OciFailure(500, "InternalServerError", `fake vault error: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  /** Verifies the OCI HTTP signature; returns the principal (signing keyId) and the signed headers. */
  private checkSignature(req: Request, url: URL, body: string): { principal: string; headers: string[] } {
    const reject = (why: string): never => {
      throw new OciFailure(401, "NotAuthenticated", `The required information to complete authentication was not provided or was incorrect. (${why})`);
    };
    const auth = req.headers.get("authorization") ?? "";
    if (!auth.startsWith("Signature ")) reject("no Signature authorization header");
    const params = new Map<string, string>();
    for (const m of auth.slice("Signature ".length).matchAll(/([a-zA-Z]+)="([^"]*)"/g)) params.set(m[1]!, m[2]!);
    if (params.get("version") !== "1") reject('version must be "1"');
    if (params.get("algorithm") !== "rsa-sha256") reject("algorithm must be rsa-sha256");
    const keyId = params.get("keyId") ?? "";
    if (keyId.split("/").length !== 3) reject("keyId must be <tenancy>/<user>/<fingerprint>");
    const signature = params.get("signature") ?? "";
    if (signature === "") reject("no signature");
    // Header names are case-insensitive (the SDK lists "Content-Type"); the signing string uses them in lower case.
    const headers = (params.get("headers") ?? "").split(" ").filter((h) => h !== "").map((h) => h.toLowerCase());
    const needed = ["(request-target)", "host", ...(req.method === "POST" || req.method === "PUT" ? ["content-type", "content-length", "x-content-sha256"] : [])];
    for (const h of needed) if (!headers.includes(h)) reject(`the signature must cover ${h}`);
    if (!headers.includes("x-date") && !headers.includes("date")) reject("the signature must cover date or x-date");
    const dateText = req.headers.get("x-date") ?? req.headers.get("date") ?? "";
    const date = Date.parse(dateText);
    if (!Number.isFinite(date) || Math.abs(Date.now() - date) > MAX_SKEW_MS) reject(`date ${JSON.stringify(dateText)} is missing or more than 5 minutes off`);
    if (req.method === "POST") {
      const sha = createHash("sha256").update(body).digest("base64");
      if (req.headers.get("x-content-sha256") !== sha) reject("x-content-sha256 does not match the body");
      if (req.headers.get("content-length") !== String(Buffer.byteLength(body))) reject("content-length does not match the body");
    }
    const lines = headers.map((h) => (h === "(request-target)" ? `(request-target): ${req.method.toLowerCase()} ${url.pathname}${url.search}` : `${h}: ${req.headers.get(h) ?? ""}`));
    const publicKey = this.apiKeys.get(keyId);
    if (publicKey === undefined) reject(`unknown API key ${keyId}`);
    if (!verify("sha256", Buffer.from(lines.join("\n")), publicKey!, Buffer.from(signature, "base64"))) reject("signature does not verify");
    return { principal: keyId, headers };
  }

  private takeFault(operation: FakeOciOperation): FakeOciFault | null {
    const i = this.faults.findIndex((f) => f.operations === null || f.operations.includes(operation));
    if (i < 0) return null;
    const f = this.faults[i]!;
    if (--f.remaining <= 0) this.faults.splice(i, 1);
    return f.fault;
  }

  /** Sleeps `ms`; true when the client went away or the server closed meanwhile. */
  private sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (gone: boolean): void => {
        clearTimeout(timer);
        this.waits.delete(wake);
        signal.removeEventListener("abort", onAbort);
        resolve(gone);
      };
      const wake = (): void => done(true);
      const onAbort = (): void => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.waits.add(wake);
      signal.addEventListener("abort", onAbort);
    });
  }

  /** The key for a crypto call, or the refusal OCI would answer. */
  private usableKey(keyId: unknown): KeyRecord {
    const k = typeof keyId === "string" ? this.keys.get(keyId) : undefined;
    if (k === undefined || k.deny || k.state === "DELETED") throw new OciFailure(404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.");
    if (k.state !== "ENABLED") throw new OciFailure(409, "IncorrectState", `The key ${k.ocid} is in ${k.state} state; cryptographic operations need an ENABLED key.`);
    return k;
  }

  private getKey(ocid: string): Record<string, unknown> {
    const k = this.keys.get(ocid);
    if (k === undefined || k.deny) throw new OciFailure(404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.");
    return {
      id: k.ocid,
      compartmentId: `ocid1.compartment.oc1..aaaaaaaa${this.vaultPart}`,
      displayName: k.name,
      currentKeyVersion: k.versions[k.versions.length - 1]!.id,
      keyShape: { algorithm: k.algorithm, length: k.algorithm === "AES" ? 32 : 256 },
      protectionMode: k.protectionMode,
      lifecycleState: k.state,
      timeCreated: "2026-11-23T10:00:00.000Z",
      vaultId: `ocid1.vault.oc1.${this.region}.${this.vaultPart}.${base32id(20)}`,
    };
  }

  private associatedData(body: Record<string, unknown>): Record<string, string> {
    const ad = body.associatedData;
    if (ad === undefined || ad === null) return {};
    if (typeof ad !== "object" || Array.isArray(ad) || Object.values(ad).some((v) => typeof v !== "string")) {
      throw new OciFailure(400, "InvalidParameter", "associatedData must be a map of strings.");
    }
    return ad as Record<string, string>;
  }

  private encrypt(body: Record<string, unknown>): Record<string, unknown> {
    const k = this.usableKey(body.keyId);
    const ad = this.associatedData(body);
    if (k.algorithm !== "AES") throw new OciFailure(400, "InvalidParameter", `The encryption algorithm AES_256_GCM is not valid for an ${k.algorithm} key.`);
    if (typeof body.plaintext !== "string" || body.plaintext === "") throw new OciFailure(400, "MissingParameter", "plaintext is required.");
    const plaintext = Buffer.from(body.plaintext, "base64");
    if (plaintext.toString("base64") !== body.plaintext || plaintext.length > 4096) throw new OciFailure(400, "InvalidParameter", "plaintext must be base64 of at most 4096 bytes.");
    const v = k.versions[k.versions.length - 1]!;
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", v.secret, nonce);
    c.setAAD(Buffer.from(`${k.ocid}\n${canonicalJson(ad)}`));
    const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    return {
      ciphertext: Buffer.concat([Buffer.of(CT_MAGIC), v.tag, nonce, ct]).toString("base64"),
      keyId: k.ocid,
      keyVersionId: v.id,
      encryptionAlgorithm: "AES_256_GCM",
    };
  }

  private decrypt(body: Record<string, unknown>): Record<string, unknown> {
    const k = this.usableKey(body.keyId);
    const ad = this.associatedData(body);
    const invalid = (): never => {
      throw new OciFailure(400, "InvalidParameter", "The ciphertext is invalid, or it was encrypted with other associated data or under another key.");
    };
    if (typeof body.ciphertext !== "string") return invalid();
    const blob = Buffer.from(body.ciphertext, "base64");
    if (blob.length < 1 + 16 + 12 + 16 || blob[0] !== CT_MAGIC) return invalid();
    const v = k.versions.find((x) => x.tag.equals(blob.subarray(1, 17)));
    if (v === undefined) return invalid();
    const d = createDecipheriv("aes-256-gcm", v!.secret, blob.subarray(17, 29));
    d.setAAD(Buffer.from(`${k.ocid}\n${canonicalJson(ad)}`));
    d.setAuthTag(blob.subarray(blob.length - 16));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([d.update(blob.subarray(29, blob.length - 16)), d.final()]);
    } catch {
      return invalid();
    }
    return {
      plaintext: plaintext.toString("base64"),
      plaintextChecksum: String(Bun.hash.crc32(plaintext)),
      keyId: k.ocid,
      keyVersionId: v!.id,
      encryptionAlgorithm: "AES_256_GCM",
    };
  }
}

/** fingerprintOf is OCI's API key fingerprint: MD5 of the DER public key, as colon-separated hex. */
export function fingerprintOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: "spki", format: "der" });
  return createHash("md5").update(der).digest("hex").match(/../g)!.join(":");
}
