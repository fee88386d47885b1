// The benchmark's helpers and Bun load generator. No timing assertions: benchmarks are measured, not tested.
import { describe, expect, test } from "bun:test";
import { parseWrkReport, wrkToResult } from "./generators.ts";
import { runBunLoad } from "./load.ts";
import { goalMark, markdownTable, median, percentOf, percentile, ratio } from "./stats.ts";

describe("percentile", () => {
  test("uses the nearest rank on unsorted samples", () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile(samples, 100)).toBe(10);
  });

  test("is NaN without samples and refuses p outside 0..100", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("median", () => {
  test("takes the middle value, or the mean of the two middle values", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe("formatting", () => {
  test("ratio and percentOf say n/a instead of dividing by zero", () => {
    expect(ratio(3, 2)).toBe("1.50×");
    expect(ratio(1, 0)).toBe("n/a");
    expect(percentOf(1, 4)).toBe("25%");
    expect(percentOf(Number.NaN, 4)).toBe("n/a");
  });

  test("markdownTable escapes pipes and adds the separator row", () => {
    expect(markdownTable(["a", "b"], [["x|y", "z"]])).toBe("| a | b |\n| --- | --- |\n| x\\|y | z |");
  });

  test("goalMark distinguishes unmeasured from unmet", () => {
    expect([goalMark(true), goalMark(false), goalMark(null)]).toEqual(["met", "NOT met", "not measured"]);
  });
});

describe("wrk report", () => {
  const stdout = [
    "Running 10s test @ https://127.0.0.1:8443/signin",
    "  1 threads and 32 connections",
    'WRK_JSON {"requests":50000,"duration_us":10000000,"connect":0,"read":1,"write":0,"status":2,"timeout":3,"p50_us":1500,"p99_us":9000,"max_us":20000}',
  ].join("\n");

  test("finds the reporter's JSON line and converts µs to ms", () => {
    const summary = parseWrkReport(stdout);
    expect(summary).not.toBeNull();
    const r = wrkToResult(summary!, 32, 1);
    expect(r).toMatchObject({ requests: 50000, seconds: 10, rps: 5000, p50Ms: 1.5, p99Ms: 9, maxMs: 20, non2xx: 2, socketErrors: 4 });
    expect(r.generator).toBe("wrk (1 thread, 32 connections)");
  });

  test("returns null when wrk printed no report", () => {
    expect(parseWrkReport("unable to connect to 127.0.0.1:1 Connection refused")).toBeNull();
  });
});

describe("Bun load generator", () => {
  test("counts answered requests and non-2xx answers", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response("x", { status: new URL(req.url).pathname === "/ok" ? 200 : 503 }) });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const ok = await runBunLoad({ url: `${base}/ok`, connections: 2, durationMs: 200, warmupMs: 50, headers: {} });
      expect(ok.requests).toBeGreaterThan(0);
      expect(ok.non2xx).toBe(0);
      expect(ok.socketErrors).toBe(0);
      const failing = await runBunLoad({ url: `${base}/down`, connections: 2, durationMs: 200, warmupMs: 0, headers: {} });
      expect(failing.non2xx).toBe(failing.requests);
    } finally {
      void server.stop(true);
    }
  });
});
