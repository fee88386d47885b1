import type { Conclave } from "../main.ts";
import { keyUsageCsv, keyUsageTable } from "../keys/key-usage.ts";

/** ReportFlags are the flags of `conclave keys report`. */
export interface ReportFlags {
  account?: string | true;
  since?: string | true;
  until?: string | true;
  format?: string | true;
}

/** parseWhen reads YYYY-MM-DD (UTC midnight) or an ISO 8601 date-time; null when invalid. */
function parseWhen(v: string): number | null {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : null;
}

/**
 * keysReport prints the key usage report (every wrap and unwrap of data keys: data class,
 * purpose, user, key, outcome), newest first, as a table or CSV. Returns the exit code.
 */
export function keysReport(c: Pick<Conclave, "cmk" | "db">, flags: ReportFlags, out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const str = (v: string | true | undefined, name: string): string | undefined => {
    if (v === true) throw new Error(`--${name} needs a value`);
    return v;
  };
  let account: string | undefined, since: number | undefined, until: number | undefined, format: string;
  try {
    account = str(flags.account, "account");
    const s = str(flags.since, "since");
    const u = str(flags.until, "until");
    format = str(flags.format, "format") ?? "table";
    if (s !== undefined && (since = parseWhen(s) ?? undefined) === undefined) throw new Error(`--since ${JSON.stringify(s)} is not a date: use YYYY-MM-DD or an ISO 8601 date-time`);
    if (u !== undefined && (until = parseWhen(u) ?? undefined) === undefined) throw new Error(`--until ${JSON.stringify(u)} is not a date: use YYYY-MM-DD or an ISO 8601 date-time`);
    if (format !== "csv" && format !== "table") throw new Error(`--format must be csv or table, not ${JSON.stringify(format)}`);
    if (account !== undefined && !c.db.$client.query("SELECT 1 FROM accounts WHERE id = ?").get(account)) throw new Error(`no account with id ${JSON.stringify(account)}`);
  } catch (e) {
    console.error(`conclave: keys report: ${(e as Error).message}.`);
    return 2;
  }
  const rows = c.cmk.usage({ accountId: account, since, until });
  out(format === "csv" ? keyUsageCsv(rows) : rows.length ? keyUsageTable(rows) : "no key usage recorded for this filter\n");
  return 0;
}
