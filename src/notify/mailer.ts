import nodemailer from "nodemailer";
import type { Logger } from "../shared/logger.ts";

/** Mail is one outgoing message. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Mailer sends mail; `enabled` is false when no SMTP server is configured. */
export interface Mailer {
  readonly enabled: boolean;
  send(mail: Mail): Promise<void>;
}

/** SmtpOptions is the resolved SMTP configuration (password already read from its reference). */
export interface SmtpOptions {
  host: string;
  port: number;
  tls: "starttls" | "implicit" | "none";
  from: string;
  username: string;
  password: string;
}

/** createSmtpMailer sends through an SMTP server; with no host it is disabled. */
export function createSmtpMailer(opts: SmtpOptions, log: Logger): Mailer {
  if (!opts.host) {
    return {
      enabled: false,
      async send(mail) {
        log.warn("mail not sent: no SMTP server configured", { subject: mail.subject });
      },
    };
  }
  const transport = nodemailer.createTransport({
    host: opts.host,
    port: opts.port,
    secure: opts.tls === "implicit",
    requireTLS: opts.tls === "starttls",
    ignoreTLS: opts.tls === "none",
    auth: opts.username ? { user: opts.username, pass: opts.password } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    enabled: true,
    async send(mail) {
      await transport.sendMail({ from: opts.from, to: mail.to, subject: mail.subject, text: mail.text });
      log.info("mail sent", { subject: mail.subject });
    },
  };
}

/** captureMailer keeps messages in memory (in-process tests). */
export function captureMailer(): Mailer & { sent: Mail[] } {
  const sent: Mail[] = [];
  return { enabled: true, sent, send: async (m) => void sent.push(m) };
}
