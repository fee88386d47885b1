// The browser meeting client (src/client) in headless Chromium against the REAL signalling
// server and SFU (src/signaling + src/media, in process, one UDP port on 127.0.0.1) with the
// live room of src/meetings: three participants publish fake camera + mic, everyone decodes
// everyone else, a screen share is forwarded, mute is honoured, and a dropped signalling socket
// is resumed without reloading. This isolates client ↔ SFU from the meeting pages; the full
// product path (compiled binary, scheduling, passcodes) is tests/e2e/meeting.e2e.test.ts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";
import { startClientServer, type ClientServer } from "../support/client-server.ts";
import { diagnose, eventually, inboundVideoCodecs, installMeetingHooks, joinTiming, received, selfId } from "../support/meeting-page.ts";

setDefaultTimeout(120_000);

const MEETING = "m-sfu-e2e";
type Who = "host" | "a" | "b";
const NAMES: Record<Who, string> = { host: "Hannah Host", a: "Ann Guest", b: "Bob Guest" };

describe("meeting client ↔ real SFU in Chromium (three participants)", () => {
  let server: ClientServer;
  let browser: Browser;
  const ctx = {} as Record<Who, BrowserContext>;
  const page = {} as Record<Who, Page>;
  const ids: Record<Who, string> = { host: "", a: "", b: "" };
  const problems: ConsoleProblem[] = [];

  beforeAll(async () => {
    server = await startClientServer(MEETING);
    browser = await launchChromium();
    for (const who of ["host", "a", "b"] as const) {
      ctx[who] = await browser.newContext({ permissions: ["camera", "microphone"] });
      await installMeetingHooks(ctx[who]);
      page[who] = await ctx[who].newPage();
      watchConsole(page[who], problems);
    }
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    // No nodeDataChannel.cleanup() here: bun test runs every file in one process, and peer
    // connections made by a later file after cleanup() crash it.
  }, 30_000);

  async function join(who: Who): Promise<void> {
    const p = page[who];
    await p.goto(server.pageUrl(who, { host: who === "host", name: NAMES[who] }));
    await p.getByRole("button", { name: "Join", exact: true }).click();
    await p.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 45_000 }).catch(async () => {
      throw new Error(`${who} did not get into the meeting; the page says: ${await p.locator("#conclave-meeting").innerText()}`);
    });
    ids[who] = await selfId(p);
  }

  test("three participants join", async () => {
    await join("host");
    await join("a");
    await join("b");
    expect(new Set(Object.values(ids)).size).toBe(3);
  });

  test("everyone decodes everyone else's video and receives their audio", async () => {
    for (const me of ["host", "a", "b"] as const) {
      for (const other of (["host", "a", "b"] as const).filter((w) => w !== me)) {
        await eventually(`${me} decoding ${other}'s camera (framesDecoded > 0)`, async () => ((await received(page[me]))[ids[other]]?.videoFrames ?? 0) > 0, 30_000).catch(async (e) => {
          throw new Error(`${(e as Error).message}\n${me}:\n${await diagnose(page[me])}\n${other}:\n${await diagnose(page[other])}`);
        });
        const before = (await received(page[me]))[ids[other]]?.audioPackets ?? 0;
        await eventually(`${me} receiving ${other}'s audio (packets above ${before})`, async () => ((await received(page[me]))[ids[other]]?.audioPackets ?? 0) > before, 20_000);
      }
    }
    // Camera video travels as H.264 constrained baseline, packetization-mode 1.
    const codecs = await inboundVideoCodecs(page.host);
    expect(codecs.length).toBeGreaterThanOrEqual(2);
    for (const c of codecs) {
      expect(c).toStartWith("video/H264;");
      expect(c).toContain("packetization-mode=1");
      expect(c).toContain("profile-level-id=42e01f");
    }
    // The server names the active speaker (fake microphones beep): some tile is highlighted.
    await eventually("an active-speaker highlight on the host's page", async () => (await page.host.locator(".tile.speaking").count()) > 0, 20_000);
    const t = await joinTiming(page.b);
    console.log(`join time (in-process server): Join click → first remote frame ${t.joinToFirstFrame} ms`);
  });

  test("a screen share reaches the others and stops", async () => {
    const share = page.a.getByRole("button", { name: "Share screen" });
    await share.click();
    for (const who of ["host", "b"] as const) await eventually(`${who} decoding A's screen`, async () => ((await received(page[who]))[ids.a]?.screenFrames ?? 0) > 0, 30_000);
    await share.click();
    await eventually("the screen tile gone at B", async () => (await page.b.locator(".tile.screen").count()) === 0, 20_000);
  });

  test("the host mutes B: B's page shows it and the host's list shows B muted", async () => {
    await page.host.getByRole("button", { name: `Mute ${NAMES.b}` }).click();
    await eventually("B's Mute button pressed", async () => (await page.b.getByRole("button", { name: "Mute", exact: true }).getAttribute("aria-pressed")) === "true");
    await eventually("the host sees B muted", async () => (await page.host.locator(`.people li[data-participant-id="${ids.b}"]`).getAttribute("data-mic")) === "false");
  });

  test("chat reaches everyone", async () => {
    await page.b.fill("#chat-input", "hello from B");
    await page.b.keyboard.press("Enter");
    for (const who of ["host", "a"] as const) await page[who].locator(".chat-log li .text", { hasText: "hello from B" }).waitFor({ timeout: 10_000 });
  });

  test("a dropped signalling socket is resumed and media flows again, without a reload", async () => {
    const pcsBefore = await page.a.evaluate(() => (window as unknown as { __pcs: unknown[] }).__pcs.length);
    // Cut A's socket abruptly (as a network blip would).
    const ws = server.socketOf(ids.a);
    if (!ws) throw new Error("no server socket found for A");
    ws.terminate();
    await page.a.locator(".banner").waitFor({ state: "visible", timeout: 10_000 });
    await page.a.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 30_000 });
    await eventually("A's connections rebuilt", async () => (await page.a.evaluate(() => (window as unknown as { __pcs: unknown[] }).__pcs.length)) > pcsBefore, 20_000);
    expect(await selfId(page.a)).toBe(ids.a);
    await eventually("A decoding the host's video again", async () => ((await received(page.a))[ids.host]?.videoFrames ?? 0) > 0, 30_000);
  });

  test("a network blip (the browser goes offline for 3 s) shows the banner and the meeting comes back by itself", async () => {
    await ctx.b.setOffline(true);
    await page.b.locator(".banner").waitFor({ state: "visible", timeout: 10_000 });
    await Bun.sleep(3000);
    await ctx.b.setOffline(false);
    await page.b.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 45_000 });
    await page.b.locator(".banner").waitFor({ state: "hidden", timeout: 10_000 });
    expect(await selfId(page.b)).toBe(ids.b);
    await eventually("B decoding the host's video after the blip", async () => {
      const before = (await received(page.b))[ids.host]?.videoFrames ?? 0;
      await Bun.sleep(500);
      return ((await received(page.b))[ids.host]?.videoFrames ?? 0) > before;
    }, 30_000);
  });

  test("when A's media connections die (server side), A rejoins by itself and media flows again", async () => {
    const pcsBefore = await page.a.evaluate(() => (window as unknown as { __pcs: unknown[] }).__pcs.length);
    server.media.closeSession(ids.a);
    await eventually("A's connections rebuilt after the media loss", async () => (await page.a.evaluate(() => (window as unknown as { __pcs: unknown[] }).__pcs.length)) > pcsBefore, 45_000);
    await page.a.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 30_000 });
    expect(await selfId(page.a)).toBe(ids.a);
    await eventually("the host decoding A's video again", async () => {
      const before = (await received(page.host))[ids.a]?.videoFrames ?? 0;
      await Bun.sleep(500);
      return ((await received(page.host))[ids.a]?.videoFrames ?? 0) > before;
    }, 30_000);
  });

  test("no CSP violation and no script error", () => {
    expect(problems.filter(isCspViolation)).toEqual([]);
    expect(problems.filter((p) => p.kind === "pageerror")).toEqual([]);
  });
});
