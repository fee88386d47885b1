// Starting, timing, measuring and stopping the servers under test (Conclave and the hello
// baseline), plus the real first-run setup flow that yields a session cookie.

import { closeSync, openSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";

const TLS_ANY = { rejectUnauthorized: false } as const;

/** Children remembers every process the benchmark started so they can all be stopped in `finally`. */
export interface Children {
  spawn(cmd: string[], logPath: string): Subprocess;
  /** adopt tracks a process started elsewhere (a load generator) until it exits. */
  adopt(proc: Subprocess): void;
  stop(proc: Subprocess): Promise<void>;
  stopAll(): Promise<void>;
}

/** createChildren returns an empty set of tracked child processes. */
export function createChildren(): Children {
  const live = new Set<Subprocess>();
  const stop = async (proc: Subprocess): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
      if (!exited) {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    }
    live.delete(proc);
  };
  return {
    spawn(cmd, logPath) {
      // stdout/stderr go to a file: nothing has to drain a pipe while the server is under load.
      const fd = openSync(logPath, "w");
      try {
        const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: fd, stderr: fd });
        live.add(proc);
        return proc;
      } finally {
        closeSync(fd);
      }
    },
    adopt(proc) {
      live.add(proc);
      void proc.exited.then(() => live.delete(proc));
    },
    stop,
    async stopAll() {
      await Promise.all([...live].map(stop));
    },
  };
}

/** freePort asks the OS for an unused TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** Started is a server that answered 200 on its readiness path. */
export interface Started {
  proc: Subprocess;
  base: string;
  /** readyMs is the time from just before spawn until the first 200 response. */
  readyMs: number;
}

/** startAndTime spawns `binary serve` on a data dir and polls `readyPath` every 5 ms until it answers 200. */
export async function startAndTime(children: Children, binary: string, dataDir: string, logPath: string, readyPath: string): Promise<Started> {
  const port = freePort();
  const base = `https://127.0.0.1:${port}`;
  const cmd = [binary, "serve", "--data-dir", dataDir, "--https-port", String(port), "--http-port", "0", "--bind", "127.0.0.1"];
  const spawned = performance.now();
  const proc = children.spawn(cmd, logPath);
  const deadline = spawned + 30_000;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${binary} exited (${proc.exitCode ?? proc.signalCode}) before ready:\n${tail(logPath)}`);
    try {
      const res = await fetch(base + readyPath, { tls: TLS_ANY, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return { proc, base, readyMs: performance.now() - spawned };
    } catch {
      // not listening yet
    }
    await Bun.sleep(5);
  }
  await children.stop(proc);
  throw new Error(`${binary} was not ready within 30 s:\n${tail(logPath)}`);
}

/** tail returns the last lines of a log file, for error messages. */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

/** Memory is a process's resident set now and at its peak, in bytes. */
export interface Memory {
  rss: number;
  peak: number;
}

/** readMemory reads VmRSS and VmHWM from /proc/<pid>/status (Linux). */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string): number => {
    const m = status.match(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m"));
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** waitForSetupUrl reads the one-time setup URL that `conclave serve` prints on its own line. */
export async function waitForSetupUrl(logPath: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const m = readFileSync(logPath, "utf8").match(/^(https:\/\/\S+\/setup\?token=\S+)$/m);
    if (m) return m[1]!;
    await Bun.sleep(10);
  }
  throw new Error(`no setup URL printed:\n${tail(logPath)}`);
}

/** addCookies copies each Set-Cookie's name=value into the jar. */
function addCookies(jar: Map<string, string>, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(";", 1)[0]!;
    const eq = pair.indexOf("=");
    if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
}

const cookieHeader = (jar: Map<string, string>): string => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

/** runSetup walks the real first-run flow (setup URL → form → POST) and returns the session's Cookie header. */
export async function runSetup(base: string, setupUrl: string): Promise<string> {
  const jar = new Map<string, string>();
  const link = new URL(setupUrl);
  const r1 = await fetch(`${base}${link.pathname}${link.search}`, { redirect: "manual", tls: TLS_ANY });
  await r1.arrayBuffer();
  if (r1.status !== 303) throw new Error(`setup link answered ${r1.status}, expected 303`);
  addCookies(jar, r1);

  const r2 = await fetch(`${base}/setup`, { redirect: "manual", tls: TLS_ANY, headers: { Cookie: cookieHeader(jar) } });
  const html = await r2.text();
  if (r2.status !== 200) throw new Error(`GET /setup answered ${r2.status}`);
  addCookies(jar, r2);
  const csrf = html.match(/name="_csrf" value="([^"]+)"/)?.[1];
  if (!csrf) throw new Error("GET /setup: no _csrf field in the form");

  const password = "bench-Owner-passphrase-2024!";
  const form = new URLSearchParams({ _csrf: csrf, organisation: "Bench Org", ownerName: "Bench Owner", ownerEmail: "owner@bench.example", password, confirm: password });
  const r3 = await fetch(`${base}/setup`, {
    method: "POST",
    redirect: "manual",
    tls: TLS_ANY,
    headers: { Cookie: cookieHeader(jar), Origin: base, "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
  const body = await r3.text();
  if (r3.status !== 303) throw new Error(`POST /setup answered ${r3.status}: ${body.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(0, 300)}`);
  const session = new Map<string, string>();
  addCookies(session, r3);
  const name = [...session.keys()].find((k) => k.endsWith("_session"));
  if (!name) throw new Error("POST /setup set no session cookie");
  return `${name}=${session.get(name)}`;
}

/** expectStatus sends one request and throws unless it answers `status` (checks an endpoint before loading it). */
export async function expectStatus(url: string, headers: Record<string, string>, status: number): Promise<void> {
  const res = await fetch(url, { headers, redirect: "manual", tls: TLS_ANY });
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`GET ${url} answered ${res.status}, expected ${status}`);
}
