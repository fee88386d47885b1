// Makes sure the Debian packages the tests drive are installed: `chromium` (end-to-end tests
// through playwright-core) and `softhsm2` (the PKCS#11 key provider's tests). As root with
// apt-get, installs what is missing; otherwise fails with what to do.
//
//   bun run scripts/ensure-test-tools.ts      exit 0 = everything present
//
// Never `playwright install`: browser downloads are blocked here (STACK-NOTES).

import { existsSync } from "node:fs";

/** TOOLS maps each Debian package to the file that shows it is installed. */
export const TOOLS: Record<string, string> = {
  chromium: "/usr/bin/chromium",
  softhsm2: "/usr/lib/softhsm/libsofthsm2.so",
};

function run(cmd: string[]): boolean {
  console.log(`$ ${cmd.join(" ")}`);
  const proc = Bun.spawnSync(cmd, { stdout: "inherit", stderr: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return proc.exitCode === 0;
}

/** ensureTestTools returns null when every package is present (after installing what it could), else why not. */
export function ensureTestTools(tools: Record<string, string> = TOOLS): string | null {
  const missing = Object.entries(tools).filter(([, path]) => !existsSync(path)).map(([pkg]) => pkg);
  if (!missing.length) return null;
  const aptGet = Bun.which("apt-get");
  if (process.getuid?.() === 0 && aptGet) {
    console.log(`installing Debian packages the tests need: ${missing.join(" ")}`);
    if (run([aptGet, "update"])) run([aptGet, "install", "-y", "--no-install-recommends", ...missing]);
    const still = missing.filter((pkg) => !existsSync(tools[pkg]!));
    return still.length ? `still missing after apt-get install: ${still.join(" ")} (see the apt output above)` : null;
  }
  const how = aptGet ? `run as root: apt-get update && apt-get install -y ${missing.join(" ")}` : `install ${missing.join(" ")}`;
  return `the tests need ${missing.map((p) => `${p} (${tools[p]})`).join(", ")}; ${how}`;
}

if (import.meta.main) {
  const problem = ensureTestTools();
  if (problem) {
    console.error(`ensure-test-tools: ${problem}`);
    process.exit(1);
  }
  console.log(`ensure-test-tools: ${Object.keys(TOOLS).join(", ")} present`);
}
