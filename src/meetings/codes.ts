/**
 * Meeting numbers, passcodes and link tokens: random, and formatted for people.
 */
import { randomInt } from "node:crypto";
import { randomToken } from "../shared/ids.ts";

/** PASSCODE_ALPHABET leaves out look-alikes (0/O, 1/l/I). */
const PASSCODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/** randomMeetingNumber returns 10 or 11 random digits, never starting with 0. */
export function randomMeetingNumber(): string {
  const len = randomInt(2) === 0 ? 10 : 11;
  let s = String(randomInt(1, 10));
  while (s.length < len) s += String(randomInt(10));
  return s;
}

/** randomPasscode returns the 8-character web passcode. */
export function randomPasscode(): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += PASSCODE_ALPHABET[randomInt(PASSCODE_ALPHABET.length)];
  return s;
}

/** randomDialPasscode returns the 8-digit passcode for dial-in keypads. */
export function randomDialPasscode(): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += String(randomInt(10));
  return s;
}

/** randomLinkToken returns the token embedded in join links (192 bits). */
export function randomLinkToken(): string {
  return randomToken(24);
}

/** formatMeetingNumber groups digits for reading aloud: 123 4567 8901 (11) or 123 456 7890 (10). */
export function formatMeetingNumber(n: string): string {
  if (n.length === 11) return `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`;
  if (n.length === 10) return `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;
  return n;
}

/** parseMeetingNumber accepts what people type (spaces, dashes, dots) and returns the digits, or null. */
export function parseMeetingNumber(input: string): string | null {
  const digits = input.replace(/[\s.\-]/g, "");
  return /^[1-9]\d{9,10}$/.test(digits) ? digits : null;
}
