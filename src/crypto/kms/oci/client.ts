/**
 * Building the OCI SDK's KmsCryptoClient the way the oci-vault provider needs it:
 *
 * - The SDK (oci-common + oci-keymanagement, ~250 ms to load) is imported on first use, so
 *   servers that do not use oci-vault never load it.
 * - Authentication is the SDK's own: ConfigFileAuthenticationDetailsProvider (an OCI config
 *   file and profile; the API private key lives in the file that profile's key_file names),
 *   instance principals or resource principals. Requests are signed by the SDK's
 *   DefaultRequestSigner (OCI HTTP signatures, RSA-SHA256).
 * - HTTP goes through SigningHttpClient: signs, then fetch() with a time limit per attempt that
 *   covers the whole answer (a timeout is an error with code ETIMEDOUT), no redirects, and no
 *   SDK circuit breaker (its open state would turn a short outage into 30 s of failures and
 *   count refusals as faults).
 * - Retries are the SDK retrier's, bounded: maxAttempts attempts in all, 200 ms doubling up to
 *   2 s between them, only for timeouts, connection errors, 5xx and 429. Credentials that cannot
 *   be loaded or used are never retried.
 */
import type { AuthenticationDetailsProvider, ClientConfiguration, HttpClient, HttpRequest, OciError, RequestSigner } from "oci-common";
import type { KmsCryptoClient } from "oci-keymanagement";
import { AsyncLocalStorage } from "node:async_hooks";
import { CREDENTIALS_ERROR_CODE } from "./errors.ts";

/** The SDK modules, loaded on first use. */
export interface OciSdk {
  common: typeof import("oci-common");
  km: typeof import("oci-keymanagement");
}

let sdk: Promise<OciSdk> | null = null;

/** loadOciSdk imports oci-common and oci-keymanagement once. */
export function loadOciSdk(): Promise<OciSdk> {
  sdk ??= Promise.all([import("oci-common"), import("oci-keymanagement")]).then(([common, km]) => ({ common, km }));
  return sdk;
}

const inOciCall = new AsyncLocalStorage<true>();
const QUIET = Symbol.for("conclave.oci-vault.quiet");
type Marked<F> = F & { [QUIET]?: true };

/**
 * quietly runs one SDK call with oci-common's own console chatter dropped: its retrier writes
 * "Request cannot be retried…" / "Retrying request…" lines with console.warn on every failure,
 * and its signer triggers Node's url.parse() deprecation warning (DEP0169). Only output made
 * inside the call's async context is dropped (AsyncLocalStorage); the classified
 * KeyUnavailableError carries the same information, and everything else still reaches the
 * console. The filters wrap whatever console.warn / process.emitWarning are at call time.
 */
export function quietly<T>(fn: () => Promise<T>): Promise<T> {
  if ((console.warn as Marked<typeof console.warn>)[QUIET] !== true) {
    const warn = console.warn;
    const filtered: Marked<typeof console.warn> = function (this: unknown, ...args: unknown[]): void {
      if (inOciCall.getStore() !== true) warn.apply(this, args);
    };
    filtered[QUIET] = true;
    console.warn = filtered;
  }
  if ((process.emitWarning as Marked<typeof process.emitWarning>)[QUIET] !== true) {
    const emit = process.emitWarning as (...a: unknown[]) => void;
    const filtered = function (this: unknown, ...args: unknown[]): void {
      const w = args[0] as { code?: unknown } | string;
      const opt = args[1] as { code?: unknown } | string | undefined;
      const code = typeof w === "object" && w !== null ? w.code : typeof opt === "object" && opt !== null ? opt.code : args[2];
      if (inOciCall.getStore() === true && code === "DEP0169") return;
      emit.apply(this, args);
    } as Marked<typeof process.emitWarning>;
    filtered[QUIET] = true;
    process.emitWarning = filtered;
  }
  return inOciCall.run(true, fn);
}

/** OciAuth is how the provider authenticates; secrets stay in OCI's own files or the instance's identity. */
export type OciAuth = { type: "config_file"; configFile: string | undefined; profile: string } | { type: "instance_principal" } | { type: "resource_principal" };

const RETRY_BASE_SECONDS = 0.2;
const RETRY_MAX_SECONDS = 2;
/** Instance principals ask the instance metadata service and the auth service: bound how long that may take. */
const PRINCIPAL_BUILD_MIN_MS = 5000;

/** credentialsError wraps a failure to load or use OCI credentials so the classifier calls it "credentials" and the SDK does not retry it. */
export function credentialsError(err: unknown, what: string): Error & { code: string; shouldBeRetried: false } {
  const msg = err instanceof Error ? err.message : typeof err === "string" ? err : String(err);
  return Object.assign(new Error(`${what}: ${msg}`), { code: CREDENTIALS_ERROR_CODE, shouldBeRetried: false as const });
}

/** buildAuthProvider makes the SDK authentication provider; failures are credentialsError. */
export async function buildAuthProvider(s: OciSdk, auth: OciAuth, timeoutMs: number): Promise<AuthenticationDetailsProvider> {
  try {
    switch (auth.type) {
      case "config_file":
        return new s.common.ConfigFileAuthenticationDetailsProvider(auth.configFile, auth.profile);
      case "resource_principal":
        return s.common.ResourcePrincipalAuthenticationDetailsProvider.builder();
      case "instance_principal": {
        const limit = Math.max(PRINCIPAL_BUILD_MIN_MS, timeoutMs);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no instance principal credentials within ${limit} ms (is this an OCI compute instance in a dynamic group?)`)), limit);
        });
        try {
          return await Promise.race([new s.common.InstancePrincipalsAuthenticationDetailsProviderBuilder().build(), expired]);
        } finally {
          clearTimeout(timer);
        }
      }
    }
  } catch (err) {
    const what =
      auth.type === "config_file"
        ? `Cannot load OCI credentials from ${auth.configFile ?? "the default OCI config file (~/.oci/config or OCI_CONFIG_FILE)"}, profile ${auth.profile}`
        : `Cannot get OCI ${auth.type === "instance_principal" ? "instance principal" : "resource principal"} credentials`;
    throw credentialsError(err, what);
  }
}

/** SigningHttpClient is the SDK HttpClient the provider uses: SDK request signing, per-attempt time limit, no circuit breaker. */
export class SigningHttpClient implements HttpClient {
  constructor(
    private readonly signer: () => Promise<RequestSigner>,
    private readonly timeoutMs: number,
  ) {}

  async send(req: HttpRequest, forceExcludeBody = false): Promise<Response> {
    if (req.body !== undefined && req.body !== null && typeof req.body !== "string") throw new TypeError("oci-vault sends JSON text bodies only");
    const body: string | undefined = req.body ?? undefined;
    // The signer would derive Host with the deprecated url.parse() (a runtime warning); set it here.
    if (!req.headers.has("host")) req.headers.set("host", new URL(req.uri).host);
    try {
      const signer = await this.signer();
      await signer.signHttpRequest({ method: req.method, headers: req.headers, uri: req.uri, body }, forceExcludeBody);
    } catch (err) {
      if ((err as { code?: unknown })?.code === CREDENTIALS_ERROR_CODE) throw err;
      throw credentialsError(err, "Cannot sign the OCI request with the configured credentials");
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    try {
      const res = await fetch(req.uri, { method: req.method, headers: req.headers, body, signal: ac.signal, redirect: "manual" });
      const data = await res.arrayBuffer();
      return new Response(res.status === 204 || res.status === 304 ? null : data, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      if (ac.signal.aborted) {
        throw Object.assign(new Error(`No answer from OCI Vault within ${this.timeoutMs} ms (${req.method} ${new URL(req.uri).pathname})`), { code: "ETIMEDOUT" });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** retryConfiguration is the bounded retry budget: `maxAttempts` attempts, short backoff, only transient failures. */
export function retryConfiguration(s: OciSdk, maxAttempts: number): ClientConfiguration["retryConfiguration"] {
  return {
    terminationStrategy: new s.common.MaxAttemptsTerminationStrategy(maxAttempts),
    delayStrategy: { delay: (ctx) => Math.min(RETRY_BASE_SECONDS * 2 ** ctx.attemptCount, RETRY_MAX_SECONDS) },
    retryCondition: (e: OciError) => e.statusCode === 429 || e.statusCode >= 500 || e.statusCode === -1,
    backupBinaryBody: false,
  };
}

/** createCryptoClient builds a KmsCryptoClient for the vault's crypto endpoint. */
export function createCryptoClient(s: OciSdk, endpoint: string, signer: () => Promise<RequestSigner>, timeoutMs: number, maxAttempts: number): KmsCryptoClient {
  const client = new s.km.KmsCryptoClient(
    { httpClient: new SigningHttpClient(signer, timeoutMs) },
    { retryConfiguration: retryConfiguration(s, maxAttempts), circuitBreaker: new s.common.CircuitBreaker({ disableClientCircuitBreaker: true }) },
  );
  client.endpoint = endpoint;
  return client;
}
