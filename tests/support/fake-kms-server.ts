// A small local AWS KMS for tests: speaks the KMS JSON 1.1 wire protocol that the real
// @aws-sdk/client-kms uses (POST /, `Content-Type: application/x-amz-json-1.1`,
// `X-Amz-Target: TrentService.<Operation>`, base64 blobs, errors as `{"__type","message"}`).
//
//   const kms = new FakeKms();                               // the "AWS account": keys, state
//   const primary = kms.createKey({ region: "us-east-1", multiRegion: true });
//   const replica = kms.replicateKey(primary, "eu-west-1");  // same key material, own state
//   const east = await kms.serve("us-east-1");               // one endpoint per region
//   ... new KMSClient({ region: "us-east-1", endpoint: east.url }) ...
//   east.failNext(2, { type: "status", status: 503 });       // fault injection
//   await kms.close();
//
// Operations: Encrypt, Decrypt, GenerateDataKey, DescribeKey, ReEncrypt. Encryption is real
// AES-256-GCM under random per-key material. A CiphertextBlob embeds the key id (not the
// region, as in AWS, so multi-region replicas decrypt each other's ciphertexts) and binds the
// EncryptionContext as AAD: a different context fails with InvalidCiphertextException.
//
// Key states per region: Enabled; Disabled → DisabledException; PendingDeletion →
// KMSInvalidStateException; unknown key → NotFoundException; Decrypt with a KeyId that is not
// the ciphertext's key → IncorrectKeyException; a policy deny switch → AccessDeniedException.
//
// Signatures are not verified, but every request must carry a SigV4 `Authorization` header
// (MissingAuthenticationTokenException otherwise) whose credential scope names this endpoint's
// region and the "kms" service (InvalidSignatureException otherwise), so the SDK's credential
// chain and region handling are exercised. `acceptAccessKeys` restricts the access key ids.
//
// Faults apply to the next N matching requests of one endpoint, in the order added:
// delay (then answer normally, or not at all once the client has gone), an HTTP status with an
// AWS error body (500 KMSInternalException, 503 ServiceUnavailableException by default), or
// throttling (400 ThrottlingException). `close()` of an endpoint makes its port refuse
// connections (the "region is down" case).

import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";

export type FakeKeyState = "Enabled" | "Disabled" | "PendingDeletion";
export type FakeKmsOperation = "Encrypt" | "Decrypt" | "GenerateDataKey" | "DescribeKey" | "ReEncrypt";

/** A fault injected into the next N requests of an endpoint. */
export type FakeKmsFault =
  /** Wait `ms` before handling the request (longer than the client's timeout = a timeout). */
  | { type: "delay"; ms: number }
  /** Answer with this HTTP status and an AWS error body. */
  | { type: "status"; status: number; errorType?: string; message?: string }
  /** Answer 400 ThrottlingException (what KMS sends when the request quota is exceeded). */
  | { type: "throttle" };

/** One request as the endpoint saw it (kept for assertions). */
export interface FakeKmsRequest {
  operation: string;
  region: string;
  /** The access key id from the Authorization header ("" when absent). */
  accessKeyId: string;
  body: Record<string, unknown>;
  /** The fault applied, if any. */
  fault: FakeKmsFault["type"] | null;
  /** The AWS error type answered, or null for success. */
  error: string | null;
}

/** An endpoint serving one region, like https://kms.<region>.amazonaws.com. */
export interface FakeKmsEndpoint {
  region: string;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  requests: FakeKmsRequest[];
  /** Applies `fault` to the next `n` requests (of `operations` only, when given). */
  failNext(n: number, fault: FakeKmsFault, operations?: readonly FakeKmsOperation[]): void;
  /** Drops the faults not yet used. */
  clearFaults(): void;
  /** Stops listening and cuts open connections; the port then refuses connections. Idempotent. */
  close(): Promise<void>;
}

interface KeyRecord {
  /** The key id: a UUID, or "mrk-<32 hex>" for a multi-region key (shared by its replicas). */
  keyId: string;
  region: string;
  account: string;
  arn: string;
  /** Shared by a multi-region key and its replicas. */
  material: Buffer;
  state: FakeKeyState;
  deny: boolean;
  multiRegion: boolean;
  primaryRegion: string;
  description: string;
  created: number;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

interface PendingFault {
  remaining: number;
  fault: FakeKmsFault;
  operations: readonly string[] | null;
}

const OPERATIONS = new Set<string>(["Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey", "ReEncrypt"]);
const BLOB_MAGIC = Buffer.from("FKM1", "latin1");
const NONCE = 12;
const TAG = 16;
const ARN_RE = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/** FakeKms is the state behind all endpoints: keys by region, aliases, policy switches. */
export class FakeKms {
  readonly account: string;
  /** When set, only these access key ids are accepted (UnrecognizedClientException otherwise). */
  acceptAccessKeys: Set<string> | null = null;
  /** The IAM principal named in AccessDenied messages. */
  principal: string;
  private readonly keys = new Map<string, KeyRecord>(); // `${region} ${keyId}` → record
  private readonly aliases = new Map<string, string>(); // `${region} ${aliasName}` → keyId
  private readonly endpoints = new Set<FakeKmsEndpoint>();

  constructor(opts: { account?: string } = {}) {
    this.account = opts.account ?? "111122223333";
    this.principal = `arn:aws:iam::${this.account}:user/conclave`;
  }

  /** createKey makes an Enabled symmetric ENCRYPT_DECRYPT key and returns its ARN. */
  createKey(opts: { region: string; multiRegion?: boolean; description?: string }): string {
    const multiRegion = opts.multiRegion ?? false;
    const keyId = multiRegion ? `mrk-${randomBytes(16).toString("hex")}` : randomUUID();
    return this.put({
      keyId,
      region: opts.region,
      account: this.account,
      arn: `arn:aws:kms:${opts.region}:${this.account}:key/${keyId}`,
      material: randomBytes(32),
      state: "Enabled",
      deny: false,
      multiRegion,
      primaryRegion: opts.region,
      description: opts.description ?? "",
      created: Math.floor(Date.now() / 1000),
    }).arn;
  }

  /** replicateKey copies a multi-region key (same key id and material) into another region; returns the replica ARN. */
  replicateKey(primaryArn: string, region: string): string {
    const primary = this.record(primaryArn);
    if (!primary.multiRegion) throw new Error(`${primaryArn} is not a multi-region key`);
    return this.put({ ...primary, region, arn: `arn:aws:kms:${region}:${this.account}:key/${primary.keyId}`, state: "Enabled", deny: false }).arn;
  }

  /** createAlias points `alias/<name>` in the key's region at the key. */
  createAlias(aliasName: string, keyArn: string): string {
    if (!aliasName.startsWith("alias/")) throw new Error("alias names start with alias/");
    const rec = this.record(keyArn);
    this.aliases.set(`${rec.region} ${aliasName}`, rec.keyId);
    return `arn:aws:kms:${rec.region}:${this.account}:${aliasName}`;
  }

  /** setKeyState changes one region's copy of a key. */
  setKeyState(keyArn: string, state: FakeKeyState): void {
    this.record(keyArn).state = state;
  }

  /** setDeny makes the key policy refuse every operation on this key (AccessDeniedException). */
  setDeny(keyArn: string, deny: boolean): void {
    this.record(keyArn).deny = deny;
  }

  /** deleteKey removes one region's copy immediately (NotFoundException afterwards). */
  deleteKey(keyArn: string): void {
    const rec = this.record(keyArn);
    this.keys.delete(`${rec.region} ${rec.keyId}`);
  }

  /** serve starts an endpoint for `region` on 127.0.0.1 (a free port). */
  async serve(region: string): Promise<FakeKmsEndpoint> {
    const requests: FakeKmsRequest[] = [];
    let faults: PendingFault[] = [];
    const waits = new Set<() => void>();
    let closed = false;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 30,
      fetch: async (req) => {
        const target = req.headers.get("x-amz-target") ?? "";
        const operation = target.startsWith("TrentService.") ? target.slice("TrentService.".length) : target;
        let body: Record<string, unknown> = {};
        const entry: FakeKmsRequest = { operation, region, accessKeyId: "", body, fault: null, error: null };
        requests.push(entry);
        try {
          const text = await req.text();
          const parsed: unknown = text === "" ? {} : JSON.parse(text);
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new KmsError("SerializationException", "Request body is not a JSON object.");
          body = parsed as Record<string, unknown>;
          entry.body = body;
          const fault = takeFault(operation);
          if (fault !== null) {
            entry.fault = fault.type;
            if (fault.type === "delay") {
              await sleepUnlessGone(fault.ms, req.signal, waits);
              if (req.signal.aborted || closed) return new Response(null, { status: 499 });
            } else if (fault.type === "throttle") {
              throw new KmsError("ThrottlingException", "Rate exceeded", 400);
            } else {
              const type = fault.errorType ?? (fault.status === 500 ? "KMSInternalException" : "ServiceUnavailableException");
              throw new KmsError(type, fault.message ?? (fault.status === 500 ? "An internal error occurred." : "Service Unavailable"), fault.status);
            }
          }
          entry.accessKeyId = this.authorize(req, region);
          if (req.method !== "POST") throw new KmsError("UnknownOperationException", "Only POST is supported.");
          const ct = req.headers.get("content-type") ?? "";
          if (!ct.startsWith("application/x-amz-json-1.1")) throw new KmsError("SerializationException", `Unexpected Content-Type ${ct}.`);
          if (!OPERATIONS.has(operation)) throw new KmsError("UnknownOperationException", `Unknown operation ${target}.`);
          const result = this.handle(region, operation as FakeKmsOperation, body);
          return json(200, result);
        } catch (err) {
          const e = err instanceof KmsError ? err : new KmsError("SerializationException", err instanceof Error ? err.message : String(err));
          entry.error = e.type;
          return json(e.status, { __type: e.type, message: e.message });
        }
      },
    });

    function takeFault(operation: string): FakeKmsFault | null {
      const i = faults.findIndex((f) => f.remaining > 0 && (f.operations === null || f.operations.includes(operation)));
      if (i < 0) return null;
      const f = faults[i]!;
      f.remaining--;
      if (f.remaining === 0) faults.splice(i, 1);
      return f.fault;
    }

    const endpoint: FakeKmsEndpoint = {
      region,
      port: server.port ?? 0,
      url: `http://127.0.0.1:${server.port}`,
      requests,
      failNext(n, fault, operations) {
        if (!Number.isInteger(n) || n < 1) throw new Error("failNext needs n >= 1");
        faults.push({ remaining: n, fault, operations: operations ?? null });
      },
      clearFaults() {
        faults = [];
      },
      close: async () => {
        if (closed) return;
        closed = true;
        this.endpoints.delete(endpoint);
        for (const wake of [...waits]) wake();
        await server.stop(true);
      },
    };
    this.endpoints.add(endpoint);
    return endpoint;
  }

  /** close stops every endpoint. */
  async close(): Promise<void> {
    await Promise.all([...this.endpoints].map((e) => e.close()));
  }

  private put(rec: KeyRecord): KeyRecord {
    this.keys.set(`${rec.region} ${rec.keyId}`, rec);
    return rec;
  }

  /** The record for a key ARN (test set-up; throws on unknown). */
  private record(keyArn: string): KeyRecord {
    const m = ARN_RE.exec(keyArn);
    const rec = m && m[4] === "key" ? this.keys.get(`${m[2]} ${m[5]}`) : undefined;
    if (!rec) throw new Error(`no such fake key ${keyArn}`);
    return rec;
  }

  /** Checks the Authorization header; returns the access key id. */
  private authorize(req: Request, region: string): string {
    const auth = req.headers.get("authorization");
    if (!auth) throw new KmsError("MissingAuthenticationTokenException", "Missing Authentication Token", 400);
    const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,/.exec(auth);
    if (!m) throw new KmsError("IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.", 400);
    const [, accessKeyId, , scopeRegion, service] = m as unknown as [string, string, string, string, string];
    if (scopeRegion !== region || service !== "kms") {
      throw new KmsError("InvalidSignatureException", `Credential should be scoped to a valid region and service: '${region}', 'kms', not '${scopeRegion}', '${service}'.`, 400);
    }
    if (this.acceptAccessKeys !== null && !this.acceptAccessKeys.has(accessKeyId)) {
      throw new KmsError("UnrecognizedClientException", "The security token included in the request is invalid.", 400);
    }
    return accessKeyId;
  }

  private handle(region: string, op: FakeKmsOperation, body: Record<string, unknown>): Record<string, unknown> {
    switch (op) {
      case "DescribeKey": {
        const rec = this.resolve(region, str(body, "KeyId", true), op, { allowUnusable: true });
        return { KeyMetadata: metadata(rec) };
      }
      case "Encrypt": {
        const rec = this.resolve(region, str(body, "KeyId", true), op);
        const plaintext = blob(body, "Plaintext");
        if (plaintext.length < 1 || plaintext.length > 4096) throw new KmsError("ValidationException", "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096");
        algorithm(body, "EncryptionAlgorithm");
        return { CiphertextBlob: seal(rec, plaintext, context(body, "EncryptionContext")).toString("base64"), KeyId: rec.arn, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
      }
      case "GenerateDataKey": {
        const rec = this.resolve(region, str(body, "KeyId", true), op);
        const n = dataKeyBytes(body);
        const plaintext = randomBytes(n);
        return {
          CiphertextBlob: seal(rec, plaintext, context(body, "EncryptionContext")).toString("base64"),
          Plaintext: plaintext.toString("base64"),
          KeyId: rec.arn,
        };
      }
      case "Decrypt": {
        algorithm(body, "EncryptionAlgorithm");
        const { rec, plaintext } = this.open(region, blob(body, "CiphertextBlob"), context(body, "EncryptionContext"), str(body, "KeyId", false), op);
        return { KeyId: rec.arn, Plaintext: plaintext.toString("base64"), EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
      }
      case "ReEncrypt": {
        const dest = this.resolve(region, str(body, "DestinationKeyId", true), op);
        const { rec, plaintext } = this.open(region, blob(body, "CiphertextBlob"), context(body, "SourceEncryptionContext"), str(body, "SourceKeyId", false), op);
        return {
          CiphertextBlob: seal(dest, plaintext, context(body, "DestinationEncryptionContext")).toString("base64"),
          SourceKeyId: rec.arn,
          KeyId: dest.arn,
          SourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
          DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
        };
      }
    }
  }

  /** Resolves a KeyId (key id, key ARN, alias name, alias ARN) in a region and checks it may be used. */
  private resolve(region: string, keyIdParam: string, op: string, opts: { allowUnusable?: boolean } = {}): KeyRecord {
    let keyId: string | undefined;
    const m = ARN_RE.exec(keyIdParam);
    if (m) {
      const [, , arnRegion, account, kind, rest] = m as unknown as [string, string, string, string, string, string];
      if (arnRegion !== region || account !== this.account) throw notFound(keyIdParam);
      keyId = kind === "key" ? rest : this.aliases.get(`${region} alias/${rest}`);
    } else if (keyIdParam.startsWith("alias/")) {
      keyId = this.aliases.get(`${region} ${keyIdParam}`);
    } else {
      keyId = keyIdParam;
    }
    const rec = keyId === undefined ? undefined : this.keys.get(`${region} ${keyId}`);
    if (!rec) throw notFound(keyIdParam.startsWith("alias/") || m?.[4] === "alias" ? keyIdParam : `arn:aws:kms:${region}:${this.account}:key/${keyId ?? keyIdParam}`);
    this.usable(rec, op, opts.allowUnusable ?? false);
    return rec;
  }

  private usable(rec: KeyRecord, op: string, allowUnusable: boolean): void {
    if (rec.deny) {
      throw new KmsError(
        "AccessDeniedException",
        `User: ${this.principal} is not authorized to perform: kms:${op} on resource: ${rec.arn} with an explicit deny in a resource-based policy`,
      );
    }
    if (allowUnusable) return;
    if (rec.state === "Disabled") throw new KmsError("DisabledException", `${rec.arn} is disabled.`);
    if (rec.state === "PendingDeletion") throw new KmsError("KMSInvalidStateException", `${rec.arn} is pending deletion.`);
  }

  /** Decrypts a blob of ours in a region, checking an optional KeyId against the blob's key. */
  private open(region: string, ct: Buffer, ctx: Record<string, string>, keyIdParam: string, op: string): { rec: KeyRecord; plaintext: Buffer } {
    const parsed = parseBlob(ct);
    if (parsed === null) throw new KmsError("InvalidCiphertextException", "");
    let rec = this.keys.get(`${region} ${parsed.keyId}`);
    if (keyIdParam !== "") {
      const asked = this.resolve(region, keyIdParam, op, { allowUnusable: true });
      if (asked.keyId !== parsed.keyId) {
        throw new KmsError("IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.");
      }
      rec = asked;
    }
    if (!rec) throw new KmsError("InvalidCiphertextException", "");
    this.usable(rec, op, false);
    try {
      const d = createDecipheriv("aes-256-gcm", rec.material, parsed.nonce, { authTagLength: TAG });
      d.setAAD(aad(parsed.keyId, ctx));
      d.setAuthTag(parsed.tag);
      return { rec, plaintext: Buffer.concat([d.update(parsed.ct), d.final()]) };
    } catch {
      // KMS says nothing more for a wrong context or a damaged blob.
      throw new KmsError("InvalidCiphertextException", "");
    }
  }
}

function notFound(what: string): KmsError {
  return new KmsError("NotFoundException", `Key '${what}' does not exist`);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID() } });
}

function sleepUnlessGone(ms: number, signal: AbortSignal, waits: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      waits.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
    waits.add(done);
  });
}

function str(body: Record<string, unknown>, field: string, required: boolean): string {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw new KmsError("ValidationException", `1 validation error detected: Value null at '${field[0]!.toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`);
    return "";
  }
  if (typeof v !== "string" || v === "") throw new KmsError("ValidationException", `${field} must be a non-empty string.`);
  return v;
}

function blob(body: Record<string, unknown>, field: string): Buffer {
  const v = str(body, field, true);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new KmsError("SerializationException", `${field} is not base64.`);
  return Buffer.from(v, "base64");
}

function context(body: Record<string, unknown>, field: string): Record<string, string> {
  const v = body[field];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new KmsError("SerializationException", `${field} must be a map.`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== "string") throw new KmsError("SerializationException", `${field} values must be strings.`);
    out[k] = val;
  }
  return out;
}

function algorithm(body: Record<string, unknown>, field: string): void {
  const v = body[field];
  if (v !== undefined && v !== "SYMMETRIC_DEFAULT") throw new KmsError("InvalidKeyUsageException", `${String(v)} is not supported by this key.`);
}

function dataKeyBytes(body: Record<string, unknown>): number {
  const spec = body.KeySpec;
  const n = body.NumberOfBytes;
  if ((spec === undefined) === (n === undefined)) throw new KmsError("ValidationException", "Specify exactly one of KeySpec and NumberOfBytes.");
  if (spec === "AES_256") return 32;
  if (spec === "AES_128") return 16;
  if (typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 1024) return n;
  throw new KmsError("ValidationException", "Invalid KeySpec or NumberOfBytes.");
}

/** The AAD binding a blob to its key id and the canonical (sorted) encryption context. */
function aad(keyId: string, ctx: Record<string, string>): Buffer {
  const sorted = Object.keys(ctx)
    .sort()
    .map((k) => [k, ctx[k]]);
  return Buffer.from(`${keyId}\n${JSON.stringify(sorted)}`, "utf8");
}

/** CiphertextBlob: "FKM1" | keyId length (1) | keyId | nonce (12) | ciphertext | tag (16). */
function seal(rec: KeyRecord, plaintext: Buffer, ctx: Record<string, string>): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv("aes-256-gcm", rec.material, nonce, { authTagLength: TAG });
  c.setAAD(aad(rec.keyId, ctx));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  const id = Buffer.from(rec.keyId, "latin1");
  return Buffer.concat([BLOB_MAGIC, Buffer.of(id.length), id, nonce, ct, c.getAuthTag()]);
}

function parseBlob(b: Buffer): { keyId: string; nonce: Buffer; ct: Buffer; tag: Buffer } | null {
  if (b.length < BLOB_MAGIC.length + 1 || !b.subarray(0, BLOB_MAGIC.length).equals(BLOB_MAGIC)) return null;
  const idLen = b[BLOB_MAGIC.length]!;
  const start = BLOB_MAGIC.length + 1;
  if (b.length < start + idLen + NONCE + TAG + 1) return null;
  return {
    keyId: b.subarray(start, start + idLen).toString("latin1"),
    nonce: b.subarray(start + idLen, start + idLen + NONCE),
    ct: b.subarray(start + idLen + NONCE, b.length - TAG),
    tag: b.subarray(b.length - TAG),
  };
}

function metadata(rec: KeyRecord): Record<string, unknown> {
  return {
    AWSAccountId: rec.account,
    KeyId: rec.keyId,
    Arn: rec.arn,
    CreationDate: rec.created,
    Enabled: rec.state === "Enabled",
    Description: rec.description,
    KeyUsage: "ENCRYPT_DECRYPT",
    KeyState: rec.state,
    Origin: "AWS_KMS",
    KeyManager: "CUSTOMER",
    CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
    KeySpec: "SYMMETRIC_DEFAULT",
    EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
    MultiRegion: rec.multiRegion,
    ...(rec.multiRegion
      ? {
          MultiRegionConfiguration: {
            MultiRegionKeyType: rec.region === rec.primaryRegion ? "PRIMARY" : "REPLICA",
            PrimaryKey: { Arn: `arn:aws:kms:${rec.primaryRegion}:${rec.account}:key/${rec.keyId}`, Region: rec.primaryRegion },
          },
        }
      : {}),
  };
}
