import { formatProblems, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { createLogger, type Logger } from "../shared/logger.ts";
import { AppError } from "../shared/errors.ts";
import { CONFIG_FLAGS, HELP, parseArgs } from "./args.ts";
import type { Root } from "./root.ts";
import { serve } from "./serve.ts";
import { auditVerify, migrateOnly, resetOwnerPassword } from "./data-commands.ts";
import { keysCommand } from "./keys-commands.ts";
import { accountCommand } from "./account-commands.ts";

export type { Root } from "./root.ts";

/** loggerFor builds the logger the config asks for. */
export function loggerFor(config: Config): Logger {
  const f = config.log.format;
  return createLogger({ level: config.log.level as "info", pretty: f === "auto" ? undefined : f === "pretty" });
}

/** configFrom loads config from file, env and flags, printing problems; null when invalid. */
function configFrom(flags: Record<string, string | true>): Config | null {
  const overrides: Record<string, string> = {};
  for (const [flag, v] of Object.entries(flags)) {
    const path = CONFIG_FLAGS[flag];
    if (path && typeof v === "string") overrides[path] = v;
  }
  const r = loadConfig({ file: typeof flags.config === "string" ? flags.config : null, env: process.env, flags: overrides });
  if (!r.ok) {
    console.error(`conclave: the configuration is not valid${r.file ? ` (file ${r.file})` : ""}:\n${formatProblems(r.problems)}`);
    return null;
  }
  return r.config;
}

// --resume is accepted for the long jobs (keys rewrap/reencrypt): they always resume where a crash left them.
const KNOWN_FLAGS = new Set([...Object.keys(CONFIG_FLAGS), "config", "help", "email", "account", "shred", "resume", "since", "until", "format"]);

/** runCli dispatches a command line and returns the process exit code. */
export async function runCli(argv: string[], root: Root): Promise<number> {
  let args;
  try {
    args = parseArgs(argv, new Set(["help", "shred", "resume"]));
  } catch (e) {
    console.error(`conclave: ${(e as Error).message}. See conclave --help.`);
    return 2;
  }
  const unknown = Object.keys(args.flags).filter((f) => !KNOWN_FLAGS.has(f));
  if (unknown.length) {
    console.error(`conclave: unknown flag ${unknown.map((f) => `--${f}`).join(", ")}. See conclave --help.`);
    return 2;
  }
  const [cmd = "serve", sub] = args.command;
  if (args.flags.help || cmd === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (cmd === "version") {
    console.log(`conclave ${root.version}`);
    return 0;
  }
  const config = configFrom(args.flags);
  if (cmd === "config" && sub === "check") {
    if (!config) return 1;
    console.log("configuration OK");
    return 0;
  }
  if (!config) return 1;
  try {
    switch (cmd) {
      case "serve":
        return await serve(root, config, loggerFor(config));
      case "migrate":
        return migrateOnly(root, config);
      case "audit":
        if (sub === "verify") return auditVerify(root, config);
        break;
      case "account":
        return await accountCommand(root, config, sub, args.flags);
      case "keys":
        return await keysCommand(root, config, sub, args.flags);
      case "admin":
        if (sub === "reset-owner-password") return await resetOwnerPassword(root, config, typeof args.flags.email === "string" ? args.flags.email : "");
        break;
    }
  } catch (e) {
    if (e instanceof AppError) {
      console.error(`conclave: ${e.message}`);
      return 1;
    }
    throw e;
  }
  console.error(`conclave: unknown command "${args.command.join(" ")}". See conclave --help.`);
  return 2;
}
