/**
 * A Bun macro (imported `with { type: "macro" }`): its result is inlined where it is called, at
 * bundle time in the compiled binary and at load time when running from source. It returns the
 * browser client's bundle, building public/client.js first when it is missing or older than
 * the client's sources — so `bun run src/main.ts` and in-process tests work on a fresh checkout.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const OUT = join(ROOT, "public/client.js");
const SOURCES = [join(ROOT, "src/client"), join(ROOT, "src/shared/signaling.ts")];

function newestSource(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestSource(join(path, name)));
  return newest;
}

/** clientBundle returns public/client.js, rebuilding it first when its sources are newer. */
export function clientBundle(): string {
  const built = existsSync(OUT) ? statSync(OUT).mtimeMs : 0;
  if (existsSync(join(ROOT, "src/client/index.ts")) && Math.max(...SOURCES.map(newestSource)) > built) {
    const r = Bun.spawnSync([process.execPath, "run", join(ROOT, "scripts/build.ts"), "--client-only"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`building the browser client failed:\n${r.stdout.toString()}${r.stderr.toString()}`);
  }
  return existsSync(OUT) ? readFileSync(OUT, "utf8") : 'console.error("conclave: the meeting client was not built (run npm run build)");';
}
