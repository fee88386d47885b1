// Markdown for the SFU benchmark: per-server level tables, a side-by-side table with ratios and
// the goals of issue #5. Pure (no I/O).

import { fixed, goalMark, markdownTable, ratio, type Goal } from "../stats.ts";
import type { LevelResult, LoadPlan } from "./measure.ts";
import { slope } from "./memory.ts";
import { videoPacketsPerSecond } from "./synthetic.ts";

/** SfuRun is every level measured on one server. */
export interface SfuRun {
  server: string;
  levels: LevelResult[];
}

/** Extra figures measured outside the forwarding runs (join time, memory). */
export interface Extras {
  joinP50Ms?: number;
  joinSamples?: number;
  joinAllMs?: number[];
  joinNote?: string;
  rssSlopeMb?: number;
  rssPoints?: { participants: number; rssMb: number }[];
  janusRssPoints?: { participants: number; rssMb: number }[];
}

/** Machine describes where the run happened. */
export interface Machine {
  cores: number;
  cpu: string;
  loadBefore: number[];
  loadAfter: number[];
}

/** levelTable renders one server's levels. */
export function levelTable(run: SfuRun): string {
  return markdownTable(
    ["Level", "Publishers + subscribers", "Offered pkt/s", "Forwarded pkt/s", "Loss", "p50 / p95 / p99 added latency", "Server CPU", "CPU-s per M forwarded", "Forwarded pkt per CPU-s", "Server RSS", "Generator CPU (loop lag p99 / max)"],
    run.levels.map((l) => [
      l.level,
      `${l.publishers} + ${l.subscribers} (${l.receiversPerStream} receivers per stream)`,
      fixed(l.offeredPps, 0),
      fixed(l.forwardedPps, 0),
      `${fixed(l.lossPct, 2)}%`,
      `${fixed(l.p50Ms, 2)} / ${fixed(l.p95Ms, 2)} / ${fixed(l.p99Ms, 2)} ms`,
      `${fixed(l.serverCpuPct, 0)}% of a core`,
      fixed(l.cpuSecondsPerMillion, 2),
      fixed(l.packetsPerCoreSecond, 0),
      `${fixed(l.serverRssMb, 1)} MB`,
      `${fixed(l.generatorCpuPct, 0)}% (${fixed(l.loopLagP99Ms, 1)} / ${fixed(l.loopLagMaxMs, 0)} ms)`,
    ]),
  );
}

/** sideBySide compares Conclave with Janus level by level (ratio = Conclave / Janus). */
export function sideBySide(conclave: SfuRun, janus: SfuRun): string {
  const rows: string[][] = [];
  conclave.levels.forEach((c, i) => {
    const j = janus.levels[i];
    if (!j) return;
    const row = (name: string, cv: number, jv: number, digits: number, unit = ""): string[] => [`${c.level}: ${name}`, `${fixed(cv, digits)}${unit}`, `${fixed(jv, digits)}${unit}`, ratio(cv, jv)];
    rows.push(row("offered pkt/s", c.offeredPps, j.offeredPps, 0));
    rows.push(row("forwarded pkt/s", c.forwardedPps, j.forwardedPps, 0));
    rows.push(row("server CPU-s per million forwarded", c.cpuSecondsPerMillion, j.cpuSecondsPerMillion, 2));
    rows.push(row("forwarded pkt per CPU-second", c.packetsPerCoreSecond, j.packetsPerCoreSecond, 0));
    rows.push(row("loss", c.lossPct, j.lossPct, 2, "%"));
    rows.push(row("p50 added latency", c.p50Ms, j.p50Ms, 2, " ms"));
    rows.push(row("p95 added latency", c.p95Ms, j.p95Ms, 2, " ms"));
    rows.push(row("server RSS", c.serverRssMb, j.serverRssMb, 1, " MB"));
  });
  return markdownTable(["Measure", "Conclave", "Janus", "Conclave / Janus"], rows);
}

/** goals checks issue #5's targets against what was measured (null = not measured). */
export function goals(conclave: SfuRun | undefined, janus: SfuRun | undefined, extras: Extras): Goal[] {
  const full = conclave?.levels.at(-1);
  const half = conclave?.levels[0];
  const jfull = janus?.levels.at(-1);
  const jhalf = janus?.levels[0];
  const halfRatio = half && jhalf && conclave!.levels.length > 1 ? `; half load: ${ratio(half.cpuSecondsPerMillion, jhalf.cpuSecondsPerMillion)}` : "";
  const out: Goal[] = [];
  out.push({
    name: "CPU per forwarded packet ≤ Janus's (full load)",
    target: "≤ 1.00×",
    measured: full && jfull ? `${ratio(full.cpuSecondsPerMillion, jfull.cpuSecondsPerMillion)} (${fixed(full.cpuSecondsPerMillion, 2)} vs ${fixed(jfull.cpuSecondsPerMillion, 2)} CPU-s/M${halfRatio})` : "n/a",
    met: full && jfull && Number.isFinite(full.cpuSecondsPerMillion / jfull.cpuSecondsPerMillion) ? full.cpuSecondsPerMillion <= jfull.cpuSecondsPerMillion : null,
  });
  out.push({
    name: "Forwarded packets/s per core",
    target: "≥ 40,000",
    measured: full ? `${fixed(full.packetsPerCoreSecond, 0)} per CPU-second (${fixed(full.forwardedPps, 0)} pkt/s at ${fixed(full.serverCpuPct, 0)}% of a core)` : "n/a",
    met: full && Number.isFinite(full.packetsPerCoreSecond) ? full.packetsPerCoreSecond >= 40_000 : null,
  });
  out.push({
    name: "p95 added latency at half load",
    target: "< 5 ms",
    measured: half ? `${fixed(half.p95Ms, 2)} ms` : "n/a",
    met: half && Number.isFinite(half.p95Ms) ? half.p95Ms < 5 : null,
  });
  out.push({
    name: "Join time in Chromium, p50",
    target: "≤ 1 s",
    measured: extras.joinP50Ms !== undefined ? `${fixed(extras.joinP50Ms / 1000, 3)} s (${extras.joinSamples} joins)` : (extras.joinNote ?? "n/a"),
    met: extras.joinP50Ms !== undefined && Number.isFinite(extras.joinP50Ms) ? extras.joinP50Ms <= 1000 : null,
  });
  return out;
}

/** perTrack is the least-squares slope of RSS over forwarded (down-)tracks, MB per track. */
export function perTrack(points: readonly { participants: number; rssMb: number }[]): number {
  return slope(points.map((p) => ({ participants: p.participants * (p.participants - 1) * 2, rssMb: p.rssMb })));
}

/** renderReport is the whole Markdown section. */
export function renderReport(runs: SfuRun[], plan: LoadPlan, machine: Machine, mediaIp: string, extras: Extras = {}): string {
  const conclave = runs.find((r) => r.server.startsWith("Conclave"));
  const janus = runs.find((r) => r.server.startsWith("Janus"));
  const perPub = videoPacketsPerSecond(plan.video) + plan.audio.packetsPerSecond;
  const v = plan.video;
  const parts = [
    `### Media: SFU forwarding (issue #5), ${new Date().toISOString().slice(0, 10)}`,
    "",
    `Load: ${plan.publishers} publishers, each sending H.264 (${v.fps} fps, ${v.packetsPerFrame} × ${v.packetBytes}-byte packets per frame, a ${v.keyframePackets}-packet keyframe every ${v.keyframeIntervalMs / 1000} s) ` +
      `and Opus (${plan.audio.packetsPerSecond} × ${plan.audio.packetBytes}-byte packets/s): ${perPub.toFixed(0)} packets/s per publisher. Every publisher also receives the other ${plan.publishers - 1} (a meeting), ` +
      `plus ${plan.levels.join(" then ")} receive-only subscribers. ${plan.warmupMs / 1000} s warm-up, then ${plan.durationMs / 1000} s measured per level. ` +
      `All peers are node-datachannel PeerConnections in one generator process (ICE host candidates on ${mediaIp} only — Janus gathers no loopback candidates, and traffic between local addresses stays on the kernel's loopback path; DTLS-SRTP; receiver reports as a browser sends them); server pinned to core 0, generator to core 1.`,
    "",
  ];
  for (const run of runs) parts.push(`**${run.server}**`, "", levelTable(run), "");
  if (conclave && janus) {
    parts.push("**Side by side** (same planned load; ratio = Conclave / Janus, lower is better for CPU and latency)", "", sideBySide(conclave, janus), "");
    const off = conclave.levels
      .map((c, i) => ({ c, j: janus.levels[i] }))
      .filter(({ c, j }) => j && Math.abs(c.offeredPps - j.offeredPps) > 0.02 * j.offeredPps)
      .map(({ c, j }) => `${c.level}: ${fixed(c.offeredPps, 0)} vs ${fixed(j!.offeredPps, 0)} pkt/s`);
    if (off.length) parts.push(`Offered load actually sent differed by more than 2% (${off.join("; ")}): the generator fell behind its schedule during that window (see its loop lag), so compare those rows with care.`, "");
  }
  const cPts = extras.rssPoints ?? [];
  const jPts = extras.janusRssPoints ?? [];
  if (cPts.length || jPts.length) {
    const ns = [...new Set([...cPts, ...jPts].map((p) => p.participants))].sort((a, b) => a - b);
    const rss = (pts: typeof cPts, n: number): string => {
      const p = pts.find((x) => x.participants === n);
      return p ? `${fixed(p.rssMb, 1)} MB` : "n/a";
    };
    const line = (name: string, pts: typeof cPts): string =>
      pts.length ? `${name}: ${fixed(slope(pts), 2)} MB per participant, ${fixed(perTrack(pts), 2)} MB per forwarded track.` : "";
    parts.push(
      "**Memory per participant** (server RSS as participants join one meeting; each publishes audio + video and receives all the others, media flowing)",
      "",
      markdownTable(["Participants", "Forwarded tracks (n·(n−1)·2)", "Conclave RSS", "Janus RSS", "Conclave / Janus"], ns.map((n) => {
        const c = cPts.find((x) => x.participants === n);
        const j = jPts.find((x) => x.participants === n);
        return [String(n), String(n * (n - 1) * 2), rss(cPts, n), rss(jPts, n), c && j ? ratio(c.rssMb, j.rssMb) : "n/a"];
      })),
      "",
      `Least-squares slopes (every participant receives everyone else, so the tracks grow with n²): ${[line("Conclave", cPts), line("Janus", jPts)].filter(Boolean).join(" ")}`,
      "",
    );
  }
  parts.push(markdownTable(["Goal (issue #5)", "Target", "Measured", "Status"], goals(conclave, janus, extras).map((g) => [g.name, g.target, g.measured, goalMark(g.met)])), "");
  parts.push(
    `Notes: ${machine.cores} cores (${machine.cpu}); load average ${machine.loadBefore.map((n) => n.toFixed(2)).join(" ")} before, ${machine.loadAfter.map((n) => n.toFixed(2)).join(" ")} after. ` +
      "Added latency is receive time − send time on the generator's clock, so it includes the generator's own SRTP work and event-loop delay (the loop lag column: how late a 1 ms timer fired in the generator during the window); " +
      "a generator CPU near 100% means the generator, not the server, limits the figures. Forwarded pkt per CPU-s = forwarded packets ÷ server CPU-seconds (the rate one fully used core would sustain). Goals are informative; the benchmark never fails on them.",
  );
  return parts.join("\n");
}
