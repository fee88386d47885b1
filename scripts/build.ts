// Builds Conclave into ONE executable: dist/conclave.
//
//   bun run scripts/build.ts [--entry src/main.ts] [--outfile dist/conclave] [--no-minify] [--client-only]
//
// Steps:
//   1. If src/client/index.ts exists, bundle the browser client → public/client.js.
//   2. Compile the server entry with Bun.build({ compile }) into a standalone binary.
//
// node-datachannel's loader picks its native addon with a computed require() that a
// compiled binary cannot follow; the `embedNodeDatachannel` plugin swaps the loader for a
// static `.node` import, which Bun embeds and extracts to $TMPDIR at run time.
// (See /work/shared/STACK-NOTES.md "Single executable".)

import type { BunPlugin } from "bun";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

interface Options {
  entry: string;
  outfile: string;
  minify: boolean;
  client: boolean;
  clientOnly: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    entry: resolve(ROOT, "src/main.ts"),
    outfile: resolve(ROOT, "dist/conclave"),
    minify: true,
    client: true,
    clientOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--entry":
        opts.entry = resolve(process.cwd(), value());
        break;
      case "--outfile":
        opts.outfile = resolve(process.cwd(), value());
        break;
      case "--no-minify":
        opts.minify = false;
        break;
      case "--no-client":
        opts.client = false;
        break;
      case "--client-only":
        opts.clientOnly = true;
        break;
      case "-h":
      case "--help":
        console.log("usage: bun run scripts/build.ts [--entry FILE] [--outfile FILE] [--no-minify] [--no-client] [--client-only]");
        process.exit(0);
      default:
        throw new Error(`unknown argument: ${arg}`);
    }
  }
  return opts;
}

/** The prebuilt addon package for the platform we are building on (and for). */
function addonPackage(): string {
  const { platform, arch } = process;
  if (platform === "linux" && (arch === "x64" || arch === "arm64")) {
    // Debian (glibc). A musl build would need "@node-datachannel/linux-<arch>-musl".
    return `@node-datachannel/linux-${arch}-gnu`;
  }
  throw new Error(`no node-datachannel addon mapping for ${platform}/${arch}`);
}

export function embedNodeDatachannel(pkg = addonPackage()): BunPlugin {
  const addonSpecifier = `${pkg}/node_datachannel.node`;
  return {
    name: "embed-node-datachannel-addon",
    setup(build) {
      build.onLoad(
        { filter: /node-datachannel[\\/]dist[\\/](esm[\\/]lib[\\/]node-datachannel\.mjs|cjs[\\/]lib[\\/]node-datachannel\.cjs)$/ },
        () => ({
          contents: `import addon from ${JSON.stringify(addonSpecifier)};\nexport default addon;\n`,
          loader: "js",
        }),
      );
    },
  };
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
}

function reportFailure(what: string, logs: readonly { message: string; position?: { file: string; line: number; column: number } | null }[]): never {
  console.error(`build: ${what} failed`);
  for (const log of logs) {
    const where = log.position ? `${log.position.file}:${log.position.line}:${log.position.column}: ` : "";
    console.error(`  ${where}${log.message}`);
  }
  process.exit(1);
}

async function buildClient(minify: boolean): Promise<void> {
  const entry = resolve(ROOT, "src/client/index.ts");
  if (!existsSync(entry)) {
    console.log("build: src/client/index.ts not found, skipping browser client");
    return;
  }
  const started = performance.now();
  const outfile = resolve(ROOT, "public/client.js");
  const result = await Bun.build({
    entrypoints: [entry],
    target: "browser",
    format: "esm",
    minify,
    sourcemap: "none",
    throw: false,
  });
  if (!result.success) reportFailure("browser client bundle", result.logs);
  const out = result.outputs.find((o) => o.kind === "entry-point");
  if (!out) throw new Error("browser client bundle produced no entry-point output");
  mkdirSync(dirname(outfile), { recursive: true });
  await Bun.write(outfile, out);
  console.log(`build: public/client.js ${formatBytes(statSync(outfile).size)} in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}

async function buildBinary(opts: Options): Promise<void> {
  if (!existsSync(opts.entry)) {
    console.error(`build: entry ${opts.entry} does not exist`);
    process.exit(1);
  }
  mkdirSync(dirname(opts.outfile), { recursive: true });
  const started = performance.now();
  const result = await Bun.build({
    entrypoints: [opts.entry],
    target: "bun",
    minify: opts.minify,
    // No sourcemap: a linked map would be a second file beside the binary.
    sourcemap: "none",
    plugins: [embedNodeDatachannel()],
    compile: {
      outfile: opts.outfile,
      // The server reads its own config (file → env → flags); it must not pick up a
      // stray .env or bunfig.toml from whatever directory it is started in.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    throw: false,
  });
  if (!result.success) reportFailure("executable compile", result.logs);
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  const size = statSync(opts.outfile).size;
  console.log(`build: ${opts.outfile} ${formatBytes(size)} (${size} bytes) in ${secs}s`);
}

if (import.meta.main) {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`build: ${(err as Error).message}`);
    process.exit(2);
  }
  if (opts.client || opts.clientOnly) await buildClient(opts.minify);
  if (!opts.clientOnly) await buildBinary(opts);
}
