// Pure helpers for the benchmark: percentiles, medians, number formatting and Markdown tables.
// Kept free of I/O so stats.test.ts can check them without starting anything.

/** percentile returns the p-th percentile (0–100, nearest-rank) of unsorted samples, or NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (p < 0 || p > 100) throw new RangeError(`percentile: p must be within 0..100, got ${p}`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** median returns the middle value (mean of the two middle values for an even count), or NaN when empty. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** mb converts bytes to mebibytes. */
export function mb(bytes: number): number {
  return bytes / 1024 / 1024;
}

/** fixed formats a number with `digits` decimals, or "n/a" when it is not finite. */
export function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

/** ratio formats a / b as "1.23×", or "n/a" when either side is missing or b is zero. */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "n/a";
}

/** percentOf formats a as a percentage of b ("48%"), or "n/a". */
export function percentOf(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${Math.round((a / b) * 100)}%` : "n/a";
}

/** markdownTable renders a header row and body rows as a GitHub-flavoured Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const escape = (cell: string): string => cell.replaceAll("|", "\\|");
  const line = (cells: readonly string[]): string => `| ${cells.map(escape).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Goal is one target from the issue, checked against a measured value. */
export interface Goal {
  name: string;
  target: string;
  measured: string;
  /** met is null when the value could not be measured. */
  met: boolean | null;
}

/** goalMark renders a goal's state for the table. */
export function goalMark(met: boolean | null): string {
  return met === null ? "not measured" : met ? "met" : "NOT met";
}
