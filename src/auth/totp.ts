import { Secret, TOTP } from "otpauth";

/** TOTP parameters: RFC 6238 defaults that every authenticator app supports. */
export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;

/** TotpAlgorithm is an HMAC hash allowed for TOTP. */
export type TotpAlgorithm = "SHA1" | "SHA256" | "SHA512";

/** newTotpSecret returns a random 160-bit secret as base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** otpauthUri is what the QR code encodes for authenticator apps. */
export function otpauthUri(secretBase32: string, issuer: string, account: string): string {
  return new TOTP({ issuer, label: account, secret: Secret.fromBase32(secretBase32), algorithm: "SHA1", digits: TOTP_DIGITS, period: TOTP_PERIOD }).toString();
}

/** totpCode computes the code for a time (tests and enrolment checks). */
export function totpCode(secret: Secret | string, atMs: number, opts: { digits?: number; algorithm?: TotpAlgorithm } = {}): string {
  const s = typeof secret === "string" ? Secret.fromBase32(secret) : secret;
  return TOTP.generate({ secret: s, algorithm: opts.algorithm ?? "SHA1", digits: opts.digits ?? TOTP_DIGITS, period: TOTP_PERIOD, timestamp: atMs });
}

/** TotpCheck: the accepted time step (to remember), or a refusal and why. */
export type TotpCheck = { ok: true; step: number } | { ok: false; reason: "invalid" | "replayed" };

/**
 * verifyTotp accepts a code from the current step or one step either side (clock drift),
 * but never a step at or before `lastStep`: a code, once used, cannot be replayed.
 */
export function verifyTotp(secretBase32: string, code: string, atMs: number, lastStep: number | null): TotpCheck {
  const token = code.replace(/\s+/g, "");
  if (!/^\d{6}$/.test(token)) return { ok: false, reason: "invalid" };
  const delta = TOTP.validate({ token, secret: Secret.fromBase32(secretBase32), algorithm: "SHA1", digits: TOTP_DIGITS, period: TOTP_PERIOD, timestamp: atMs, window: 1 });
  if (delta === null) return { ok: false, reason: "invalid" };
  const step = Math.floor(atMs / 1000 / TOTP_PERIOD) + delta;
  if (lastStep !== null && step <= lastStep) return { ok: false, reason: "replayed" };
  return { ok: true, step };
}
