// The browser meeting client (src/client) in headless Chromium against the REAL signalling
// server and SFU (src/signaling + src/media, in process, one UDP port on 127.0.0.1) with the
// live room of src/meetings: three participants publish fake camera + mic, everyone decodes
// everyone else, a screen share is forwarded, mute is honoured, and a dropped signalling socket
// is resumed without reloading. This isolates client ↔ SFU from the meeting pages; the full
// product path (compiled binary, scheduling, passcodes) is tests/e2e/meeting.e2e.test.ts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import nodeDataChannel from "node-datachannel";
import type { Server, ServerWebSocket } from "bun";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { clientBundle } from "../../src/http/client-bundle.ts";
import { CONTENT_SECURITY_POLICY } from "../../src/http/middleware/security-headers.ts";
import { MediaServer } from "../../src/media/media-server.ts";
import { systemClock } from "../../src/shared/clock.ts";
import { createLogger } from "../../src/shared/logger.ts";
import { createSignaling, SIGNALING_PATH, type Signaling, type SocketData } from "../../src/signaling/server.ts";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";
import { eventually, installMeetingHooks, joinTiming, received, selfId } from "../support/meeting-page.ts";
import { createFakeMeetings, type FakeMeetings } from "../support/signaling-harness.ts";

setDefaultTimeout(90_000);

const MEETING = "m-sfu-e2e";
type Who = "host" | "a" | "b";
const NAMES: Record<Who, string> = { host: "Hannah Host", a: "Ann Guest", b: "Bob Guest" };

describe("meeting client ↔ real SFU in Chromium (three participants)", () => {
  let meetings: FakeMeetings;
  let media: MediaServer;
  let signaling: Signaling;
  let server: Server<SocketData>;
  let browser: Browser;
  const ctx = {} as Record<Who, BrowserContext>;
  const page = {} as Record<Who, Page>;
  const ids: Record<Who, string> = { host: "", a: "", b: "" };
  const problems: ConsoleProblem[] = [];
  const sockets = new Set<ServerWebSocket<SocketData>>();

  beforeAll(async () => {
    meetings = createFakeMeetings();
    meetings.policy(MEETING, { waitingRoom: false, joinBeforeHost: true, screenShare: "all" });
    const log = createLogger({ level: "error", pretty: true });
    let sig: Signaling | null = null;
    media = new MediaServer({ port: 40000 + Math.floor(Math.random() * 20000), bindAddress: "127.0.0.1", clock: systemClock, onSpeaker: (g, s) => sig?.setSpeaker(g, s) });
    signaling = sig = createSignaling({ meetings, media, log, statsIntervalMs: 0 });
    const js = clientBundle();
    const css = await Bun.file("public/meeting.css").text();
    const html = (who: Who): string => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Meeting</title></head><body>
<main id="conclave-meeting" data-meeting-number="12345678901" data-topic="SFU test" data-display-name="${NAMES[who]}" data-name-editable="false" data-token-url="/token/${who}" data-csrf="c" data-host="${who === "host"}"><noscript>JavaScript needed.</noscript></main>
<script type="module" src="/static/client.js"></script></body></html>`;
    server = Bun.serve<SocketData>({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req, srv) {
        const url = new URL(req.url);
        const headers = { "Content-Security-Policy": CONTENT_SECURITY_POLICY };
        if (url.pathname === SIGNALING_PATH) return signaling.upgrade(req, srv);
        const m = /^\/(page|token)\/(host|a|b)$/.exec(url.pathname);
        if (m && m[1] === "page") return new Response(html(m[2] as Who), { headers: { ...headers, "Content-Type": "text/html; charset=utf-8" } });
        if (m && m[1] === "token" && req.method === "POST") return Response.json({ token: meetings.token(MEETING, NAMES[m[2] as Who], { host: m[2] === "host" }) });
        if (url.pathname === "/static/client.js") return new Response(js, { headers: { ...headers, "Content-Type": "text/javascript" } });
        if (url.pathname === "/static/meeting.css") return new Response(css, { headers: { ...headers, "Content-Type": "text/css" } });
        return new Response("not found", { status: 404 });
      },
      websocket: {
        ...signaling.websocket,
        open(ws) {
          sockets.add(ws);
          signaling.websocket.open?.(ws);
        },
        close(ws, code, reason) {
          sockets.delete(ws);
          signaling.websocket.close?.(ws, code, reason);
        },
      },
    });
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
    signaling?.close();
    media?.close();
    await server?.stop(true);
    nodeDataChannel.cleanup();
  }, 30_000);

  async function join(who: Who): Promise<void> {
    const p = page[who];
    await p.goto(`http://localhost:${server.port}/page/${who}`);
    await p.getByRole("button", { name: "Join", exact: true }).click();
    await p.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 20_000 }).catch(async () => {
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
        await eventually(`${me} decoding ${other}'s camera (framesDecoded > 0)`, async () => ((await received(page[me]))[ids[other]]?.videoFrames ?? 0) > 0, 30_000);
        const before = (await received(page[me]))[ids[other]]?.audioPackets ?? 0;
        await eventually(`${me} receiving ${other}'s audio (packets above ${before})`, async () => ((await received(page[me]))[ids[other]]?.audioPackets ?? 0) > before, 20_000);
      }
    }
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
    const ws = [...sockets].find((w) => (w.data.conn as { participantId?: string } | null)?.participantId === ids.a);
    if (!ws) throw new Error("no server socket found for A");
    ws.terminate();
    await page.a.locator(".banner").waitFor({ state: "visible", timeout: 10_000 });
    await page.a.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 30_000 });
    await eventually("A's connections rebuilt", async () => (await page.a.evaluate(() => (window as unknown as { __pcs: unknown[] }).__pcs.length)) > pcsBefore, 20_000);
    expect(await selfId(page.a)).toBe(ids.a);
    await eventually("A decoding the host's video again", async () => ((await received(page.a))[ids.host]?.videoFrames ?? 0) > 0, 30_000);
  });

  test("no CSP violation and no script error", () => {
    expect(problems.filter(isCspViolation)).toEqual([]);
    expect(problems.filter((p) => p.kind === "pageerror")).toEqual([]);
  });
});
