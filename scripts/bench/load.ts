// A small HTTP load generator in Bun, the fallback when `wrk` is not installed.
//
//   bun run scripts/bench/load.ts --url https://127.0.0.1:8443/signin [--connections 32]
//       [--duration 10] [--warmup 2] [--header "Cookie: a=b"]...
//
// N async loops each send one request at a time with `fetch` (keep-alive, self-signed
// certificates accepted) and time it with performance.now(). Only responses that complete
// inside the measured window (after the warm-up) count. Prints one JSON object (LoadResult).

import { parseArgs } from "node:util";
import { percentile } from "./stats.ts";

/** LoadOptions says what to request, how hard and for how long. */
export interface LoadOptions {
  url: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
  headers: Record<string, string>;
}

/** LoadResult is what one load run measured (latencies in milliseconds). */
export interface LoadResult {
  generator: string;
  connections: number;
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** non2xx counts answered requests whose status was not 2xx (3xx included). */
  non2xx: number;
  /** socketErrors counts requests that failed without a response (connect, TLS, reset, timeout). */
  socketErrors: number;
}

/** runBunLoad drives `connections` sequential-fetch loops against one URL and summarises the measured window. */
export async function runBunLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  let socketErrors = 0;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let stopped = false;

  const loop = async (): Promise<void> => {
    while (!stopped) {
      const started = performance.now();
      let ok: boolean | null;
      try {
        const res = await fetch(o.url, { headers: o.headers, redirect: "manual", tls: { rejectUnauthorized: false } });
        await res.arrayBuffer(); // drain the body so the connection is reused
        ok = res.status >= 200 && res.status < 300;
      } catch {
        ok = null;
        await Bun.sleep(1); // do not spin on a refused connection
      }
      const ended = performance.now();
      if (ended < windowStart || ended > windowEnd) continue;
      if (ok === null) socketErrors++;
      else {
        latencies.push(ended - started);
        if (!ok) non2xx++;
      }
    }
  };

  const begin = performance.now();
  const warmupTimer = setTimeout(() => (windowStart = performance.now()), o.warmupMs);
  const stopTimer = setTimeout(() => {
    windowEnd = performance.now();
    stopped = true;
  }, o.warmupMs + o.durationMs);
  try {
    await Promise.all(Array.from({ length: o.connections }, loop));
  } finally {
    clearTimeout(warmupTimer);
    clearTimeout(stopTimer);
  }
  if (!Number.isFinite(windowStart)) windowStart = begin;
  const seconds = (windowEnd - windowStart) / 1000;
  return {
    generator: `bun fetch (${o.connections} async loops)`,
    connections: o.connections,
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length ? Math.max(...latencies) : Number.NaN,
    non2xx,
    socketErrors,
  };
}

/** parseHeader splits "Name: value" into its parts. */
function parseHeader(line: string): [string, string] {
  const colon = line.indexOf(":");
  if (colon <= 0) throw new Error(`--header needs "Name: value", got ${JSON.stringify(line)}`);
  return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      connections: { type: "string", default: "32" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      header: { type: "string", multiple: true, default: [] },
    },
  });
  if (!values.url) {
    console.error("usage: bun run scripts/bench/load.ts --url URL [--connections N] [--duration S] [--warmup S] [--header 'Name: value']...");
    process.exit(2);
  }
  const result = await runBunLoad({
    url: values.url,
    connections: Number(values.connections),
    durationMs: Number(values.duration) * 1000,
    warmupMs: Number(values.warmup) * 1000,
    headers: Object.fromEntries(values.header.map(parseHeader)),
  });
  console.log(JSON.stringify(result));
}
