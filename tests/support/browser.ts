// Headless Debian Chromium through playwright-core, with the flags from STACK-NOTES.md.

import { existsSync } from "node:fs";
import { chromium, type Browser, type ConsoleMessage, type Page } from "playwright-core";

/** CHROMIUM is Debian's browser (`apt-get install -y chromium`); never `playwright install`. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * CHROMIUM_FLAGS are the STACK-NOTES.md flags. Playwright gives every launch a fresh profile
 * directory itself (it refuses --user-data-dir in args), so that flag is not repeated here.
 */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--ignore-certificate-errors",
];

/** launchChromium starts headless Chromium or explains how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (npm test checks this first).`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
}

/** ConsoleProblem is a console error or uncaught exception seen on a page. */
export interface ConsoleProblem {
  url: string;
  kind: string;
  text: string;
}

/** watchConsole records console errors/warnings and page errors of a page into `into`. */
export function watchConsole(page: Page, into: ConsoleProblem[]): void {
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error" || m.type() === "warning") into.push({ url: page.url(), kind: `console.${m.type()}`, text: m.text() });
  });
  page.on("pageerror", (e: Error) => into.push({ url: page.url(), kind: "pageerror", text: e.message }));
}

/** isCspViolation tells whether a console message reports a Content-Security-Policy violation. */
export function isCspViolation(p: ConsoleProblem): boolean {
  return /Content Security Policy|Content-Security-Policy|Refused to (execute|load|apply|connect|frame|evaluate)/i.test(p.text);
}
