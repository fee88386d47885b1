/**
 * The AWS KMS provider: the KEK is a symmetric KMS key (ENCRYPT_DECRYPT, AES-256-GCM inside
 * AWS's HSMs); Conclave sends the DEK to KMS Encrypt and gets it back from KMS Decrypt. The
 * wrap context is passed as the KMS EncryptionContext (e.g. {account, data class, key
 * version}), which KMS binds to the ciphertext: unwrap with another context fails (denied,
 * reason "invalid_ciphertext") and every use shows in CloudTrail with that context.
 *
 * Options (KeyProviderOptions.aws, see AwsKmsOptions): keyId (key or alias ARN), replicaKeyIds
 * (multi-region replicas), region, endpoint / regionEndpoints, timeoutMs, maxAttempts.
 * Credentials never come from Conclave's config: each KMSClient uses the AWS SDK's default
 * chain (environment, shared files / AWS_PROFILE, web identity, ECS/EC2 roles).
 *
 * Wrapped DEK format: see ./aws/format.ts — 0x01 | u16 ARN length | key ARN | CiphertextBlob.
 *
 * Availability: every call has a per-attempt time limit (timeoutMs, connect and whole request)
 * and at most maxAttempts attempts (the SDK retries timeouts, 5xx and throttling with backoff).
 * When the primary region is *unreachable*, the multi-region replicas are tried in order:
 * wrap then stores the replica's ARN, and unwrap of any ciphertext of that multi-region key
 * works in any of its regions (the key material is shared). A *denied* answer is never routed
 * around: from the primary it fails at once; from a replica (primary unreachable) it is the
 * result. Failures are KeyUnavailableError (AppError "unavailable") with kind unreachable or
 * denied, the reason, and the SDK's error text verbatim; see ./aws/errors.ts.
 *
 * unwrap only asks keys in the AWS partition and account of the configured key: a wrapped DEK
 * naming a key of another account (tampered storage) is refused without calling KMS.
 *
 * The factory makes no network call (a KMS outage must not stop the server from starting);
 * health() is the check: DescribeKey (KeyState Enabled, KeyUsage ENCRYPT_DECRYPT) and an
 * Encrypt/Decrypt round trip in the primary region and every replica region, in parallel.
 * The key policy must allow the Conclave principal kms:Encrypt, kms:Decrypt,
 * kms:GenerateDataKey and kms:DescribeKey (DescribeKey only improves diagnostics).
 */
import { probeKeyProvider } from "./probe.ts";
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { AppError } from "../../shared/errors.ts";
import { isMultiRegionKeyId, parseKmsArn, type KmsArn } from "./aws/arn.ts";
import { classifyAwsKmsError, REASON_TEXT } from "./aws/errors.ts";
import { decodeWrapped, encodeWrapped } from "./aws/format.ts";
import { KeyUnavailableError, type AwsKmsOptions, type HealthResult, type KeyProvider, type KeyProviderDescription, type KeyProviderOptions } from "./types.ts";

export type { AwsKmsOptions } from "./types.ts";
export { AWS_KMS_WRAP_VERSION } from "./aws/format.ts";
export { classifyAwsKmsError } from "./aws/errors.ts";

export const AWS_KMS_DEFAULT_TIMEOUT_MS = 5000;
export const AWS_KMS_DEFAULT_MAX_ATTEMPTS = 3;
const MAX_PLAINTEXT_KEY = 1024;
const HEALTH_CONTEXT = { purpose: "conclave-health-check" };

/** AwsKmsKeyProvider is the aws-kms KeyProvider plus KMS-side data key generation. */
export interface AwsKmsKeyProvider extends KeyProvider {
  /** GenerateDataKey: a fresh random DEK from KMS, returned in plaintext and wrapped (same format as wrap). */
  generateDataKey(context: Record<string, string>, bytes?: number): Promise<{ plaintextKey: Uint8Array; wrapped: Uint8Array }>;
  close(): Promise<void>;
}

interface Settings {
  key: KmsArn;
  replicas: KmsArn[];
  endpoints: Map<string, string>;
  timeoutMs: number;
  maxAttempts: number;
}

/** A key in a region to send a call to. */
interface Target {
  keyId: string;
  region: string;
}

/** createAwsKmsKeyProvider checks the options and builds the provider; it makes no AWS call (see health()). */
export async function createAwsKmsKeyProvider(opts: KeyProviderOptions): Promise<AwsKmsKeyProvider> {
  return new AwsKms(parseOptions(opts.aws));
}

/** probeAwsKmsKeyProvider is the "test this key" action: open, health check, close; never throws. */
export async function probeAwsKmsKeyProvider(opts: KeyProviderOptions): Promise<HealthResult> {
  return probeKeyProvider(createAwsKmsKeyProvider, opts);
}

/**
 * AwsKmsConfigSection is the [aws_kms] config section as the config loader types it; lists
 * are comma- or space-separated strings.
 */
export interface AwsKmsConfigSection {
  key_id: string;
  replica_key_ids: string;
  region: string;
  endpoint: string;
  /** "REGION=URL" pairs, e.g. "eu-west-1=https://vpce-…kms.eu-west-1.vpce.amazonaws.com". */
  region_endpoints: string;
  timeout_ms: number;
  max_attempts: number;
}

/** awsKmsOptionsFromConfig maps the [aws_kms] section to provider options; undefined when key_id is empty. */
export function awsKmsOptionsFromConfig(c: AwsKmsConfigSection): AwsKmsOptions | undefined {
  if (c.key_id.trim() === "") return undefined;
  const list = (s: string): string[] => s.split(/[\s,]+/).filter((x) => x !== "");
  const regionEndpoints: Record<string, string> = {};
  for (const pair of list(c.region_endpoints)) {
    const eq = pair.indexOf("=");
    if (eq <= 0 || eq === pair.length - 1) {
      throw new AppError("invalid_input", `Invalid [aws_kms] region_endpoints entry ${JSON.stringify(pair)}: expected REGION=URL.`);
    }
    regionEndpoints[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    keyId: c.key_id.trim(),
    replicaKeyIds: list(c.replica_key_ids),
    region: c.region.trim() || undefined,
    endpoint: c.endpoint.trim() || undefined,
    regionEndpoints,
    timeoutMs: c.timeout_ms,
    maxAttempts: c.max_attempts,
  };
}

function parseOptions(o: AwsKmsOptions | undefined): Settings {
  if (o === undefined) {
    throw new AppError("invalid_input", "Missing aws-kms options: the aws-kms key provider needs at least the key ARN (keyId).");
  }
  const bad = (msg: string): never => {
    throw new AppError("invalid_input", `Invalid aws-kms options: ${msg}.`);
  };
  if (typeof o.keyId !== "string") bad("keyId must be a string");
  const key = parseKmsArn(o.keyId);
  if (key === null) {
    bad(
      `keyId must be a full key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME), got ${JSON.stringify(o.keyId)}; ` +
        "bare key ids and alias names are refused so that the account is pinned",
    );
  }
  const k = key as KmsArn;
  if (o.region !== undefined && o.region !== k.region) bad(`region ${JSON.stringify(o.region)} differs from the region in keyId (${k.region})`);

  const replicas: KmsArn[] = [];
  const regions = new Set([k.region]);
  for (const r of o.replicaKeyIds ?? []) {
    const rep = typeof r === "string" ? parseKmsArn(r) : null;
    if (rep === null || rep.type !== "key" || !isMultiRegionKeyId(rep.resource)) {
      bad(`replicaKeyIds must be multi-region key ARNs (arn:aws:kms:REGION:ACCOUNT:key/mrk-…), got ${JSON.stringify(r)}`);
    }
    const p = rep as KmsArn;
    if (p.partition !== k.partition || p.account !== k.account) bad(`replica ${p.arn} is not in the partition and account of keyId`);
    if (k.type === "key" && p.resource !== k.resource) bad(`replica ${p.arn} has another key id than keyId (${k.resource}); multi-region replicas share the mrk-… id`);
    if (replicas.length > 0 && p.resource !== replicas[0]!.resource) bad(`replicas ${replicas[0]!.arn} and ${p.arn} are not replicas of the same key`);
    if (regions.has(p.region)) bad(`two keys in region ${p.region}: a replica must be in another region than the primary and the other replicas`);
    regions.add(p.region);
    replicas.push(p);
  }
  if (replicas.length > 0 && k.type === "key" && !isMultiRegionKeyId(k.resource)) bad(`replicaKeyIds need keyId to be a multi-region key (key/mrk-…), got ${k.arn}`);

  const endpoints = new Map<string, string>();
  const endpoint = (region: string, url: unknown): void => {
    if (typeof url !== "string") return bad(`the endpoint for ${region} must be a URL`);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return bad(`the endpoint for ${region} is not a URL: ${JSON.stringify(url)}`);
    }
    const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
    if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
      bad(`the endpoint for ${region} must be https:// (plain http only on 127.0.0.1/localhost, where DEKs do not cross a network), got ${url}`);
    }
    if (u.username !== "" || u.password !== "") bad(`the endpoint for ${region} must not contain credentials`);
    endpoints.set(region, url);
  };
  for (const [region, url] of Object.entries(o.regionEndpoints ?? {})) endpoint(region, url);
  if (o.endpoint !== undefined && o.endpoint !== "") endpoint(k.region, o.endpoint);

  const timeoutMs = o.timeoutMs ?? AWS_KMS_DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 120_000) bad(`timeoutMs must be an integer from 50 to 120000, got ${String(o.timeoutMs)}`);
  const maxAttempts = o.maxAttempts ?? AWS_KMS_DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) bad(`maxAttempts must be an integer from 1 to 10, got ${String(o.maxAttempts)}`);
  return { key: k, replicas, endpoints, timeoutMs, maxAttempts };
}

function checkContext(context: Record<string, string>): Record<string, string> | undefined {
  const keys = Object.keys(context);
  for (const k of keys) {
    if (typeof context[k] !== "string") throw new TypeError(`wrap context value for "${k}" must be a string`);
  }
  return keys.length === 0 ? undefined : { ...context };
}

class AwsKms implements AwsKmsKeyProvider {
  readonly name = "aws-kms";
  readonly hsmGrade = true;
  private readonly clients = new Map<string, KMSClient>();
  private closed = false;
  /** The key ARN an alias resolved to, once KMS told us. */
  private resolvedArn: string | null = null;

  constructor(private readonly s: Settings) {}

  async wrap(plaintextKey: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    if (plaintextKey.length === 0 || plaintextKey.length > MAX_PLAINTEXT_KEY) {
      throw new RangeError(`a wrapped key must be 1 to ${MAX_PLAINTEXT_KEY} bytes, got ${plaintextKey.length}`);
    }
    const ctx = checkContext(context);
    return this.withFallback("Encrypt", this.wrapTargets(), async (t, client) => {
      const out = await client.send(new EncryptCommand({ KeyId: t.keyId, Plaintext: plaintextKey, EncryptionContext: ctx }));
      return encodeWrapped(this.keyArnOf(t, out.KeyId, "Encrypt"), this.blob(t, out.CiphertextBlob, "Encrypt", "CiphertextBlob"));
    });
  }

  async generateDataKey(context: Record<string, string>, bytes = 32): Promise<{ plaintextKey: Uint8Array; wrapped: Uint8Array }> {
    if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > MAX_PLAINTEXT_KEY) throw new RangeError(`a data key must be 1 to ${MAX_PLAINTEXT_KEY} bytes, got ${bytes}`);
    const ctx = checkContext(context);
    return this.withFallback("GenerateDataKey", this.wrapTargets(), async (t, client) => {
      const out = await client.send(new GenerateDataKeyCommand({ KeyId: t.keyId, NumberOfBytes: bytes, EncryptionContext: ctx }));
      const plaintextKey = this.blob(t, out.Plaintext, "GenerateDataKey", "Plaintext");
      if (plaintextKey.length !== bytes) throw this.malformed(t, "GenerateDataKey", `Plaintext of ${plaintextKey.length} bytes, asked for ${bytes}`);
      return { plaintextKey, wrapped: encodeWrapped(this.keyArnOf(t, out.KeyId, "GenerateDataKey"), this.blob(t, out.CiphertextBlob, "GenerateDataKey", "CiphertextBlob")) };
    });
  }

  async unwrap(wrapped: Uint8Array, context: Record<string, string>): Promise<Uint8Array> {
    const ctx = checkContext(context);
    const { key, ciphertextBlob } = decodeWrapped(wrapped);
    if (key.partition !== this.s.key.partition || key.account !== this.s.key.account) {
      throw new AppError(
        "internal",
        `Refusing to unwrap a data key that names ${key.arn}: this aws-kms provider only uses keys of AWS account ${this.s.key.account} (${this.s.key.partition}). ` +
          "The stored wrapped key was altered, or it was wrapped under another account's key and needs a provider configured for that key.",
      );
    }
    return this.withFallback("Decrypt", this.unwrapTargets(key), async (t, client) => {
      const out = await client.send(new DecryptCommand({ KeyId: t.keyId, CiphertextBlob: ciphertextBlob, EncryptionContext: ctx }));
      return this.blob(t, out.Plaintext, "Decrypt", "Plaintext");
    });
  }

  async health(): Promise<HealthResult> {
    try {
      const targets = this.wrapTargets();
      const results = await Promise.all(targets.map((t) => this.checkRegion(t)));
      const lines = results.map((r, i) => `${i === 0 ? "primary" : "replica"} ${targets[i]!.region}: ${r.ok ? r.detail : r.error.message}`);
      const primary = results[0]!;
      const served = results.findIndex((r) => r.ok);
      if (primary.ok) return { ok: true, detail: `AWS KMS key ${this.label()} usable. ${lines.join(" | ")}` };
      if (primary.error.kind === "unreachable") {
        const denied = results.find((r): r is { ok: false; error: KeyUnavailableError } => !r.ok && r.error.kind === "denied");
        if (denied === undefined && served > 0) {
          return { ok: true, detail: `AWS KMS key ${this.label()} usable through replica ${targets[served]!.region}; the primary region is unreachable. ${lines.join(" | ")}` };
        }
        if (denied !== undefined) return this.failed(denied.error, lines);
      }
      return this.failed(primary.error, lines);
    } catch (err) {
      return { ok: false, detail: `Health check of AWS KMS key ${this.s.key.arn} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  describe(): KeyProviderDescription {
    const replicas = this.s.replicas.length > 0 ? `; multi-region replicas in ${this.s.replicas.map((r) => r.region).join(", ")}` : "";
    const alias = this.s.key.type === "alias" ? ` (alias${this.resolvedArn ? ` of ${this.resolvedArn}` : ""})` : "";
    return {
      provider: "aws-kms",
      keyId: this.s.key.arn,
      hsmGrade: true,
      note: `AWS KMS key${alias} in ${this.s.key.region}${replicas}. The key never leaves AWS KMS's HSMs; AWS credentials come from the AWS SDK's default chain.`,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }

  // ---- internals ----

  private label(): string {
    return this.resolvedArn && this.resolvedArn !== this.s.key.arn ? `${this.s.key.arn} (${this.resolvedArn})` : this.s.key.arn;
  }

  private wrapTargets(): Target[] {
    return [{ keyId: this.s.key.arn, region: this.s.key.region }, ...this.s.replicas.map((r) => ({ keyId: r.arn, region: r.region }))];
  }

  /** The key that wrapped, then the configured copies of the same multi-region key in other regions. */
  private unwrapTargets(key: KmsArn): Target[] {
    const out: Target[] = [{ keyId: key.arn, region: key.region }];
    if (!isMultiRegionKeyId(key.resource)) return out;
    const configured = [this.s.key, ...this.s.replicas].filter((k) => k.type === "key");
    for (const k of configured) {
      if (k.resource === key.resource && !out.some((t) => t.region === k.region)) out.push({ keyId: k.arn, region: k.region });
    }
    return out;
  }

  private client(region: string): KMSClient {
    if (this.closed) throw new AppError("internal", `The aws-kms provider for ${this.s.key.arn} was closed.`);
    let c = this.clients.get(region);
    if (c === undefined) {
      c = new KMSClient({
        region,
        endpoint: this.s.endpoints.get(region),
        maxAttempts: this.s.maxAttempts,
        // requestTimeout alone only logs a warning in @smithy/node-http-handler 4.x;
        // throwOnRequestTimeout turns it into a TimeoutError the retry strategy counts.
        requestHandler: { requestTimeout: this.s.timeoutMs, connectionTimeout: this.s.timeoutMs, throwOnRequestTimeout: true },
      });
      this.clients.set(region, c);
    }
    return c;
  }

  /** One KMS call, its failure turned into a KeyUnavailableError. */
  private async call<T>(op: string, t: Target, fn: (client: KMSClient) => Promise<T>): Promise<T> {
    const client = this.client(t.region);
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof AppError) throw err;
      const c = classifyAwsKmsError(err);
      return this.fail(op, t, c.kind, c.reason, c.providerMessage);
    }
  }

  private fail(op: string, t: Target, kind: KeyUnavailableError["kind"], reason: KeyUnavailableError["reason"], providerMessage: string): never {
    const state = kind === "unreachable" ? "unreachable" : "denied";
    throw new KeyUnavailableError({
      kind,
      reason,
      keyId: t.keyId,
      providerMessage,
      message: `AWS KMS key ${t.keyId} is ${state}: ${REASON_TEXT[reason]}. ${op} in ${t.region} failed with: ${providerMessage}`,
    });
  }

  private malformed(t: Target, op: string, what: string): KeyUnavailableError {
    try {
      return this.fail(op, t, "unreachable", "server_error", `malformed ${op} response: ${what}`);
    } catch (e) {
      return e as KeyUnavailableError;
    }
  }

  private blob(t: Target, v: Uint8Array | undefined, op: string, field: string): Uint8Array {
    if (!(v instanceof Uint8Array) || v.length === 0) throw this.malformed(t, op, `no ${field}`);
    return v;
  }

  private keyArnOf(t: Target, keyId: string | undefined, op: string): string {
    const arn = keyId ? parseKmsArn(keyId) : null;
    if (arn === null || arn.type !== "key") throw this.malformed(t, op, `KeyId ${JSON.stringify(keyId)} is not a key ARN`);
    if (t.keyId === this.s.key.arn && this.s.key.type === "alias") this.resolvedArn = arn.arn;
    return arn.arn;
  }

  /**
   * Runs `fn` against the first target; on "unreachable" moves to the next. "denied" stops at
   * once. When every target is unreachable, the first (primary) error is thrown, with the
   * others named in its message.
   */
  private async withFallback<T>(op: string, targets: Target[], fn: (t: Target, client: KMSClient) => Promise<T>): Promise<T> {
    const unreachable: KeyUnavailableError[] = [];
    for (const t of targets) {
      try {
        return await this.call(op, t, (client) => fn(t, client));
      } catch (err) {
        if (!(err instanceof KeyUnavailableError)) throw err;
        if (err.kind === "denied") {
          if (unreachable.length === 0) throw err;
          throw new KeyUnavailableError({
            kind: err.kind,
            reason: err.reason,
            keyId: err.keyId,
            providerMessage: err.providerMessage,
            message: `${err.message} (tried after: ${unreachable.map((u) => u.message).join("; ")})`,
          });
        }
        unreachable.push(err);
      }
    }
    const first = unreachable[0]!;
    if (unreachable.length === 1) throw first;
    throw new KeyUnavailableError({
      kind: "unreachable",
      reason: first.reason,
      keyId: first.keyId,
      providerMessage: first.providerMessage,
      message: `${first.message} Replicas also unreachable: ${unreachable
        .slice(1)
        .map((u) => `${u.keyId}: ${u.providerMessage}`)
        .join("; ")}`,
    });
  }

  private failed(err: KeyUnavailableError, lines: string[]): HealthResult {
    return { ok: false, kind: err.kind, reason: err.reason, providerMessage: err.providerMessage, detail: `${err.message} | ${lines.join(" | ")}` };
  }

  /** DescribeKey + Encrypt/Decrypt round trip against one region's key. */
  private async checkRegion(t: Target): Promise<{ ok: true; detail: string } | { ok: false; error: KeyUnavailableError }> {
    try {
      let describe = "";
      try {
        const d = await this.call("DescribeKey", t, (c) => c.send(new DescribeKeyCommand({ KeyId: t.keyId })));
        const m = d.KeyMetadata;
        if (m?.Arn && t.keyId === this.s.key.arn && this.s.key.type === "alias") this.resolvedArn = m.Arn;
        if (m?.KeyState !== "Enabled") {
          const state = m?.KeyState ?? "unknown";
          const reason = state === "Disabled" ? "disabled" : state === "PendingDeletion" || state === "PendingReplicaDeletion" ? "pending_deletion" : "invalid_state";
          this.fail("DescribeKey", t, "denied", reason, `KeyState ${state}`);
        }
        if (m.KeyUsage !== "ENCRYPT_DECRYPT") this.fail("DescribeKey", t, "denied", "invalid_key_usage", `KeyUsage ${String(m.KeyUsage)}`);
        describe = `key ${m.Arn ?? t.keyId} Enabled, ENCRYPT_DECRYPT`;
      } catch (err) {
        // A key policy may grant Encrypt/Decrypt without DescribeKey: the round trip decides.
        if (!(err instanceof KeyUnavailableError) || err.reason !== "access_denied") throw err;
        describe = "DescribeKey not permitted (grant kms:DescribeKey for better diagnostics)";
      }
      const probe = randomBytes(32);
      const enc = await this.call("Encrypt", t, (c) => c.send(new EncryptCommand({ KeyId: t.keyId, Plaintext: probe, EncryptionContext: HEALTH_CONTEXT })));
      const blob = this.blob(t, enc.CiphertextBlob, "Encrypt", "CiphertextBlob");
      const dec = await this.call("Decrypt", t, (c) => c.send(new DecryptCommand({ KeyId: t.keyId, CiphertextBlob: blob, EncryptionContext: HEALTH_CONTEXT })));
      const back = this.blob(t, dec.Plaintext, "Decrypt", "Plaintext");
      if (back.length !== probe.length || !timingSafeEqual(back, probe)) throw this.malformed(t, "Decrypt", "round trip returned different bytes");
      return { ok: true, detail: `${describe}; Encrypt/Decrypt round trip ok` };
    } catch (err) {
      if (err instanceof KeyUnavailableError) return { ok: false, error: err };
      const c = classifyAwsKmsError(err);
      try {
        return this.fail("health check", t, c.kind, c.reason, c.providerMessage);
      } catch (e) {
        return { ok: false, error: e as KeyUnavailableError };
      }
    }
  }
}
