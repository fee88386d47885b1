/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields that must never be written, whatever a caller passes. */
const SECRET_KEYS = /pass(word|code)?|secret|token|key|cookie|authorization|assertion|otp|pin/i;

/** Logger writes one event per line: JSON, or a readable line when stdout is a terminal. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** redact replaces values of secret-looking keys, recursively. */
export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEYS.test(k)) out[k] = "[redacted]";
    else if (v && typeof v === "object" && !Array.isArray(v) && !(v instanceof Error)) out[k] = redact(v as Record<string, unknown>);
    else if (v instanceof Error) out[k] = { name: v.name, message: v.message };
    else out[k] = v;
  }
  return out;
}

/** LoggerOptions picks the output format, threshold and sink. */
export interface LoggerOptions {
  level?: LogLevel;
  pretty?: boolean;
  write?: (line: string) => void;
}

/** createLogger builds a logger; `pretty` defaults to whether stdout is a TTY. */
export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const level = opts.level ?? "info";
  // Resolved once: children (one per request) reuse these instead of asking stdout again.
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const write = opts.write ?? ((line: string) => void process.stdout.write(line + "\n"));
  const resolved: LoggerOptions = { level, pretty, write };
  const emit = (lv: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (order[lv] < order[level]) return;
    const f = redact({ ...base, ...fields });
    if (pretty) {
      const rest = Object.entries(f).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
      write(`${new Date().toISOString()} ${lv.toUpperCase().padEnd(5)} ${msg}${rest ? " " + rest : ""}`);
    } else {
      write(JSON.stringify({ time: new Date().toISOString(), level: lv, msg, ...f }));
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (f) => createLogger(resolved, { ...base, ...f }),
  };
}

/** silentLogger discards everything (tests). */
export const silentLogger: Logger = createLogger({ write: () => {} });
