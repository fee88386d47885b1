// The browser meeting client (src/client) in real headless Chromium against a SCRIPTED
// signalling server (this file plays the server): what the client sends, how it renders hostile
// names and chat, host controls, being muted/removed, and reconnection after a dropped socket
// (resume secret refused → fresh join token). The full product path (compiled binary, real SFU,
// three browsers) is tests/e2e/meeting.e2e.test.ts.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Server, ServerWebSocket } from "bun";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CONTENT_SECURITY_POLICY } from "../../src/http/middleware/security-headers.ts";
import { clientBundle } from "../../src/http/client-bundle.ts";
import type { ClientMessage, ParticipantInfo, ServerMessage } from "../../src/shared/signaling.ts";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";

setDefaultTimeout(60_000);

const HOSTILE = ['<img src=x onerror="window.__xss=1">', "\u202Eexe.doc", "<script>window.__xss=2</script>"];
const person = (id: string, name: string, extra: Partial<ParticipantInfo> = {}): ParticipantInfo => ({ id, name, role: "participant", internal: false, mic: true, camera: true, screen: false, hand: false, ...extra });
const SELF = person("me", "Hannah Host", { role: "host" });
const MEETING = { topic: "Budget <b>review</b>", locked: false, screenShare: "all" as const, muteOnEntry: false };

type Sock = ServerWebSocket<{ n: number }>;

/** Within bounds: poll `check` until it returns a value or fail with `what`. */
async function eventually<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await Bun.sleep(25);
  }
}

describe("meeting client against a scripted signalling server (Chromium)", () => {
  let server: Server<{ n: number }>;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const problems: ConsoleProblem[] = [];
  const received: { n: number; m: ClientMessage }[] = [];
  const tokenRequests: { csrf: string | null; body: unknown }[] = [];
  const sockets: Sock[] = [];
  let connections = 0;
  /** what to answer a hello with; set per test */
  let onHello: (ws: Sock, m: Extract<ClientMessage, { type: "hello" }>) => void = () => {};

  const send = (ws: Sock, m: ServerMessage): void => void ws.send(JSON.stringify(m));
  const live = (): Sock => sockets[sockets.length - 1]!;
  const sent = <T extends ClientMessage["type"]>(type: T, since = 0): Extract<ClientMessage, { type: T }>[] =>
    received.slice(since).filter((r) => r.m.type === type).map((r) => r.m as Extract<ClientMessage, { type: T }>);

  beforeAll(async () => {
    const js = clientBundle();
    const css = await Bun.file("public/meeting.css").text();
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Meeting</title><link rel="stylesheet" href="/static/app.css"></head><body>
<main id="conclave-meeting" data-meeting-number="12345678901" data-topic="${MEETING.topic.replace(/</g, "&lt;")}" data-display-name="" data-name-editable="true" data-token-url="/j/12345678901/token" data-csrf="csrf-abc" data-host="true"><noscript>The meeting needs JavaScript.</noscript></main>
<script type="module" src="/static/client.js"></script></body></html>`;
    server = Bun.serve<{ n: number }>({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req, srv) {
        const url = new URL(req.url);
        const headers = { "Content-Security-Policy": CONTENT_SECURITY_POLICY };
        if (url.pathname === "/ws/meeting") return srv.upgrade(req, { data: { n: ++connections } }) ? undefined : new Response("no upgrade", { status: 400 });
        if (url.pathname === "/j/12345678901/token" && req.method === "POST") {
          tokenRequests.push({ csrf: req.headers.get("x-csrf-token"), body: await req.json() });
          return Response.json({ token: `tok-${tokenRequests.length}` }, { headers });
        }
        if (url.pathname === "/static/client.js") return new Response(js, { headers: { ...headers, "Content-Type": "text/javascript" } });
        if (url.pathname === "/static/meeting.css") return new Response(css, { headers: { ...headers, "Content-Type": "text/css" } });
        if (url.pathname === "/") return new Response(html, { headers: { ...headers, "Content-Type": "text/html; charset=utf-8" } });
        return new Response("not found", { status: 404, headers });
      },
      websocket: {
        open(ws) {
          sockets.push(ws);
        },
        message(ws, data) {
          const m = JSON.parse(String(data)) as ClientMessage;
          received.push({ n: ws.data.n, m });
          if (m.type === "hello") onHello(ws, m);
        },
      },
    });
    browser = await launchChromium();
    ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    page = await ctx.newPage();
    watchConsole(page, problems);
    await page.addInitScript(() => {
      const w = window as unknown as { __dialogs: string[]; confirm: (q?: string) => boolean };
      w.__dialogs = [];
      w.confirm = (q?: string) => (w.__dialogs.push(q ?? ""), true);
    });
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    server?.stop(true);
  });

  test("pre-join shows the camera preview, device lists and a Join button; Join asks for a token with the CSRF header", async () => {
    await page.goto(`http://localhost:${server.port}/`);
    await page.getByRole("heading", { name: "Ready to join?" }).waitFor();
    // Topic is text, not markup.
    expect(await page.locator(".meeting-header .topic").textContent()).toBe(MEETING.topic);
    await page.waitForFunction(() => {
      const v = document.querySelector("video.preview") as HTMLVideoElement | null;
      return v !== null && v.srcObject !== null && v.readyState >= 2;
    }, null, { timeout: 15_000 });
    expect(await page.locator("#prejoin-camera option").count()).toBeGreaterThan(0);
    expect(await page.locator("#prejoin-mic option").count()).toBeGreaterThan(0);

    // An empty name is refused with a message that says what to do.
    await page.getByRole("button", { name: "Join" }).click();
    expect(await page.locator("#prejoin-name-error").textContent()).toContain("Enter your name");
    expect(tokenRequests.length).toBe(0);

    onHello = (ws, m) => {
      if (m.token) send(ws, { type: "welcome", self: SELF, meeting: MEETING, participants: [SELF, person("a", HOSTILE[0]!), person("b", HOSTILE[1]!, { mic: false, hand: true })], waiting: [], resume: "R1" });
    };
    await page.fill("#prejoin-name", "  Hannah   Host ");
    await page.getByRole("button", { name: "Join" }).click();
    await eventually("a hello on the socket", () => sent("hello")[0]);
    expect(tokenRequests).toEqual([{ csrf: "csrf-abc", body: { name: "Hannah Host" } }]);
    expect(sent("hello")[0]).toEqual({ type: "hello", v: 1, token: "tok-1" });
  });

  test("after welcome the meeting shows everyone, with hostile names rendered as inert text", async () => {
    await page.locator("section.meeting").waitFor({ state: "visible" });
    const names = await page.locator(".people li .who bdi").allTextContents();
    expect(names).toEqual(expect.arrayContaining(["Hannah Host", HOSTILE[0]!, "exe.doc"]));
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.locator("main").textContent()).not.toContain("\u202E");
    // The raised hand is listed first among the others and announced in the row.
    expect(await page.locator('.people li[data-hand="true"]').count()).toBe(1);
    // Grid: our own tile and one per other participant.
    expect(await page.locator(".grid .tile").count()).toBe(3);
    // Host controls are visible to the host.
    await page.getByRole("group", { name: "Host controls" }).waitFor({ state: "visible" });
  });

  test("the client publishes mic and camera with H.264 42e01f first, and reports its media state", async () => {
    const offer = await eventually("a pub.offer", () => sent("pub.offer")[0]);
    expect(offer.tracks.map((t) => t.source)).toEqual(["mic", "camera"]);
    const video = offer.sdp.split("\r\nm=").find((s) => s.startsWith("video"))!;
    const firstPt = video.split("\r\n")[0]!.split(" ")[3];
    expect(video).toContain(`a=rtpmap:${firstPt} H264/90000`);
    expect(video).toMatch(new RegExp(`a=fmtp:${firstPt} .*packetization-mode=1`));
    expect(video).toMatch(new RegExp(`a=fmtp:${firstPt} .*profile-level-id=42e01f`));
    expect(offer.sdp).toContain("a=sendonly");
    expect(sent("media.state").at(-1)).toEqual({ type: "media.state", mic: true, camera: true, screen: false });
  });

  test("mute, stop video, raise hand and chat send the right messages and show their state", async () => {
    const since = received.length;
    const mute = page.getByRole("button", { name: "Mute", exact: true });
    await mute.click();
    expect(await mute.getAttribute("aria-pressed")).toBe("true");
    await page.getByRole("button", { name: "Stop video" }).click();
    await page.getByRole("button", { name: "Raise hand" }).click();
    await page.fill("#chat-input", "hello <b>all</b>");
    await page.keyboard.press("Enter");
    await eventually("chat.send", () => sent("chat.send", since)[0]);
    expect(sent("media.state", since).at(-1)).toEqual({ type: "media.state", mic: false, camera: false, screen: false });
    expect(sent("hand", since)).toEqual([{ type: "hand", raised: true }]);
    expect(sent("chat.send", since)).toEqual([{ type: "chat.send", text: "hello <b>all</b>" }]);
    expect(await page.locator("#chat-input").inputValue()).toBe("");
    // Back on for the rest of the test.
    await mute.click();
    await page.getByRole("button", { name: "Stop video" }).click();
    await eventually("camera back on", () => sent("media.state").at(-1)?.camera === true);
  });

  test("chat from others is shown as text in the chat log", async () => {
    send(live(), { type: "chat", id: "c1", from: { id: "a", name: HOSTILE[0]! }, text: HOSTILE[2]!, at: Date.now() });
    await page.locator('.chat-log li[data-chat-id="c1"]').waitFor();
    expect(await page.locator('.chat-log li[data-chat-id="c1"] .text').textContent()).toBe(HOSTILE[2]!);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator(".chat-log").getAttribute("role")).toBe("log");
  });

  test("host controls: admit from the waiting room, mute, remove (confirmed), lock", async () => {
    const since = received.length;
    send(live(), { type: "waiting.updated", waiting: [{ id: "w1", name: "Wendy Waiting", internal: false, since: 1 }] });
    await page.getByRole("button", { name: "Admit Wendy Waiting" }).click();
    await page.getByRole("button", { name: `Mute ${HOSTILE[0]}` }).click();
    await page.getByRole("button", { name: `Remove ${HOSTILE[0]}` }).click();
    await page.getByRole("button", { name: "Lock meeting" }).click();
    await eventually("host.lock", () => sent("host.lock", since)[0]);
    expect(sent("host.admit", since)).toEqual([{ type: "host.admit", participantId: "w1" }]);
    expect(sent("host.mute", since)).toEqual([{ type: "host.mute", participantId: "a" }]);
    expect(sent("host.remove", since)).toEqual([{ type: "host.remove", participantId: "a" }]);
    expect(sent("host.lock", since)).toEqual([{ type: "host.lock", locked: true }]);
    expect(await page.evaluate(() => (window as unknown as { __dialogs: string[] }).__dialogs)).toEqual([`Remove ${HOSTILE[0]} from the meeting? They will not be able to rejoin.`]);
  });

  test("being muted by the host turns the microphone off and says who did it", async () => {
    send(live(), { type: "muted", by: "Cohost Carl" });
    await eventually("mic off", () => sent("media.state").at(-1)?.mic === false);
    expect(await page.getByRole("button", { name: "Mute", exact: true }).getAttribute("aria-pressed")).toBe("true");
    expect(await page.locator(".toasts").textContent()).toContain("Cohost Carl muted your microphone.");
  });

  test("a dropped socket reconnects with the resume secret; a refused resume takes a fresh token; both connections are rebuilt", async () => {
    const pcsBefore = sent("pub.offer").length;
    onHello = (ws, m) => {
      if (m.resume) send(ws, { type: "error", code: "bad_token", message: "" });
      else send(ws, { type: "welcome", self: SELF, meeting: MEETING, participants: [SELF], waiting: [], resume: "R2" });
    };
    live().close(1011, "server restart");
    await page.locator(".banner").waitFor({ state: "visible" });
    await eventually("a hello with a fresh token after the refused resume", () => sent("hello").find((h) => h.token === "tok-2"), 30_000);
    expect(sent("hello").map((h) => h.resume ?? h.token)).toEqual(["tok-1", "R1", "tok-2"]);
    await eventually("a new pub.offer on the rebuilt connection", () => sent("pub.offer").length > pcsBefore);
    await page.locator(".banner").waitFor({ state: "hidden" });
    expect(await page.locator(".grid .tile").count()).toBe(1);
  });

  test("removal by the host shows why and offers no rejoin", async () => {
    send(live(), { type: "ended", reason: "removed", message: "" });
    await page.locator("section.ended").waitFor({ state: "visible" });
    expect(await page.locator("#ended-title").textContent()).toBe("You were removed from the meeting");
    expect(await page.locator(".ended-reason").textContent()).toContain("You cannot rejoin");
    expect(await page.getByRole("button", { name: "Rejoin" }).count()).toBe(0);
  });

  test("no CSP violation and no script error", () => {
    expect(problems.filter(isCspViolation)).toEqual([]);
    expect(problems.filter((p) => p.kind === "pageerror")).toEqual([]);
  });
});
