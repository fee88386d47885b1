// A local SMTP sink (npm smtp-server) that accepts every message and keeps it for the test.

import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** SunkMail is one received message, with its text body decoded. */
export interface SunkMail {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  subject: string;
  text: string;
}

/** SmtpSink is a listening sink. */
export interface SmtpSink {
  port: number;
  messages: SunkMail[];
  /** waitForMessage resolves with the first message matching `match` (already received or arriving later). */
  waitForMessage(match: (m: SunkMail) => boolean, timeoutMs?: number): Promise<SunkMail>;
  close(): Promise<void>;
}

function decodeQuotedPrintable(s: string): string {
  const bytes: number[] = [];
  const src = s.replace(/=\r?\n/g, "");
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    const hex = src.slice(i + 1, i + 3);
    if (ch === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(ch, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

function decodeWords(s: string): string {
  return s.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, enc: string, text: string) =>
    enc.toUpperCase() === "B" ? Buffer.from(text, "base64").toString("utf8") : decodeQuotedPrintable(text.replaceAll("_", " ")),
  );
}

/** parseMail splits a single-part RFC 5322 message into headers and a decoded text body. */
export function parseMail(raw: string): { headers: Record<string, string>; text: string } {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  const cte = (headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
  const text = cte === "quoted-printable" ? decodeQuotedPrintable(body) : cte === "base64" ? Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8") : body;
  return { headers, text: text.replace(/\r\n/g, "\n") };
}

/** startSmtpSink listens on 127.0.0.1 (free port), without TLS or authentication. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: SunkMail[] = [];
  let waiters: (() => void)[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const { headers, text } = parseMail(raw);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
        messages.push({ from, to: session.envelope.rcptTo.map((r) => r.address), raw, headers, subject: headers.subject ?? "", text });
        const w = waiters;
        waiters = [];
        for (const f of w) f();
        callback();
      });
    },
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    messages,
    waitForMessage(match, timeoutMs = 30_000) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== check);
          reject(new Error(`no matching mail within ${timeoutMs} ms; received ${messages.length}: ${messages.map((m) => m.subject).join(" | ")}`));
        }, timeoutMs);
        const check = () => {
          const m = messages.find(match);
          if (m) {
            clearTimeout(timer);
            resolvePromise(m);
          } else waiters.push(check);
        };
        check();
      });
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
