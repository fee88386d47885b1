// Join time in Chromium (issue #5, "Benchmarks"): click "Join" → first remote video frame, on
// loopback. One host page publishes fake camera + mic; then N guests join one after another,
// each in a fresh browser context, clicking Join only once their camera preview runs (so the
// figure is joining, not camera start-up). The client marks both moments with performance.mark.
//
//   bun run scripts/bench/join-time.ts [--joins 15]
//
// Server: the real signalling server and SFU in this process (tests/support/client-server.ts),
// no waiting room. Goal (p50 ≤ 1 s) is reported, never enforced.

import { parseArgs } from "node:util";
import { launchChromium } from "../../tests/support/browser.ts";
import { startClientServer } from "../../tests/support/client-server.ts";
import { installMeetingHooks, joinTiming, waitForPreview } from "../../tests/support/meeting-page.ts";

const { values: args } = parseArgs({ options: { joins: { type: "string", default: "15" } } });
const joins = Number(args.joins);
if (!Number.isInteger(joins) || joins < 1 || joins > 200) {
  console.error("--joins must be an integer between 1 and 200");
  process.exit(2);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

const server = await startClientServer("bench-join");
const browser = await launchChromium();
try {
  const hostCtx = await browser.newContext({ permissions: ["camera", "microphone"] });
  const host = await hostCtx.newPage();
  await host.goto(server.pageUrl("host", { host: true, name: "Host" }));
  await waitForPreview(host);
  await host.getByRole("button", { name: "Join", exact: true }).click();
  await host.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 20_000 });

  const samples: number[] = [];
  const admitted: number[] = [];
  for (let i = 0; i < joins; i++) {
    const ctx = await browser.newContext({ permissions: ["camera", "microphone"] });
    await installMeetingHooks(ctx);
    const page = await ctx.newPage();
    await page.goto(server.pageUrl(`guest-${i}`, { name: `Guest ${i}` }));
    await waitForPreview(page);
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.waitForFunction(() => performance.getEntriesByName("conclave:first-remote-frame", "mark").length > 0, null, { timeout: 30_000 });
    const t = await joinTiming(page);
    if (t.joinToFirstFrame === null) throw new Error(`join ${i}: no timing marks`);
    samples.push(t.joinToFirstFrame);
    if (t.admittedToFirstFrame !== null) admitted.push(t.admittedToFirstFrame);
    console.log(`join ${i + 1}/${joins}: ${t.joinToFirstFrame} ms (welcome → frame ${t.admittedToFirstFrame} ms)`);
    await page.getByRole("button", { name: "Leave" }).click();
    await ctx.close();
  }
  const p50 = pct(samples, 50);
  console.log("\n| join time (Join click → first remote video frame) | p50 | p95 | min | max | n |");
  console.log("|---|---|---|---|---|---|");
  console.log(`| Chromium, loopback, 1 publisher already in | ${p50} ms | ${pct(samples, 95)} ms | ${Math.min(...samples)} ms | ${Math.max(...samples)} ms | ${samples.length} |`);
  console.log(`| of which welcome → first frame (media setup) | ${pct(admitted, 50)} ms | ${pct(admitted, 95)} ms | ${Math.min(...admitted)} ms | ${Math.max(...admitted)} ms | ${admitted.length} |`);
  console.log(`\ngoal p50 ≤ 1000 ms: ${p50 <= 1000 ? "met" : "NOT met"}`);
} finally {
  await browser.close().catch(() => {});
  await server.stop();
  // (no nodeDataChannel.cleanup(): process.exit below ends libdatachannel too)
}
// Exit at once: letting Bun tear down with libdatachannel's threads still winding down can crash it.
process.exit(0);
