/** ParsedArgs is the command words and --flags of a command line. */
export interface ParsedArgs {
  command: string[];
  flags: Record<string, string | true>;
}

/** parseArgs splits argv into command words and flags (`--name value`, `--name=value`, `--bool`). */
export function parseArgs(argv: string[], booleanFlags: ReadonlySet<string>): ParsedArgs {
  const command: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h") flags.help = true;
    else if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) flags[name] = a.slice(eq + 1);
      else if (booleanFlags.has(name)) flags[name] = true;
      else {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
        flags[name] = v;
        i++;
      }
    } else command.push(a);
  }
  return { command, flags };
}

/** CONFIG_FLAGS maps command-line flags to config key paths. */
export const CONFIG_FLAGS: Record<string, string> = {
  "data-dir": "server.data_dir",
  bind: "server.bind",
  "https-port": "server.https_port",
  "http-port": "server.http_port",
  "public-url": "server.public_url",
  "media-port": "media.udp_port",
  "media-bind": "media.bind",
  "log-level": "log.level",
  "log-format": "log.format",
};

/** HELP is printed by `conclave --help`. */
export const HELP = `Conclave — self-hosted video meetings in one executable.

Usage: conclave [command] [flags]

Commands:
  serve                         Start the server (default). First start prints a one-time setup URL.
  migrate                       Create or upgrade the database, then exit.
  version                       Print the version.
  config check [--config FILE]  Validate a config file (and CONCLAVE_* env); print each problem with its key.
  audit verify                  Check the operation log's hash chain; names the first broken entry.
  keys status | test            Show the key provider, its health and the data keys; test does a wrap/unwrap round trip.
  keys rotate                   Retire every active data key (new content gets new keys).
  keys reencrypt                Re-seal values still under retired data keys (resumable).
  keys rewrap [--resume]        Re-wrap every data key under the configured provider (after moving to an HSM).
  keys report [--account ID] [--since DATE] [--until DATE] [--format csv|table]
                                Key usage: every wrap/unwrap of data keys by data class, purpose, user, key, outcome.
                                Long jobs always resume where a crash left them; --resume is accepted for clarity.
  account delete --account ID --shred
                                Destroy an account's data keys, then delete the account.
  admin reset-owner-password --email ADDRESS
                                Set a new password for an account Owner (read from stdin, never a flag).
  help                          Show this help.

Flags (also CONCLAVE_* environment variables and the [server]/[log] config keys):
  --data-dir DIR        Data directory (database, TLS, local key file). Default ./data
  --bind ADDR           Listen address. Default 0.0.0.0
  --https-port N        HTTPS port. Default 8443 (0 picks a free port)
  --http-port N         HTTP→HTTPS redirect port. Default 8080; 0 disables
  --public-url URL      External https:// URL used in links and e-mails
  --media-port N        UDP port for meeting media. Default 10000 (0 picks a free port)
  --media-bind ADDR     Address the media port binds to. Default: --bind
  --log-level LEVEL     debug | info | warn | error
  --log-format FORMAT   auto | json | pretty
  --config FILE         Config file. Default config/conclave.toml when it exists

See config/conclave.example.toml for every setting.
`;
