// Starting Conclave for the SFU benchmark in one of two modes: "binary" (dist/conclave, set up
// through its pages, tokens from /j/<number>/token) or "harness" (src/media + src/signaling in
// their own Bun process, tokens minted by the test harness); "auto" tries the binary first.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Children } from "../servers.ts";
import { tail } from "../servers.ts";
import { conclaveDriver } from "./conclave.ts";
import { startBinaryConclave } from "./conclave-binary.ts";
import type { SfuDriver } from "./measure.ts";

/** ConclaveMode chooses how Conclave runs. */
export type ConclaveMode = "auto" | "binary" | "harness";

/** TargetContext is what starting a server needs from the benchmark. */
export interface TargetContext {
  children: Children;
  tmp: string;
  /** command prefix pinning the server (nice, taskset) */
  prefix: string[];
  mediaIp: string;
  /** arguments that put the binary's media (UDP) on an address and port */
  mediaArgs: (ip: string, port: number) => string[];
  log: (m: string) => void;
}

/** ConclaveTarget is a running Conclave with a driver. */
export interface ConclaveTarget {
  label: string;
  mode: "binary" | "harness";
  driver: SfuDriver;
  /** origin and invitation link, binary mode only (for the browser join-time run) */
  origin?: string;
  joinLink?: string;
  stop(): Promise<void>;
}

let seq = 0;

/** startConclaveTarget starts Conclave in the chosen mode (auto: binary, else harness, saying why). */
export async function startConclaveTarget(mode: ConclaveMode, participants: number, ctx: TargetContext): Promise<ConclaveTarget> {
  if (mode !== "harness") {
    try {
      return await startBinary(ctx);
    } catch (e) {
      if (mode === "binary") throw e;
      ctx.log(`the Conclave binary could not be benchmarked, using harness mode instead: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
  }
  return startHarness(participants, ctx);
}

async function startBinary(ctx: TargetContext): Promise<ConclaveTarget> {
  const dir = join(ctx.tmp, `conclave-${++seq}`);
  mkdirSync(dir);
  const c = await startBinaryConclave({ prefix: ctx.prefix, dir, mediaIp: ctx.mediaIp, mediaArgs: ctx.mediaArgs, adopt: (p) => ctx.children.adopt(p) });
  const driver = conclaveDriver({ wsUrl: c.wsUrl, origin: c.origin, pid: c.pid, bindAddress: ctx.mediaIp, token: c.token });
  ctx.log(`Conclave binary started (pid ${c.pid}), meeting ${c.meetingNumber}`);
  return {
    label: "Conclave (dist/conclave)",
    mode: "binary",
    driver,
    origin: c.origin,
    joinLink: c.joinLink,
    async stop() {
      driver.close();
      await c.stop();
    },
  };
}

async function startHarness(participants: number, ctx: TargetContext): Promise<ConclaveTarget> {
  const logPath = join(ctx.tmp, `conclave-harness-${++seq}.log`);
  const proc = ctx.children.spawn([...ctx.prefix, process.execPath, "run", join(import.meta.dir, "conclave-harness-server.ts"), ctx.mediaIp, String(participants)], logPath);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`the Conclave harness exited (${proc.exitCode}):\n${tail(logPath)}`);
    const line = (await Bun.file(logPath).text()).split("\n").find((l) => l.startsWith("{"));
    if (line) {
      const info = JSON.parse(line) as { wsUrl: string; origin: string; tokens: string[] };
      const tokens = [...info.tokens];
      const driver = conclaveDriver({ wsUrl: info.wsUrl, origin: info.origin, pid: proc.pid, bindAddress: ctx.mediaIp, token: async () => tokens.shift() ?? Promise.reject(new Error("out of join tokens")) });
      ctx.log(`Conclave SFU in harness mode started (pid ${proc.pid})`);
      return {
        label: "Conclave SFU (harness mode: src/media + src/signaling under Bun, no HTTP pages)",
        mode: "harness",
        driver,
        async stop() {
          driver.close();
          await ctx.children.stop(proc);
        },
      };
    }
    await Bun.sleep(50);
  }
  await ctx.children.stop(proc);
  throw new Error(`the Conclave harness did not start:\n${tail(logPath)}`);
}
