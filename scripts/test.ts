// `npm test`: every check the project has, cheapest first; stops at the first failing step.
//
//   npm test [-- <bun test args>]       e.g. npm test -- src/crypto  or  npm test -- -t "rewrap"
//
// Steps: chromium + softhsm2 present → layer check → typecheck → build dist/conclave (the end-to-end tests
// run the binary) → Dockerfile check → bun test (extra argv passed through; without any, the media
// and signalling tests run in a second bun test process, see MEDIA_TESTS).

import { resolve } from "node:path";
import { ensureTestTools } from "./ensure-test-tools.ts";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

type Step = { name: string; run: () => number | Promise<number> };

function spawn(cmd: string[]): Promise<number> {
  console.log(`$ ${cmd.map((a) => (a.includes(" ") ? JSON.stringify(a) : a)).join(" ")}`);
  return Bun.spawn(cmd, { cwd: ROOT, stdin: "inherit", stdout: "inherit", stderr: "inherit" }).exited;
}

const steps: Step[] = [
  {
    name: "test tools (chromium, softhsm2)",
    run: () => {
      const problem = ensureTestTools();
      if (problem) console.error(problem);
      return problem ? 1 : 0;
    },
  },
  { name: "check-layers", run: () => spawn([BUN, "run", "scripts/check-layers.ts"]) },
  { name: "typecheck", run: () => spawn([resolve(ROOT, "node_modules/.bin/tsc"), "--noEmit", "-p", "."]) },
  { name: "build", run: () => spawn([BUN, "run", "scripts/build.ts"]) },
  { name: "check-dockerfile", run: () => spawn([BUN, "run", "scripts/check-dockerfile.ts"]) },
  // bunfig.toml cannot set the per-test timeout; end-to-end tests start a binary and a browser.
  { name: "bun test", run: () => bunTest(process.argv.slice(2)) },
];

/**
 * MEDIA_TESTS hold many node-datachannel peer connections in the test process. bun test runs
 * every file in one process, and there these files sometimes fail to create a client's ICE
 * transport ("Got a remote candidate without ICE transport") after the rest of the suite has
 * run; alone they pass run after run. So they get a process of their own.
 */
const MEDIA_TESTS = ["src/media", "src/signaling"];

async function bunTest(args: string[]): Promise<number> {
  const base = [BUN, "test", "--timeout", "120000"];
  if (args.length) return spawn([...base, ...args]);
  const rest = await spawn([...base, ...MEDIA_TESTS.flatMap((d) => ["--path-ignore-patterns", `${d}/**`])]);
  const media = await spawn([...base, ...MEDIA_TESTS]);
  return rest || media;
}

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)}s`;
const allStarted = performance.now();
for (const [i, step] of steps.entries()) {
  console.log(`\n==> [${i + 1}/${steps.length}] ${step.name}`);
  const started = performance.now();
  const code = await step.run();
  if (code !== 0) {
    console.error(`\n==> FAILED: step "${step.name}" (exit ${code}) after ${seconds(started)}`);
    process.exit(code || 1);
  }
  console.log(`==> ${step.name} ok (${seconds(started)})`);
}
console.log(`\n==> all ${steps.length} steps passed in ${seconds(allStarted)}`);
