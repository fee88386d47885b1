// Runs one SFU through the load levels: P publishers (each also subscribed to the other P−1, as
// in a meeting) plus S receive-only subscribers per level; waits until every subscriber gets
// every stream, then measures a fixed window: offered and forwarded packets/s, the server
// process's CPU time (utime + stime from /proc/<pid>/stat), loss and added latency.

import { readFileSync } from "node:fs";
import { PublisherPeer, SubscriberPeer, waitFor } from "./peers.ts";
import { Recorder, Traffic } from "./traffic.ts";
import { readTag, type AudioProfile, type VideoProfile } from "./synthetic.ts";
import { percentile } from "../stats.ts";

/** SfuDriver is what the benchmark needs from an SFU: join publishers, join subscribers, a pid. */
export interface SfuDriver {
  readonly name: string;
  /** pid of the server process whose CPU time is counted. */
  readonly pid: number;
  /** the local address the generator's peers bind to (the one the SFU's ICE uses) */
  readonly bindAddress: string;
  /** addPublishers publishes each pub and subscribes its companion sub to the other publishers. */
  addPublishers(peers: readonly { pub: PublisherPeer; sub: SubscriberPeer }[]): Promise<void>;
  /** diagnose describes problems the driver saw (signalling errors), for the log; "" if none. */
  diagnose?(): string;
  /** addSubscriber joins a receive-only participant subscribed to every publisher. */
  addSubscriber(sub: SubscriberPeer, publishers: readonly PublisherPeer[]): Promise<void>;
}

/** LoadPlan is the offered load, identical for every SFU. */
export interface LoadPlan {
  publishers: number;
  /** receive-only subscribers at each level (cumulative, ascending) */
  levels: number[];
  durationMs: number;
  warmupMs: number;
  video: VideoProfile;
  audio: AudioProfile;
}

/** LevelResult is one measured window. */
export interface LevelResult {
  level: string;
  publishers: number;
  subscribers: number;
  receiversPerStream: number;
  seconds: number;
  offeredPps: number;
  expectedPps: number;
  forwardedPps: number;
  lossPct: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  serverCpuSeconds: number;
  serverCpuPct: number;
  cpuSecondsPerMillion: number;
  /** forwarded packets per second of server CPU time (capacity of one fully used core) */
  packetsPerCoreSecond: number;
  generatorCpuPct: number;
  serverRssMb: number;
  /** subscribers that had not received every stream when the window started */
  incompleteSubscribers: number;
  /** the generator's event-loop delay (1 ms timer) during the window: p99 and max */
  loopLagP99Ms: number;
  loopLagMaxMs: number;
}

/** lagMonitor measures how late a 1 ms timer fires in this (the generator's) process. */
function lagMonitor(): { stop(): { p99: number; max: number } } {
  const gaps: number[] = [];
  let last = performance.now();
  const iv = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last - 1);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(iv);
      return { p99: percentile(gaps, 99), max: gaps.length ? Math.max(...gaps) : Number.NaN };
    },
  };
}

const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** cpuSeconds reads utime + stime of a whole process (all threads) from /proc/<pid>/stat. */
export function cpuSeconds(pid: number | "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** rssMb reads VmRSS of a process in MiB. */
export function rssMb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Watched wraps a subscriber with the set of streams it has seen (readiness check only). */
class Watched {
  readonly seen = new Set<number>();
  watching = true;
  readonly peer: SubscriberPeer;
  constructor(name: string, recorder: Recorder, bindAddress: string) {
    this.peer = new SubscriberPeer(name, (packet) => {
      if (this.watching) {
        const tag = readTag(packet);
        if (tag) this.seen.add(tag.stream);
      }
      recorder.sink(packet);
    }, bindAddress);
  }
}

/** runLevels drives one SFU through every level of the plan; peers are closed at the end. */
export async function runLevels(driver: SfuDriver, plan: LoadPlan, log: (m: string) => void): Promise<LevelResult[]> {
  const recorder = new Recorder();
  const traffic = new Traffic(plan.video, plan.audio);
  const pubs: PublisherPeer[] = [];
  const subs: Watched[] = [];
  const results: LevelResult[] = [];
  try {
    const pairs = Array.from({ length: plan.publishers }, (_, i) => {
      const pub = new PublisherPeer(`pub${i}`, { audioSsrc: 0x10000 + 2 * i, videoSsrc: 0x10001 + 2 * i, audioStream: 2 * i, videoStream: 2 * i + 1 }, driver.bindAddress);
      const w = new Watched(`pub${i}-sub`, recorder, driver.bindAddress);
      pubs.push(pub);
      subs.push(w);
      return { pub, sub: w.peer, w };
    });
    await driver.addPublishers(pairs);
    await waitFor(`${driver.name}: publishers' DTLS`, () => pubs.every((p) => p.ready()), 20_000);
    for (const p of pubs) traffic.add(p);
    traffic.start();
    const expectedFor = (w: Watched, i: number | null): number[] =>
      pubs.flatMap((p, j) => (j === i ? [] : [p.ids.audioStream, p.ids.videoStream])).filter((s) => !w.seen.has(s));

    for (const [li, target] of plan.levels.entries()) {
      const t0 = performance.now();
      const pending: Promise<void>[] = [];
      while (subs.length - plan.publishers < target) {
        const w = new Watched(`sub${subs.length - plan.publishers}`, recorder, driver.bindAddress);
        subs.push(w);
        pending.push(driver.addSubscriber(w.peer, pubs));
        if (pending.length >= 4) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      // Every subscriber (publishers' companions included) must receive every stream it expects.
      await waitFor(`${driver.name}: every subscriber receiving every stream`, () => subs.every((w, i) => expectedFor(w, i < plan.publishers ? i : null).length === 0), 30_000).catch((e: Error) => log(`warning: ${e.message}`));
      const missing = subs.map((w, i) => ({ name: w.peer.name, streams: expectedFor(w, i < plan.publishers ? i : null), tracks: w.peer.tracks.length, open: w.peer.openTracks() })).filter((m) => m.streams.length > 0);
      const incomplete = missing.length;
      if (incomplete) log(`${driver.name}: not receiving everything: ${missing.map((m) => `${m.name} lacks streams ${m.streams.join(",")} (${m.tracks} tracks, ${m.open} open)`).join("; ")}${driver.diagnose?.() ? `; ${driver.diagnose()}` : ""}`);
      for (const w of subs) w.watching = false;
      log(`${driver.name}: level ${li + 1}: ${plan.publishers} publishers, ${target} subscribers up in ${((performance.now() - t0) / 1000).toFixed(1)} s; warm-up ${plan.warmupMs / 1000} s`);
      await Bun.sleep(plan.warmupMs);

      const lag = lagMonitor();
      const cpu0 = cpuSeconds(driver.pid);
      const self0 = cpuSeconds("self");
      const start = performance.now();
      traffic.beginWindow();
      recorder.open(start);
      await Bun.sleep(plan.durationMs);
      const end = performance.now();
      const sent = traffic.endWindow();
      recorder.close(end);
      const cpu1 = cpuSeconds(driver.pid);
      const self1 = cpuSeconds("self");
      const rss = rssMb(driver.pid);
      const loopLag = lag.stop();
      await Bun.sleep(300); // packets in flight at the end of the window
      const got = recorder.collect();

      const seconds = (end - start) / 1000;
      const receivers = plan.publishers - 1 + target;
      let offered = 0;
      for (const n of sent.values()) offered += n;
      const expected = offered * receivers;
      const serverCpu = cpu1 - cpu0;
      const lat = got.latenciesMs;
      const r: LevelResult = {
        level: plan.levels.length === 1 ? "full" : li === plan.levels.length - 1 ? "full" : li === 0 && plan.levels.length === 2 ? "half" : `level ${li + 1}`,
        publishers: plan.publishers,
        subscribers: target,
        receiversPerStream: receivers,
        seconds,
        offeredPps: offered / seconds,
        expectedPps: expected / seconds,
        forwardedPps: got.received / seconds,
        lossPct: expected > 0 ? Math.max(0, (1 - got.received / expected) * 100) : Number.NaN,
        p50Ms: percentile(Array.from(lat), 50),
        p95Ms: percentile(Array.from(lat), 95),
        p99Ms: percentile(Array.from(lat), 99),
        serverCpuSeconds: serverCpu,
        serverCpuPct: (serverCpu / seconds) * 100,
        cpuSecondsPerMillion: got.received > 0 ? (serverCpu / got.received) * 1e6 : Number.NaN,
        packetsPerCoreSecond: serverCpu > 0 ? got.received / serverCpu : Number.NaN,
        generatorCpuPct: ((self1 - self0) / seconds) * 100,
        serverRssMb: rss,
        incompleteSubscribers: incomplete,
        loopLagP99Ms: loopLag.p99,
        loopLagMaxMs: loopLag.max,
      };
      log(
        `${driver.name}: ${r.level}: offered ${r.offeredPps.toFixed(0)} pps, forwarded ${r.forwardedPps.toFixed(0)} pps (expected ${r.expectedPps.toFixed(0)}), loss ${r.lossPct.toFixed(2)}%, ` +
          `p50 ${r.p50Ms.toFixed(2)} ms, p95 ${r.p95Ms.toFixed(2)} ms, server CPU ${r.serverCpuPct.toFixed(0)}%, ${r.cpuSecondsPerMillion.toFixed(2)} CPU-s/M, generator CPU ${r.generatorCpuPct.toFixed(0)}%, generator loop lag p99 ${r.loopLagP99Ms.toFixed(1)} ms max ${r.loopLagMaxMs.toFixed(0)} ms`,
      );
      results.push(r);
    }
    return results;
  } finally {
    traffic.stop();
    for (const w of subs) w.peer.close();
    for (const p of pubs) p.close();
  }
}
