// Helpers for tests that run the compiled binary: dist/conclave in a fresh temporary directory,
// on free ports, with its stdout captured line by line.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

/** ROOT is the repository root. */
export const ROOT = resolve(import.meta.dir, "../..");

/** BINARY is the single executable `npm run build` produces (TEST_CONCLAVE_BINARY points elsewhere). */
export const BINARY = process.env.TEST_CONCLAVE_BINARY ?? join(ROOT, "dist", "conclave");

/** requireBinary returns the binary's path, or throws the one message that tells what to do. */
export function requireBinary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run build first (npm test builds it before running the tests).`);
  return BINARY;
}

/** tempDir makes a fresh directory under the system temp dir; remove it with removeDir. */
export function tempDir(prefix = "conclave-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** removeDir deletes a temporary directory, ignoring errors. */
export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** freePorts asks the OS for n distinct unused TCP ports on 127.0.0.1. */
export function freePorts(n: number): number[] {
  const listeners = Array.from({ length: n }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = listeners.map((l) => l.port);
  for (const l of listeners) l.stop(true);
  return ports;
}

/** cleanEnv is the test runner's environment without any CONCLAVE_* variable, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CONCLAVE_")) env[k] = v;
  return { ...env, ...extra };
}

/** insecureTls lets Bun's fetch accept the binary's self-signed certificate. */
export const insecureTls = { tls: { rejectUnauthorized: false } } as const;

/** CliResult is what a finished command printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** runCli runs `dist/conclave ...args` to completion (killed after timeoutMs) in cwd. */
export async function runCli(args: string[], opts: { cwd: string; env?: Record<string, string>; stdin?: string; timeoutMs?: number }): Promise<CliResult> {
  const proc = Bun.spawn([requireBinary(), ...args], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** chunks reads a byte stream to its end. */
async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** SETUP_URL_LINE matches the one-time setup URL line `conclave serve` prints on first start. */
export const SETUP_URL_LINE = /^https:\/\/[^\s/]+\/setup\?token=[A-Za-z0-9_-]+$/;

/** StartOptions choose where and how the server runs. */
export interface StartOptions {
  /** Working directory (default: a fresh temp dir that stop() does not remove; pass your own to clean up). */
  cwd?: string;
  /** Data directory (default: <cwd>/data). */
  dataDir?: string;
  /** Extra environment (CONCLAVE_SMTP_HOST, ...). */
  env?: Record<string, string>;
  /** Extra command-line arguments after the standard ones. */
  args?: string[];
  /** Ports to listen on (default: two free ones); reuse a stopped server's ports to restart "the same" server. */
  ports?: { https: number; http: number };
  /** How long to wait for /readyz (default 30 s). */
  readyTimeoutMs?: number;
}

/** ConclaveServer is a running `dist/conclave serve`. */
export class ConclaveServer {
  /** Every stdout line so far, in order. */
  readonly lines: string[] = [];
  /** Everything written to stderr so far. */
  stderr = "";
  private waiters: (() => void)[] = [];
  private exitCode: number | null = null;
  private readonly drained: Promise<void>;

  constructor(
    readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    readonly cwd: string,
    readonly dataDir: string,
    readonly httpsPort: number,
    readonly httpPort: number,
  ) {
    void proc.exited.then((code) => {
      this.exitCode = code;
      this.notify();
    });
    this.drained = Promise.all([this.readLines(proc.stdout), this.readStderr(proc.stderr)]).then(() => undefined);
  }

  /** baseUrl reaches the server from Bun's fetch (IPv4 loopback, where it listens). */
  get baseUrl(): string {
    return `https://127.0.0.1:${this.httpsPort}`;
  }

  /** browserUrl is the origin the server prints in its links (https://localhost:N). */
  get browserUrl(): string {
    return `https://localhost:${this.httpsPort}`;
  }

  /** exited tells whether the process has ended. */
  get exited(): boolean {
    return this.exitCode !== null;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async readLines(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of chunks(stream)) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      this.notify();
    }
    if (buf) this.lines.push(buf);
    this.notify();
  }

  private async readStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of chunks(stream)) this.stderr += decoder.decode(chunk, { stream: true });
  }

  /** describe is the process output, for failure messages. */
  describe(): string {
    return `exit code: ${this.exitCode ?? "(running)"}\nstdout:\n${this.lines.join("\n")}\nstderr:\n${this.stderr}`;
  }

  /** waitForLine resolves with the first stdout line matching `match`; rejects on exit or timeout. */
  waitForLine(match: RegExp, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`no stdout line matching ${match} within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      const check = () => {
        const line = this.lines.find((l) => match.test(l));
        if (line !== undefined) {
          clearTimeout(timer);
          resolvePromise(line);
        } else if (this.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`the server exited before printing a line matching ${match}\n${this.describe()}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** setupUrl waits for the one-time setup URL line. */
  setupUrl(timeoutMs?: number): Promise<string> {
    return this.waitForLine(SETUP_URL_LINE, timeoutMs);
  }

  /** waitReady polls GET /readyz until it answers 200. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (this.exitCode !== null) throw new Error(`the server exited while starting\n${this.describe()}`);
      try {
        const res = await fetch(`${this.baseUrl}/readyz`, { ...insecureTls, signal: AbortSignal.timeout(5_000) });
        if (res.status === 200) return;
        last = `HTTP ${res.status}: ${await res.text()}`;
      } catch (e) {
        last = String(e);
      }
      await Bun.sleep(50); // polling interval, not a timing assumption
    }
    throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms (last: ${last})\n${this.describe()}`);
  }

  /** stop sends SIGTERM, waits for the exit (SIGKILL after timeoutMs) and for the output to drain; returns the exit code. */
  async stop(timeoutMs = 10_000): Promise<number> {
    if (this.exitCode === null) {
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
      await this.proc.exited;
      clearTimeout(timer);
    }
    await this.drained;
    return this.exitCode ?? (await this.proc.exited);
  }
}

/** startConclave spawns `dist/conclave serve` on free ports bound to 127.0.0.1 and waits for /readyz. */
export async function startConclave(opts: StartOptions = {}): Promise<ConclaveServer> {
  const binary = requireBinary();
  const cwd = opts.cwd ?? tempDir();
  const dataDir = opts.dataDir ?? join(cwd, "data");
  const [httpsPort, httpPort] = opts.ports ? [opts.ports.https, opts.ports.http] : (freePorts(2) as [number, number]);
  const proc = Bun.spawn(
    [binary, "serve", "--data-dir", dataDir, "--https-port", String(httpsPort), "--http-port", String(httpPort), "--bind", "127.0.0.1", "--media-port", "0", ...(opts.args ?? [])],
    { cwd, env: cleanEnv(opts.env), stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const server = new ConclaveServer(proc, cwd, dataDir, httpsPort, httpPort);
  try {
    await server.waitReady(opts.readyTimeoutMs);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}
