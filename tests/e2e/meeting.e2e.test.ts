// A real meeting end to end: the compiled binary (dist/conclave, server bound to 127.0.0.1)
// and three headless Chromium contexts with fake camera and microphone.
//   host    sets up the organisation, schedules a meeting (waiting room on, passcode on), starts it
//   guest A joins by the invitation link (no passcode prompt) and is admitted from the waiting room
//   guest B joins by meeting ID, gets the passcode wrong then right, waits until the host admits
// then: everyone decodes everyone else's video and receives their audio; chat arrives; A's
// screen share arrives; the host mutes B (B's page shows it) and removes B; B cannot rejoin;
// the host ends the meeting and A is told. Join time (Join click → first remote frame) is logged.
// Scheduled with "Who can share screen: all participants" (the default lets only hosts share).

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { isCspViolation, launchChromium, watchConsole, type ConsoleProblem } from "../support/browser.ts";
import { ConclaveServer, removeDir, requireBinary, startConclave, tempDir } from "../support/conclave.ts";
import { diagnose, eventually, inboundVideoCodecs, installMeetingHooks, joinTiming, received, selfId } from "../support/meeting-page.ts";

setDefaultTimeout(120_000);

const OWNER = { organisation: "Acme Meetings", name: "Hannah Host", email: "hannah@acme.test", password: "Corr3ct-Horse-Battery" };
const TOPIC = "Quarterly planning";

describe("meeting end to end: three Chromium browsers and dist/conclave", () => {
  let dir: string;
  let server: ConclaveServer;
  let browser: Browser;
  const ctx: Record<"host" | "a" | "b", BrowserContext> = {} as never;
  const page: Record<"host" | "a" | "b", Page> = {} as never;
  const ids: Record<"host" | "a" | "b", string> = { host: "", a: "", b: "" };
  const problems: ConsoleProblem[] = [];
  let invite = { link: "", number: "", passcode: "" };
  /** the first step that failed: later steps depend on it and fail at once, naming it */
  let broken: string | null = null;

  /** step is a test that fails fast when an earlier step failed (each step needs the previous state). */
  function step(name: string, fn: () => Promise<void>): void {
    test(name, async () => {
      if (broken) throw new Error(`not run: an earlier step failed (${broken})`);
      try {
        await fn();
      } catch (e) {
        broken = name;
        throw e;
      }
    });
  }

  async function open(who: "host" | "a" | "b"): Promise<Page> {
    ctx[who] = await browser.newContext({ ignoreHTTPSErrors: true, permissions: ["camera", "microphone"] });
    await installMeetingHooks(ctx[who]);
    const p = await ctx[who].newPage();
    watchConsole(p, problems);
    // "Remove …?" and "End the meeting for everyone?" are confirm() dialogs: accept them.
    p.on("dialog", (d) => void d.accept());
    page[who] = p;
    return p;
  }

  /** joinFromPrejoin fills the pre-join name (when editable) and clicks Join. */
  async function joinFromPrejoin(p: Page, name: string | null): Promise<void> {
    await p.getByRole("heading", { name: "Ready to join?" }).waitFor({ timeout: 20_000 });
    if (name !== null && !(await p.locator("#prejoin-name").evaluate((el) => (el as HTMLInputElement).readOnly))) await p.fill("#prejoin-name", name);
    await p.getByRole("button", { name: "Join", exact: true }).click();
  }

  async function waitInMeeting(p: Page, who: string): Promise<void> {
    await p.locator('#conclave-meeting[data-phase="in"]').waitFor({ timeout: 30_000 }).catch(async (e) => {
      throw new Error(`${who} did not get into the meeting: page says ${JSON.stringify(await p.locator("#conclave-meeting").innerText().catch(() => "?"))} (${(e as Error).message})`);
    });
  }

  async function admit(name: string): Promise<void> {
    const h = page.host;
    const button = h.getByRole("button", { name: `Admit ${name}` });
    await button.waitFor({ timeout: 20_000 }).catch(() => {
      throw new Error(`the host's waiting room never listed ${name}`);
    });
    await button.click();
  }

  beforeAll(async () => {
    requireBinary();
    dir = tempDir("conclave-meeting-e2e-");
    server = await startConclave({ cwd: dir });
    browser = await launchChromium();
    await open("host");
    await open("a");
    await open("b");
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    removeDir(dir);
  }, 60_000);

  step("the host sets up the organisation and schedules a meeting with waiting room and passcode", async () => {
    const setupUrl = await server.setupUrl();
    const h = page.host;
    await h.goto(setupUrl);
    await h.fill("#f-organisation", OWNER.organisation);
    await h.fill("#f-ownerName", OWNER.name);
    await h.fill("#f-ownerEmail", OWNER.email);
    await h.fill("#f-password", OWNER.password);
    await h.fill("#f-confirm", OWNER.password);
    await h.getByRole("button", { name: "Create organisation" }).click();
    await h.waitForURL(/\/admin\?welcome=1$/);
    invite = await scheduleMeeting(h, server.browserUrl, TOPIC);
    expect(invite.link).toStartWith(`${server.browserUrl}/j/`);
    expect(invite.number).toMatch(/^\d{10,11}$/);
    expect(invite.passcode).not.toBe("");
  });

  step("the host starts the meeting", async () => {
    await page.host.getByRole("link", { name: "Start the meeting" }).click();
    await joinFromPrejoin(page.host, null);
    await waitInMeeting(page.host, "the host");
    ids.host = await selfId(page.host);
    await page.host.getByRole("group", { name: "Host controls" }).waitFor({ state: "visible" });
  });

  step("guest A joins by the link without a passcode prompt, waits, and is admitted", async () => {
    const a = page.a;
    await a.goto(invite.link);
    // The link carries the passcode: straight to the meeting page's pre-join screen.
    await a.waitForURL(new RegExp(`/j/${invite.number}$`));
    expect(await a.locator("#f-passcode").count()).toBe(0);
    await joinFromPrejoin(a, "Ann Guest");
    await a.locator('#conclave-meeting[data-phase="waiting"]').waitFor({ timeout: 20_000 });
    expect(await a.locator("section.waiting").textContent()).toContain("waiting room");
    await admit("Ann Guest");
    await waitInMeeting(a, "guest A");
    ids.a = await selfId(a);
    await eventually("the host's waiting room empty again after admitting A", async () => (await page.host.locator("[data-waiting-id]").count()) === 0);
  });

  step("guest B joins by meeting ID: the wrong passcode is refused, the right one leads to the waiting room, then in", async () => {
    const b = page.b;
    await enterMeetingId(b, server.browserUrl, invite.number);
    await submitPasscode(b, "WRONG1234");
    expect(await b.locator("main").textContent()).toContain("The meeting ID or passcode is not correct");
    await enterMeetingId(b, server.browserUrl, invite.number);
    await submitPasscode(b, invite.passcode);
    await b.waitForURL(new RegExp(`/j/${invite.number}$`));
    await joinFromPrejoin(b, "Bob \u202EGuest");
    await b.locator('#conclave-meeting[data-phase="waiting"]').waitFor({ timeout: 20_000 });
    await admit("Bob Guest");
    await waitInMeeting(b, "guest B");
    ids.b = await selfId(b);
    await eventually("the host's waiting room empty again after admitting B", async () => (await page.host.locator("[data-waiting-id]").count()) === 0);
  });

  step("every participant decodes the others' video and receives their audio", async () => {
    const who = ["host", "a", "b"] as const;
    for (const me of who) {
      for (const other of who.filter((w) => w !== me)) {
        await eventually(`${me} decoding ${other}'s camera video (framesDecoded > 0)`, async () => ((await received(page[me]))[ids[other]]?.videoFrames ?? 0) > 0, 30_000).catch(async (e) => {
          throw new Error(`${(e as Error).message}\n${me}:\n${await diagnose(page[me])}\n${other}:\n${await diagnose(page[other])}`);
        });
        const before = (await received(page[me]))[ids[other]]?.audioPackets ?? 0;
        await eventually(`${me} receiving more of ${other}'s audio packets than ${before}`, async () => ((await received(page[me]))[ids[other]]?.audioPackets ?? 0) > before, 20_000);
      }
    }
  });

  step("camera video travels as H.264 constrained baseline (packetization-mode 1)", async () => {
    const codecs = await inboundVideoCodecs(page.host);
    expect(codecs.length).toBeGreaterThanOrEqual(2);
    for (const c of codecs) expect(c).toMatch(/^video\/H264;.*(?=.*packetization-mode=1)(?=.*profile-level-id=42e01f)/);
  });

  step("join time (Join click → first remote video frame) is logged", async () => {
    for (const who of ["a", "b"] as const) {
      const t = await joinTiming(page[who]);
      expect(t.joinToFirstFrame).not.toBeNull();
      console.log(`join time ${who}: Join click → first remote frame ${t.joinToFirstFrame} ms (includes waiting for admission); admitted → first remote frame ${t.admittedToFirstFrame} ms`);
    }
  });

  step("chat from the host reaches both guests as text", async () => {
    const text = "Agenda: <b>budget</b> & hiring";
    await page.host.fill("#chat-input", text);
    await page.host.keyboard.press("Enter");
    for (const who of ["a", "b"] as const) {
      await page[who].locator(".chat-log li .text", { hasText: "Agenda:" }).waitFor({ timeout: 15_000 }).catch(async () => {
        throw new Error(`guest ${who.toUpperCase()} never showed the host's chat message; chat panel: ${await page[who].locator("#panel-chat").evaluate((el) => `hidden=${(el as HTMLElement).hidden} ${el.outerHTML.slice(0, 1500)}`).catch((e: Error) => e.message)}; phase=${await page[who].locator("#conclave-meeting").getAttribute("data-phase")}`);
      });
      expect(await page[who].locator(".chat-log li .text").last().textContent()).toBe(text);
    }
  });

  step("A's screen share arrives at the host and B", async () => {
    await page.a.getByRole("button", { name: "Share screen" }).click();
    await eventually("A's Share screen button pressed (getDisplayMedia granted)", async () => (await page.a.getByRole("button", { name: "Share screen" }).getAttribute("aria-pressed")) === "true");
    for (const who of ["host", "b"] as const) {
      await eventually(`${who} decoding A's screen share`, async () => ((await received(page[who]))[ids.a]?.screenFrames ?? 0) > 0, 30_000);
    }
    await page.a.getByRole("button", { name: "Share screen" }).click();
    await eventually("A's screen tile gone at the host", async () => (await page.host.locator(".tile.screen").count()) === 0, 20_000);
  });

  step("the host mutes B and B's page shows it", async () => {
    await page.host.getByRole("button", { name: "Mute Bob Guest" }).click();
    await eventually("B's Mute button pressed", async () => (await page.b.getByRole("button", { name: "Mute", exact: true }).getAttribute("aria-pressed")) === "true");
    await eventually("B's notice says who muted them", async () => ((await page.b.locator(".toasts").textContent()) ?? "").includes(`${OWNER.name} muted your microphone`));
    await eventually("the host sees B muted", async () => (await page.host.locator(`.people li[data-participant-id="${ids.b}"]`).getAttribute("data-mic")) === "false");
  });

  step("the host removes B; B is told and cannot rejoin", async () => {
    await page.host.getByRole("button", { name: "Remove Bob Guest" }).click();
    await page.b.locator('#conclave-meeting[data-phase="ended"]').waitFor({ timeout: 20_000 }).catch(async () => {
      throw new Error(`B was not told of the removal; B's page says: ${JSON.stringify(await page.b.locator("#conclave-meeting").innerText())}; the host's page: ${JSON.stringify(await page.host.locator("#conclave-meeting").innerText())}`);
    });
    expect(await page.b.locator("#ended-title").textContent()).toBe("You were removed from the meeting");
    await eventually("B gone from the host's list", async () => (await page.host.locator(`.people li[data-participant-id="${ids.b}"]`).count()) === 0);
    expect(await page.host.locator("[data-waiting-id]").count(), "the removed guest appears in the host's waiting room").toBe(0);

    // Back through the same door: the server refuses the removed guest.
    await enterMeetingId(page.b, server.browserUrl, invite.number);
    await submitPasscode(page.b, invite.passcode).catch(() => {});
    const refused = async (): Promise<string | false> => {
      const text = (await page.b.locator("main").textContent()) ?? "";
      return /removed/i.test(text) ? text : false;
    };
    if (await page.b.getByRole("button", { name: "Join", exact: true }).isVisible().catch(() => false)) await joinFromPrejoin(page.b, "Bob Guest");
    await eventually("B's rejoin to be refused with a message about the removal", refused, 20_000);
    const leftovers = await page.host.locator(`[data-waiting-id], .people li`).filter({ hasText: "Bob Guest" }).evaluateAll((els) => els.map((e) => e.outerHTML));
    expect(leftovers, `the host still lists the removed guest: ${leftovers.join("\n")}; B's page: ${await page.b.locator("main").innerText()}`).toEqual([]);
  });

  step("the host ends the meeting for all; A is told it ended", async () => {
    await page.host.getByRole("button", { name: "End for all" }).click();
    await page.a.locator('#conclave-meeting[data-phase="ended"]').waitFor({ timeout: 20_000 });
    expect(await page.a.locator("#ended-title").textContent()).toBe("The meeting has ended");
  });

  test("no CSP violation and no script error on any page", () => {
    expect(problems.filter(isCspViolation)).toEqual([]);
    expect(problems.filter((p) => p.kind === "pageerror")).toEqual([]);
  });
});

// ---- the meeting pages (src/admin/meetings-routes.tsx, join-routes.tsx) ----

/** scheduleMeeting schedules a meeting with waiting room and passcode on and reads its details page. */
async function scheduleMeeting(p: Page, base: string, topic: string): Promise<{ link: string; number: string; passcode: string }> {
  await p.goto(`${base}/meetings/new`);
  await p.getByLabel("Topic").fill(topic);
  await p.selectOption("#f-meeting\\.waiting_room", "true");
  await p.selectOption("#f-meeting\\.passcode_required", "true");
  // Guest A shares a screen later: every participant may share in this meeting.
  await p.selectOption("#f-meeting\\.screen_share", "all");
  await p.getByRole("button", { name: "Schedule", exact: true }).click();
  await p.waitForURL(/\/meetings\/[^/]+\?done=created$/, { timeout: 15_000 }).catch(async () => {
    throw new Error(`scheduling failed; the page says: ${await p.locator("main").innerText()}`);
  });
  const cell = async (row: string): Promise<string> => ((await p.locator("tr", { has: p.locator("th", { hasText: new RegExp(`^${row}$`) }) }).locator("td").textContent()) ?? "").trim();
  return { link: await cell("Join link"), number: (await cell("Meeting ID")).replace(/\D/g, ""), passcode: await cell("Passcode") };
}

/** enterMeetingId opens the join form and fills in the meeting ID. */
async function enterMeetingId(p: Page, base: string, number: string): Promise<void> {
  await p.goto(`${base}/join`);
  await p.getByLabel("Meeting ID").fill(number);
}

/** submitPasscode types a passcode into the join form and submits it. */
async function submitPasscode(p: Page, passcode: string): Promise<void> {
  await p.getByLabel("Passcode").fill(passcode);
  await p.getByRole("button", { name: "Join", exact: true }).click();
  await p.waitForLoadState();
}
