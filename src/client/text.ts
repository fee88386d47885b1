/**
 * Text hygiene for everything other people typed (display names, chat): control characters and
 * bidi embedding/override/isolate characters are removed, so a name like "\u202Eevil" cannot
 * reorder the text around it. The UI additionally renders such text with textContent inside
 * <bdi dir="auto">, never as HTML.
 */
import { MAX_CHAT_CHARS, MAX_NAME_CHARS } from "../shared/signaling.ts";

const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u061C\u200E\u200F]/g;
// C0 and C1 controls (tab and newline are handled separately).
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
const ZERO_WIDTH_ONLY = /^[\s\u200B-\u200F\uFEFF]*$/;

/** truncateCodePoints cuts a string to at most `max` code points (never splitting a surrogate pair). */
export function truncateCodePoints(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max).join("");
}

/** cleanName makes a display name safe to show: one line, no control or bidi-override characters, capped. */
export function cleanName(raw: string): string {
  const s = raw.replace(BIDI_CONTROLS, "").replace(/[\t\r\n\u2028\u2029]/g, " ").replace(CONTROLS, "").replace(/\s+/g, " ").trim();
  return truncateCodePoints(s, MAX_NAME_CHARS);
}

/** displayName is cleanName with a fallback for names that end up empty. */
export function displayName(raw: string): string {
  const s = cleanName(raw);
  return ZERO_WIDTH_ONLY.test(s) ? "Guest" : s;
}

/** cleanChat makes chat text safe to show: keeps line breaks, drops other controls and bidi overrides, capped. */
export function cleanChat(raw: string): string {
  const s = raw.replace(/\r\n?|[\u2028\u2029]/g, "\n").replace(BIDI_CONTROLS, "").replace(CONTROLS, "").replace(/\t/g, " ");
  return truncateCodePoints(s.replace(/\n{3,}/g, "\n\n").trim(), MAX_CHAT_CHARS);
}

/** NameCheck is the verdict on a name typed on the pre-join screen. */
export type NameCheck = { ok: true; name: string } | { ok: false; error: string };

/** checkNameInput validates the pre-join display name and says what to fix. */
export function checkNameInput(raw: string): NameCheck {
  const name = cleanName(raw);
  if (ZERO_WIDTH_ONLY.test(name)) return { ok: false, error: "Enter your name so others know who you are." };
  if (Array.from(raw.trim()).length > MAX_NAME_CHARS) return { ok: false, error: `Your name can be at most ${MAX_NAME_CHARS} characters.` };
  return { ok: true, name };
}

/** ChatCheck is the verdict on a chat message about to be sent. */
export type ChatCheck = { ok: true; text: string } | { ok: false; error: string | null };

/** checkChatInput validates a chat message before sending (null error = nothing to send, say nothing). */
export function checkChatInput(raw: string): ChatCheck {
  if (raw.trim() === "") return { ok: false, error: null };
  if (Array.from(raw).length > MAX_CHAT_CHARS) return { ok: false, error: `A message can be at most ${MAX_CHAT_CHARS} characters.` };
  const text = cleanChat(raw);
  return text === "" ? { ok: false, error: null } : { ok: true, text };
}

/** initials is what a tile shows when the camera is off: up to two letters of the name. */
export function initials(name: string): string {
  const words = displayName(name).split(" ").filter((w) => w !== "");
  const letters = words.length >= 2 ? [words[0]!, words[words.length - 1]!] : words.slice(0, 1);
  return letters.map((w) => Array.from(w)[0]!.toLocaleUpperCase()).join("") || "?";
}

/** clockTime formats a message time as HH:MM in the browser's locale. */
export function clockTime(ms: number, locale?: string): string {
  return new Date(ms).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
}
