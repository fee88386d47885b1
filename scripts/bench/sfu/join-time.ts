// Join time in Chromium: an "anchor" participant (fake camera) stays in the meeting; then, one
// at a time, a fresh browser context opens the invitation link, clicks Join and waits for the
// first decoded frame of the anchor's video. The client marks both moments with
// performance.mark() ("conclave:join-click", "conclave:first-remote-frame"); the difference is
// the join time. Like scripts/bench/join-time.ts, but against the compiled binary (its meeting
// pages, join tokens, signalling and media server), from the invitation link.

import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../../../tests/support/browser.ts";
import { eventually, installMeetingHooks, joinTiming, waitForPreview } from "../../../tests/support/meeting-page.ts";
import { median } from "../stats.ts";

/** JoinTimes are the measured joins (ms) and their median. */
export interface JoinTimes {
  samples: number[];
  p50Ms: number;
}

async function joinMeeting(browser: Browser, url: string, name: string): Promise<{ page: Page; close(): Promise<void> }> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, permissions: ["camera", "microphone"] });
  await installMeetingHooks(ctx);
  const page = await ctx.newPage();
  await page.goto(url);
  await page.getByRole("heading", { name: "Ready to join?" }).waitFor({ timeout: 20_000 });
  const nameBox = page.locator("#prejoin-name");
  if (!(await nameBox.evaluate((el) => (el as HTMLInputElement).readOnly))) await nameBox.fill(name);
  await waitForPreview(page); // the figure is joining, not camera start-up
  await page.getByRole("button", { name: "Join", exact: true }).click();
  return { page, close: () => ctx.close() };
}

/** measureJoinTime runs `runs` joins against a meeting's invitation link (absolute URL). */
export async function measureJoinTime(link: string, runs: number, log: (m: string) => void): Promise<JoinTimes> {
  const browser = await launchChromium();
  try {
    const anchor = await joinMeeting(browser, link, "Anchor");
    await anchor.page.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 30_000 });
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const j = await joinMeeting(browser, link, `Joiner ${i + 1}`);
      try {
        const t = await eventually("the first remote video frame", async () => (await joinTiming(j.page)).joinToFirstFrame, 20_000);
        samples.push(t);
        log(`join ${i + 1}/${runs}: Join click → first remote frame ${t} ms`);
      } finally {
        await j.close();
      }
    }
    await anchor.close();
    return { samples, p50Ms: median(samples) };
  } finally {
    await browser.close();
  }
}
