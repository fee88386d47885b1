import type { KeyUsageRow } from "../storage/cmk-repo.ts";

/** KEY_USAGE_COLUMNS are the report's columns, in CSV and table order. */
export const KEY_USAGE_COLUMNS = ["time", "account", "operation", "data class", "purpose", "user", "key slot", "provider", "data key", "outcome", "detail"] as const;

/** keyUsageFields returns one record's values in column order. */
export function keyUsageFields(r: KeyUsageRow): string[] {
  return [new Date(r.at).toISOString(), r.accountId, r.op, r.dataClass, r.purpose, r.userId ?? "", r.slot, r.provider, r.dekId, r.outcome, r.detail];
}

/** csvField quotes a value for CSV (RFC 4180) and defuses spreadsheet formulas (=, +, -, @ at the start). */
function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** keyUsageCsv renders usage records as CSV with a header line. */
export function keyUsageCsv(rows: readonly KeyUsageRow[]): string {
  return [KEY_USAGE_COLUMNS.join(","), ...rows.map((r) => keyUsageFields(r).map(csvField).join(","))].join("\n") + "\n";
}

/** keyUsageTable renders usage records as a fixed-width text table (CLI). */
export function keyUsageTable(rows: readonly KeyUsageRow[]): string {
  const cols = [0, 2, 3, 4, 5, 6, 7, 9];
  const lines = [cols.map((i) => KEY_USAGE_COLUMNS[i]!), ...rows.map((r) => { const f = keyUsageFields(r); return cols.map((i) => f[i]!); })];
  const widths = cols.map((_, c) => Math.min(60, Math.max(...lines.map((l) => l[c]!.length))));
  return lines.map((l) => l.map((v, c) => (v.length > 60 ? `${v.slice(0, 57)}...` : v).padEnd(widths[c]!)).join("  ").trimEnd()).join("\n") + "\n";
}
