// `npm run bench`: Conclave's footprint and speed, each figure next to a bare baseline measured
// on the same run (issue #2, "Benchmarks"). Prints Markdown tables and writes results.json.
//
//   bun run scripts/bench/run.ts [--build] [--binary dist/conclave] [--runs 5] [--connections 32]
//       [--duration 10] [--warmup 2] [--idle 2] [--generator auto|wrk|bun] [--wrk-threads 1]
//       [--out scripts/bench/results.json]
//
// Baselines: the bare Bun runtime (size) and a compiled Hono "hello" (hello.ts) started with the
// same flags and TLS certificate (start, RSS, throughput). Goals are reported, never enforced:
// this exits non-zero only when the benchmark itself could not run.

import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pickGenerator, type Generator } from "./generators.ts";
import type { LoadResult } from "./load.ts";
import { createChildren, expectStatus, readMemory, runSetup, startAndTime, waitForSetupUrl, type Children, type Memory } from "./servers.ts";
import { fixed, goalMark, markdownTable, mb, median, percentOf, ratio, type Goal } from "./stats.ts";

const ROOT = resolve(import.meta.dir, "../..");

const { values: args } = parseArgs({
  options: {
    build: { type: "boolean", default: false },
    binary: { type: "string", default: "dist/conclave" },
    runs: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    idle: { type: "string", default: "2" },
    generator: { type: "string", default: "auto" },
    "wrk-threads": { type: "string", default: "1" },
    out: { type: "string", default: "scripts/bench/results.json" },
  },
});
if (!["auto", "wrk", "bun"].includes(args.generator)) throw new Error("--generator must be auto, wrk or bun");
const RUNS = Number(args.runs);
const LOAD = { connections: Number(args.connections), durationMs: Number(args.duration) * 1000, warmupMs: Number(args.warmup) * 1000 };
const IDLE_MS = Number(args.idle) * 1000;
const BINARY = resolve(ROOT, args.binary);

/** sh runs a command and returns its trimmed stdout ("" on failure). */
function sh(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : "";
}

/** buildHello compiles hello.ts like build.ts compiles Conclave (minified, no .env/bunfig autoload). */
async function buildHello(outfile: string): Promise<void> {
  const result = await Bun.build({
    entrypoints: [resolve(import.meta.dir, "hello.ts")],
    target: "bun",
    minify: true,
    sourcemap: "none",
    compile: { outfile, autoloadDotenv: false, autoloadBunfig: false },
    throw: false,
  });
  if (!result.success) throw new Error(`compiling hello.ts failed:\n${result.logs.map((l) => l.message).join("\n")}`);
}

/** Endpoint is one URL put under load. */
interface Endpoint {
  label: string;
  server: "conclave" | "hello";
  path: string;
  headers: Record<string, string>;
}

interface LoadRow extends Endpoint {
  result: LoadResult;
}

const children: Children = createChildren();
const tmp = mkdtempSync(join(tmpdir(), "conclave-bench-"));
let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await children.stopAll();
  rmSync(tmp, { recursive: true, force: true });
}
let interrupted = false;
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`bench: ${signal}, stopping the servers and load generators`);
    void cleanup().then(() => process.exit(code));
  });
}

const log = (msg: string): void => console.error(`bench: ${msg}`);
let logSeq = 0;
const logFile = (name: string): string => join(tmp, `${String(++logSeq).padStart(3, "0")}-${name}.log`);

try {
  // ---- binaries ------------------------------------------------------------------------------
  if (args.build || !existsSync(BINARY)) {
    log(`building ${relative(ROOT, BINARY)}`);
    const code = await Bun.spawn([process.execPath, "run", "scripts/build.ts", "--outfile", BINARY], { cwd: ROOT, stdout: "inherit", stderr: "inherit" }).exited;
    if (code !== 0) throw new Error(`scripts/build.ts exited ${code}`);
  }
  const hello = join(tmp, "bench-hello");
  log("compiling scripts/bench/hello.ts");
  await buildHello(hello);
  const bunRuntime = realpathSync(process.execPath);
  const size = { conclave: statSync(BINARY).size, bun: statSync(bunRuntime).size, hello: statSync(hello).size };
  const generator: Generator = pickGenerator(args.generator as "auto" | "wrk" | "bun", Number(args["wrk-threads"]), (p) => children.adopt(p));
  const loadBefore = loadavg();
  log(`load generator: ${generator.name}; ${availableParallelism()} cores; load average ${loadBefore.map((n) => n.toFixed(2)).join(" ")}`);

  // ---- cold start: first start (empty dir), second start (existing dir), hello --------------
  // Interleaved, so background load drifting during the run hits all three alike.
  const starts = { first: [] as number[], second: [] as number[], hello: [] as number[] };
  let dataDir = "";
  let cookie = "";
  for (let i = 0; i < RUNS; i++) {
    const fresh = join(tmp, `data-first-${i}`);
    mkdirSync(fresh);
    const firstLog = logFile("conclave-first");
    const first = await startAndTime(children, BINARY, fresh, firstLog, "/readyz");
    starts.first.push(first.readyMs);
    if (i === 0) {
      // Keep the first data dir, finish setup in it: later starts and the load runs use it.
      cookie = await runSetup(first.base, await waitForSetupUrl(firstLog));
      dataDir = fresh;
    }
    await children.stop(first.proc);
    if (i > 0) rmSync(fresh, { recursive: true, force: true });

    const second = await startAndTime(children, BINARY, dataDir, logFile("conclave-second"), "/readyz");
    starts.second.push(second.readyMs);
    await children.stop(second.proc);

    const h = await startAndTime(children, hello, dataDir, logFile("hello"), "/readyz");
    starts.hello.push(h.readyMs);
    await children.stop(h.proc);
    log(`start run ${i + 1}/${RUNS}: first ${fixed(first.readyMs, 0)} ms, existing dir ${fixed(second.readyMs, 0)} ms, hello ${fixed(h.readyMs, 0)} ms`);
  }

  // ---- idle RSS, then load ------------------------------------------------------------------
  // Both servers run side by side (an idle server costs no CPU); the hello baseline is loaded
  // before and after Conclave's endpoints, and the spread of the two is a noise indicator.
  const conclave = await startAndTime(children, BINARY, dataDir, logFile("conclave-load"), "/readyz");
  const helloSrv = await startAndTime(children, hello, dataDir, logFile("hello-load"), "/readyz");
  await Bun.sleep(IDLE_MS);
  const idle: Record<"conclave" | "hello", Memory> = { conclave: readMemory(conclave.proc.pid), hello: readMemory(helloSrv.proc.pid) };
  log(`idle RSS: conclave ${fixed(mb(idle.conclave.rss), 1)} MB, hello ${fixed(mb(idle.hello.rss), 1)} MB`);

  const baseOf = (server: Endpoint["server"]): string => (server === "conclave" ? conclave.base : helloSrv.base);
  const endpoints: Endpoint[] = [
    { label: "GET / (hello, before)", server: "hello", path: "/", headers: {} },
    { label: "GET /signin (sign-in page)", server: "conclave", path: "/signin", headers: {} },
    { label: "GET /api/v1/me (API, session cookie)", server: "conclave", path: "/api/v1/me", headers: { Cookie: cookie } },
    { label: "GET /healthz", server: "conclave", path: "/healthz", headers: {} },
    { label: "GET / (hello, after)", server: "hello", path: "/", headers: {} },
  ];
  const loads: LoadRow[] = [];
  for (const e of endpoints) {
    const url = baseOf(e.server) + e.path;
    await expectStatus(url, e.headers, 200);
    log(`loading ${e.label}: ${LOAD.connections} connections, ${LOAD.warmupMs / 1000} s warm-up + ${LOAD.durationMs / 1000} s`);
    const result = await generator.run({ url, headers: e.headers, ...LOAD });
    await expectStatus(url, e.headers, 200); // still answering 2xx (wrk only counts >= 400 as errors)
    loads.push({ ...e, result });
  }
  const afterLoad: Record<"conclave" | "hello", Memory> = { conclave: readMemory(conclave.proc.pid), hello: readMemory(helloSrv.proc.pid) };
  await children.stopAll();
  const loadAfter = loadavg();

  // ---- report ---------------------------------------------------------------------------------
  const med = { first: median(starts.first), second: median(starts.second), hello: median(starts.hello) };
  const helloRuns = loads.filter((l) => l.server === "hello").map((l) => l.result);
  const baseline = {
    rps: helloRuns.reduce((s, r) => s + r.rps, 0) / helloRuns.length,
    p50Ms: helloRuns.reduce((s, r) => s + r.p50Ms, 0) / helloRuns.length,
    p99Ms: helloRuns.reduce((s, r) => s + r.p99Ms, 0) / helloRuns.length,
  };
  const signin = loads.find((l) => l.path === "/signin")!.result;
  const commit = sh(["git", "rev-parse", "--short", "HEAD"]);
  const dirty = sh(["git", "status", "--porcelain"]) !== "";

  const footprint = markdownTable(
    ["Measure", "Conclave", "Bare baseline", "Ratio"],
    [
      ["Binary size", `${fixed(mb(size.conclave), 1)} MB`, `${fixed(mb(size.bun), 1)} MB bare Bun runtime (compiled hello: ${fixed(mb(size.hello), 1)} MB)`, ratio(size.conclave, size.bun)],
      [`Start to /readyz 200, empty data dir (median of ${RUNS})`, `${fixed(med.first, 0)} ms`, `${fixed(med.hello, 0)} ms hello`, ratio(med.first, med.hello)],
      [`Start to /readyz 200, existing data dir (median of ${RUNS})`, `${fixed(med.second, 0)} ms`, `${fixed(med.hello, 0)} ms hello`, ratio(med.second, med.hello)],
      [`Idle RSS, ${IDLE_MS / 1000} s after ready`, `${fixed(mb(idle.conclave.rss), 1)} MB`, `${fixed(mb(idle.hello.rss), 1)} MB hello`, ratio(idle.conclave.rss, idle.hello.rss)],
      ["RSS after the load runs (peak)", `${fixed(mb(afterLoad.conclave.rss), 1)} MB (${fixed(mb(afterLoad.conclave.peak), 1)} MB)`, `${fixed(mb(afterLoad.hello.rss), 1)} MB (${fixed(mb(afterLoad.hello.peak), 1)} MB) hello`, ratio(afterLoad.conclave.rss, afterLoad.hello.rss)],
    ],
  );
  const throughput = markdownTable(
    ["Endpoint", "req/s", "p50 ms", "p99 ms", "errors (HTTP / socket)", "req/s vs hello"],
    loads.map((l) => [
      l.label,
      fixed(l.result.rps, 0),
      fixed(l.result.p50Ms, 2),
      fixed(l.result.p99Ms, 2),
      `${l.result.non2xx} / ${l.result.socketErrors}`,
      l.server === "hello" ? "baseline" : percentOf(l.result.rps, baseline.rps),
    ]),
  );
  const goals: Goal[] = [
    { name: "Start, empty data dir", target: "≤ 0.5 s", measured: `${fixed(med.first / 1000, 3)} s`, met: Number.isFinite(med.first) ? med.first <= 500 : null },
    { name: "Start, existing data dir", target: "≤ 0.5 s", measured: `${fixed(med.second / 1000, 3)} s`, met: Number.isFinite(med.second) ? med.second <= 500 : null },
    { name: "Idle RSS", target: "≤ 100 MB", measured: `${fixed(mb(idle.conclave.rss), 1)} MB`, met: mb(idle.conclave.rss) <= 100 },
    { name: "Sign-in page throughput", target: "≥ 50% of bare hello", measured: `${percentOf(signin.rps, baseline.rps)} (${fixed(signin.rps, 0)} vs ${fixed(baseline.rps, 0)} req/s)`, met: Number.isFinite(signin.rps / baseline.rps) ? signin.rps / baseline.rps >= 0.5 : null },
  ];
  const goalTable = markdownTable(["Goal (issue #2)", "Target", "Measured", "Status"], goals.map((g) => [g.name, g.target, g.measured, goalMark(g.met)]));
  const helloSpread = helloRuns.length === 2 ? percentOf(Math.abs(helloRuns[0]!.rps - helloRuns[1]!.rps), baseline.rps) : "n/a";

  const report = [
    `## Benchmarks (${new Date().toISOString().slice(0, 10)}, commit ${commit || "unknown"}${dirty ? " + local changes" : ""})`,
    "",
    footprint,
    "",
    `Throughput: ${LOAD.connections} concurrent keep-alive connections over HTTPS, ${LOAD.warmupMs / 1000} s warm-up then ${LOAD.durationMs / 1000} s measured per endpoint; load generator: ${loads[0]?.result.generator ?? generator.name}.`,
    "",
    throughput,
    "",
    goalTable,
    "",
    `Notes: ${availableParallelism()} CPU cores; the load generator runs on the same machine and competes with the server for them, so absolute req/s understate a dedicated server (the ratios are the figures to compare). ` +
      `Load average ${loadBefore.map((n) => n.toFixed(2)).join(" ")} before, ${loadAfter.map((n) => n.toFixed(2)).join(" ")} after; the two hello runs differ by ${helloSpread}. ` +
      `Baseline row values: mean of the two hello runs (${fixed(baseline.rps, 0)} req/s, p99 ${fixed(baseline.p99Ms, 2)} ms). Goals are informative; the benchmark never fails on them.`,
  ].join("\n");
  console.log(report);

  const out = resolve(ROOT, args.out);
  const results = {
    date: new Date().toISOString(),
    commit,
    dirty,
    bunVersion: Bun.version,
    cores: availableParallelism(),
    loadAverage: { before: loadBefore, after: loadAfter },
    generator: loads[0]?.result.generator ?? generator.name,
    settings: { runs: RUNS, ...LOAD, idleMs: IDLE_MS },
    binary: { path: relative(ROOT, BINARY), modified: statSync(BINARY).mtime.toISOString() },
    sizeBytes: size,
    startMs: { ...starts, median: med },
    memoryBytes: { idle, afterLoad },
    load: loads.map((l) => ({ label: l.label, server: l.server, path: l.path, ...l.result })),
    baseline,
    goals,
    markdown: report,
  };
  writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${out.startsWith(ROOT) ? relative(ROOT, out) : out}`);
} catch (err) {
  if (!interrupted) console.error(`bench: failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
