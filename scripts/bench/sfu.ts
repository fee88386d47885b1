// SFU benchmark (issue #5, "Benchmarks"): synthetic H.264 + Opus publishers and subscribers over
// real WebRTC (node-datachannel: ICE, DTLS-SRTP) against Janus's VideoRoom and Conclave's SFU,
// in the same run and with the same offered load. Prints Markdown tables and writes
// sfu-results.json.
//
//   bun run scripts/bench/sfu.ts [--only janus|conclave] [--publishers 6] [--levels 18,40]
//       [--duration 12] [--warmup 3] [--conclave auto|binary|harness] [--memory 0,4,8,12,16] [--settle 5] [--joins 10]
//       [--nice -10] [--media-ip IP] [--media-args "--media-bind {ip} --media-port {port}"]
//       [--out scripts/bench/sfu-results.json]
//
// The server runs on core 0 and this generator on core 1 (`taskset`); server CPU is the server
// process's utime + stime from /proc. Goals are reported, never enforced: this exits non-zero only
// when the benchmark itself could not run.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, networkInterfaces, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createChildren, freePort, tail } from "./servers.ts";
import { startConclaveTarget, type ConclaveMode, type TargetContext } from "./sfu/conclave-target.ts";
import { janusCommand, janusDriver, janusInstalled, waitForJanus, writeJanusConfig } from "./sfu/janus.ts";
import { runLevels, type LoadPlan } from "./sfu/measure.ts";
import { measureJoinTime } from "./sfu/join-time.ts";
import { measureMemory, slope, type RssPoint } from "./sfu/memory.ts";
import { renderReport, type Extras, type SfuRun } from "./sfu/report.ts";
import { DEFAULT_AUDIO, DEFAULT_VIDEO, videoPacketsPerSecond } from "./sfu/synthetic.ts";

const ROOT = resolve(import.meta.dir, "../..");
const SERVER_CORE = "0";
const GENERATOR_CORE = "1";

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    publishers: { type: "string", default: "6" },
    levels: { type: "string", default: "18,40" },
    duration: { type: "string", default: "12" },
    warmup: { type: "string", default: "3" },
    out: { type: "string", default: "scripts/bench/sfu-results.json" },
    "media-ip": { type: "string" },
    nice: { type: "string", default: "-10" },
    conclave: { type: "string", default: "auto" },
    memory: { type: "string", default: "0,4,8,12,16" },
    settle: { type: "string", default: "5" },
    joins: { type: "string", default: "10" },
    "media-args": { type: "string", default: "--media-bind {ip} --media-port {port}" },
  },
});
if (args.only && !["janus", "conclave"].includes(args.only)) throw new Error("--only must be janus or conclave");
if (!["auto", "binary", "harness"].includes(args.conclave)) throw new Error("--conclave must be auto, binary or harness");
const MODE = args.conclave as ConclaveMode;
const plan: LoadPlan = {
  publishers: Number(args.publishers),
  levels: args.levels.split(",").map(Number),
  durationMs: Number(args.duration) * 1000,
  warmupMs: Number(args.warmup) * 1000,
  video: DEFAULT_VIDEO,
  audio: DEFAULT_AUDIO,
};
if (!(plan.publishers >= 2) || plan.levels.some((n) => !(n >= 0))) throw new Error("--publishers must be ≥ 2 and --levels non-negative numbers");

/** NICE is the scheduling priority of both servers and the generator (the machine is shared: other processes must not decide the figures). */
const NICE = Number(args.nice);
/** MEDIA_IP is the local address both SFUs' ICE and the generator use (see writeJanusConfig). */
const MEDIA_IP: string = args["media-ip"] ?? localIpv4() ?? "";
if (!MEDIA_IP) throw new Error("no non-loopback IPv4 address on this machine: pass --media-ip");

function localIpv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

const log = (msg: string): void => console.error(`bench:sfu: ${msg}`);
const children = createChildren();
const tmp = mkdtempSync(join(tmpdir(), "conclave-sfu-bench-"));
let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await children.stopAll();
  // Not nodeDataChannel.cleanup(): after the memory run it crashed Bun at exit (segfault in a
  // finalizer); every peer is closed already and the process exits explicitly below.
  // The group is the whole session (the shell that started us): give its priority back.
  if (autogroupBefore !== null) writeFileSync(`/proc/${process.pid}/autogroup`, autogroupBefore);
  rmSync(tmp, { recursive: true, force: true });
}
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the servers`);
    void cleanup().then(() => process.exit(code));
  });
}

let autogroupBefore: string | null = null;

/** pinSelf moves every thread of this process to the generator core (and raises their priority with --nice). */
function pinSelf(): void {
  const r = Bun.spawnSync(["taskset", "-a", "-p", "-c", GENERATOR_CORE, String(process.pid)], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`taskset failed: ${r.stderr.toString()}`);
  if (NICE === 0) return;
  // With autogroup scheduling (kernel.sched_autogroup_enabled=1), nice only ranks threads inside
  // one session: the session's own group nice is what counts against other sessions' processes.
  // Servers started from here share this group.
  if (existsSync("/proc/sys/kernel/sched_autogroup_enabled") && readFileSync("/proc/sys/kernel/sched_autogroup_enabled", "utf8").trim() === "1") {
    autogroupBefore = /nice (-?\d+)/.exec(readFileSync(`/proc/${process.pid}/autogroup`, "utf8"))?.[1] ?? "0";
    writeFileSync(`/proc/${process.pid}/autogroup`, String(NICE));
  }
  // setpriority is per thread on Linux; threads created later inherit the creator's value.
  const tids = readdirSync(`/proc/${process.pid}/task`);
  const n = Bun.spawnSync(["renice", "-n", String(NICE), "-p", ...tids], { stdout: "ignore", stderr: "pipe" });
  if (n.exitCode !== 0) throw new Error(`renice failed (run as root, or pass --nice 0): ${n.stderr.toString()}`);
}

/** serverPrefix pins a server to its core at the same priority as the generator. */
function serverPrefix(): string[] {
  return [...(NICE === 0 ? [] : ["nice", "-n", String(NICE)]), "taskset", "-c", SERVER_CORE];
}

let janusRuns = 0;

/** startJanus starts Janus pinned on the server core with a fresh config dir and returns its driver. */
async function startJanus(): Promise<{ driver: Awaited<ReturnType<typeof janusDriver>>; stop(): Promise<void> }> {
  const dir = join(tmp, `janus-${++janusRuns}`);
  mkdirSync(dir);
  const port = freePort();
  const rtpBase = 20000 + Math.floor(Math.random() * 20000);
  const conf = writeJanusConfig(dir, port, [rtpBase, rtpBase + 999], MEDIA_IP);
  const logPath = join(dir, "janus.log");
  const proc = children.spawn([...serverPrefix(), ...janusCommand(conf)], logPath);
  const base = `http://127.0.0.1:${port}/janus`;
  try {
    await waitForJanus(base, proc);
    const driver = await janusDriver(base, proc.pid, 64, MEDIA_IP);
    log(`Janus 1.1.2 started (pid ${proc.pid}, core ${SERVER_CORE})`);
    return {
      driver,
      async stop() {
        await driver.close();
        await children.stop(proc);
      },
    };
  } catch (e) {
    await children.stop(proc);
    throw new Error(`${e instanceof Error ? e.message : String(e)}\njanus log:\n${tail(logPath, 30)}`);
  }
}

async function runJanus(): Promise<SfuRun> {
  const j = await startJanus();
  try {
    return { server: "Janus VideoRoom 1.1.2", levels: await runLevels(j.driver, plan, log) };
  } finally {
    await j.stop();
  }
}

async function runJanusMemory(): Promise<RssPoint[]> {
  const steps = memorySteps();
  if (steps.length === 0) return [];
  const j = await startJanus();
  try {
    return await measureMemory(j.driver, steps, Number(args.settle) * 1000, plan.video, plan.audio, log);
  } finally {
    await j.stop();
  }
}

const memorySteps = (): number[] => args.memory.split(",").filter(Boolean).map(Number);

/** MEDIA_ARGS put the binary's media (UDP) on an address and port: --media-args, {ip} and {port} filled in. */
const MEDIA_ARGS = (ip: string, port: number): string[] =>
  args["media-args"].split(" ").filter(Boolean).map((a) => a.replaceAll("{ip}", ip).replaceAll("{port}", String(port)));

const targetContext = (): TargetContext => ({ children, tmp, prefix: serverPrefix(), mediaIp: MEDIA_IP, mediaArgs: MEDIA_ARGS, log });

async function runConclave(): Promise<SfuRun> {
  const target = await startConclaveTarget(MODE, plan.publishers + Math.max(...plan.levels) + 10, targetContext());
  try {
    const levels = await runLevels(target.driver, plan, log);
    return { server: target.label, levels };
  } finally {
    await target.stop();
  }
}

async function runMemory(): Promise<RssPoint[]> {
  const steps = memorySteps();
  if (steps.length === 0) return [];
  const target = await startConclaveTarget(MODE, Math.max(...steps) + 10, targetContext());
  try {
    return await measureMemory(target.driver, steps, Number(args.settle) * 1000, plan.video, plan.audio, log);
  } finally {
    await target.stop();
  }
}

async function runJoinTime(extras: Extras): Promise<void> {
  const runs = Number(args.joins);
  if (!(runs > 0)) return;
  const target = await startConclaveTarget(MODE === "harness" ? "harness" : "binary", 4, targetContext()).catch((e: Error) => {
    extras.joinNote = `not measured: ${e.message.split("\n")[0]}`;
    return null;
  });
  if (!target) return;
  try {
    if (target.mode !== "binary" || !target.origin || !target.joinLink) {
      extras.joinNote = "not measured: needs the compiled binary (meeting pages and client)";
      return;
    }
    const t = await measureJoinTime(target.origin + target.joinLink, runs, log);
    Object.assign(extras, { joinP50Ms: t.p50Ms, joinSamples: t.samples.length, joinAllMs: t.samples });
  } catch (e) {
    extras.joinNote = `not measured: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
    log(`join time: ${extras.joinNote}`);
  } finally {
    await target.stop();
  }
}

try {
  pinSelf();
  const perPublisher = videoPacketsPerSecond(plan.video) + plan.audio.packetsPerSecond;
  log(`${plan.publishers} publishers × ${perPublisher.toFixed(0)} packets/s; levels of ${plan.levels.join(", ")} extra subscribers; ${plan.durationMs / 1000} s per level`);
  const runs: SfuRun[] = [];
  const loadBefore = loadavg();
  const extras: Extras = {};
  if (args.only !== "conclave") {
    if (!(await janusInstalled())) throw new Error("Janus is not installed (apt-get install janus)");
    runs.push(await runJanus());
    const points = await runJanusMemory();
    if (points.length) extras.janusRssPoints = points;
  }
  if (args.only !== "janus") {
    runs.push(await runConclave());
    const points = await runMemory();
    if (points.length) Object.assign(extras, { rssPoints: points, rssSlopeMb: slope(points) });
    await runJoinTime(extras);
  }
  const loadAfter = loadavg();
  const report = renderReport(runs, plan, { cores: availableParallelism(), cpu: cpus()[0]?.model ?? "?", loadBefore, loadAfter }, MEDIA_IP, extras);
  console.log(report);
  const out = resolve(ROOT, args.out);
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), plan, loadAverage: { before: loadBefore, after: loadAfter }, runs, extras, markdown: report }, null, 2) + "\n");
  log(`wrote ${relative(ROOT, out)}`);
} catch (err) {
  console.error(`bench:sfu: failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
process.exit(process.exitCode ?? 0);
