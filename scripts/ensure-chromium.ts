// Makes sure Debian's `chromium` (used by the end-to-end tests through playwright-core) is
// installed. As root with apt-get, installs it; otherwise fails with what to do.
//
//   bun run scripts/ensure-chromium.ts      exit 0 = /usr/bin/chromium present
//
// Never `playwright install`: browser downloads are blocked here (STACK-NOTES).

import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";

function run(cmd: string[]): boolean {
  console.log(`$ ${cmd.join(" ")}`);
  const proc = Bun.spawnSync(cmd, {
    stdout: "inherit",
    stderr: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return proc.exitCode === 0;
}

/** Returns null when chromium is present (after installing it if it could), else why not. */
export function ensureChromium(path = CHROMIUM): string | null {
  if (existsSync(path)) return null;
  const isRoot = process.getuid?.() === 0;
  const aptGet = Bun.which("apt-get");
  if (isRoot && aptGet) {
    console.log(`${path} is missing; installing Debian's chromium package`);
    if (run([aptGet, "update"])) run([aptGet, "install", "-y", "--no-install-recommends", "chromium"]);
    if (existsSync(path)) return null;
    return `${path} is still missing after \`apt-get install -y chromium\` (see the apt output above)`;
  }
  const how = aptGet ? "run as root: apt-get update && apt-get install -y chromium" : "install Chromium so that /usr/bin/chromium exists";
  return `${path} not found (the end-to-end tests drive it); ${how}`;
}

if (import.meta.main) {
  const problem = ensureChromium();
  if (problem) {
    console.error(`ensure-chromium: ${problem}`);
    process.exit(1);
  }
  console.log(`ensure-chromium: ${CHROMIUM} present`);
}
