// The load generators: `wrk` (preferred: a C client costs less CPU than a Bun one on a 2-core
// machine), else load.ts in a child process. Both produce a LoadResult. wrk-report.lua prints
// wrk's summary as one JSON line, so nothing depends on wrk's human-readable layout.

import { resolve } from "node:path";
import type { Subprocess } from "bun";
import type { LoadOptions, LoadResult } from "./load.ts";

const REPORTER = resolve(import.meta.dir, "wrk-report.lua");

/** WrkSummary is the JSON line wrk-report.lua prints. */
export interface WrkSummary {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
  max_us: number;
}

/** parseWrkReport finds the reporter's JSON line in wrk's stdout, or returns null. */
export function parseWrkReport(stdout: string): WrkSummary | null {
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_JSON "));
  return line ? (JSON.parse(line.slice("WRK_JSON ".length)) as WrkSummary) : null;
}

/** wrkToResult converts wrk's summary (µs) into a LoadResult (ms). */
export function wrkToResult(s: WrkSummary, connections: number, threads: number): LoadResult {
  const seconds = s.duration_us / 1e6;
  return {
    generator: `wrk (${threads} thread${threads === 1 ? "" : "s"}, ${connections} connections)`,
    connections,
    requests: s.requests,
    seconds,
    rps: s.requests / seconds,
    p50Ms: s.p50_us / 1000,
    p99Ms: s.p99_us / 1000,
    maxMs: s.max_us / 1000,
    // wrk only counts statuses >= 400; the runner checks each endpoint answers 2xx before loading it.
    non2xx: s.status,
    socketErrors: s.connect + s.read + s.write + s.timeout,
  };
}

/** wrkPath returns the wrk executable on PATH, or null. */
export function wrkPath(): string | null {
  return Bun.which("wrk");
}

/** runWrkOnce runs wrk for `seconds` and returns its summary. */
async function runWrkOnce(wrk: string, o: LoadOptions, threads: number, seconds: number, track: Track): Promise<WrkSummary> {
  const cmd = [wrk, `-t${threads}`, `-c${o.connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", REPORTER];
  for (const [name, value] of Object.entries(o.headers)) cmd.push("-H", `${name}: ${value}`);
  cmd.push(o.url);
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  track(proc);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const summary = parseWrkReport(out);
  if (code !== 0 || !summary) throw new Error(`wrk exited ${code}: ${(err || out).trim().slice(0, 500)}`);
  return summary;
}

/** runWrk warms up with one short wrk run, then measures with a second. */
export async function runWrk(wrk: string, o: LoadOptions, threads: number, track: Track): Promise<LoadResult> {
  if (o.warmupMs > 0) await runWrkOnce(wrk, o, threads, Math.max(1, Math.round(o.warmupMs / 1000)), track);
  return wrkToResult(await runWrkOnce(wrk, o, threads, Math.max(1, Math.round(o.durationMs / 1000)), track), o.connections, threads);
}

/** Generator is the chosen load generator: wrk when present (unless told otherwise), else Bun. */
export interface Generator {
  name: "wrk" | "bun";
  run(o: LoadOptions): Promise<LoadResult>;
}

/** Track is told about each generator process, so the runner can stop it on an interrupt. */
export type Track = (proc: Subprocess) => void;

/** pickGenerator chooses wrk if installed and allowed, else the Bun generator in its own process. */
export function pickGenerator(preference: "auto" | "wrk" | "bun", wrkThreads: number, track: Track): Generator {
  const wrk = preference === "bun" ? null : wrkPath();
  if (preference === "wrk" && !wrk) throw new Error("--generator wrk: wrk is not on PATH (Debian: apt-get install -y wrk)");
  if (wrk) return { name: "wrk", run: (o) => runWrk(wrk, o, wrkThreads, track) };
  return { name: "bun", run: (o) => runBunLoadProcess(o, track) };
}

/** runBunLoadProcess runs load.ts in a child process, so the generator does not share the runner's event loop. */
async function runBunLoadProcess(o: LoadOptions, track: Track): Promise<LoadResult> {
  const cmd = [process.execPath, resolve(import.meta.dir, "load.ts"), "--url", o.url, "--connections", String(o.connections)];
  cmd.push("--duration", String(o.durationMs / 1000), "--warmup", String(o.warmupMs / 1000));
  for (const [name, value] of Object.entries(o.headers)) cmd.push("--header", `${name}: ${value}`);
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  track(proc);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`load.ts exited ${code}: ${err.trim().slice(0, 500)}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult;
}
