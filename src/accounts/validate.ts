import { invalid } from "../shared/errors.ts";

/** EMAIL_RE accepts ordinary addresses; anything stranger is refused with a clear message. */
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;

/** cleanText trims, normalises and strips control and bidi-override characters. */
export function cleanText(v: unknown): string {
  return String(v ?? "")
    .normalize("NFKC")
    .replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, "")
    .trim();
}

/** requireName validates a display name or object name (1–max characters). */
export function checkName(field: string, value: string, max = 100): Record<string, string> {
  if (!value) return { [field]: "Required." };
  if ([...value].length > max) return { [field]: `At most ${max} characters.` };
  return {};
}

/** checkEmail validates an e-mail address. */
export function checkEmail(field: string, value: string): Record<string, string> {
  if (!value) return { [field]: "Required." };
  if (value.length > 254 || !EMAIL_RE.test(value)) return { [field]: "Enter an e-mail address like name@example.org." };
  return {};
}

/** throwIfErrors raises an invalid-input error when any field failed. */
export function throwIfErrors(fields: Record<string, string>): void {
  if (Object.keys(fields).length) throw invalid(fields);
}
