/**
 * Validation of what participants type that others will see: display names and chat.
 * Control characters and bidirectional overrides are refused (they reorder or hide text).
 */
import { MAX_CHAT_CHARS, MAX_NAME_CHARS } from "../shared/signaling.ts";

const BIDI = /[\u202A-\u202E\u2066-\u2069\u061C\u200E\u200F]/u;
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029]/u;

/** validateDisplayName trims and checks a display name (1–64 characters, no control or bidi-override characters). */
export function validateDisplayName(raw: unknown): { name: string } | { error: string } {
  if (typeof raw !== "string") return { error: "Enter your name as others should see it." };
  const name = raw.normalize("NFC").trim();
  if (!name) return { error: "Enter your name as others should see it." };
  if ([...name].length > MAX_NAME_CHARS) return { error: `Your name can be at most ${MAX_NAME_CHARS} characters.` };
  if (CONTROL.test(name)) return { error: "Your name cannot contain control characters such as line breaks or tabs." };
  if (BIDI.test(name)) return { error: "Your name cannot contain text-direction override characters." };
  return { name };
}

/** validateChat trims and checks a chat message (1–2000 characters; line breaks allowed; no bidi overrides). */
export function validateChat(raw: unknown): { text: string } | { error: string } {
  if (typeof raw !== "string") return { error: "A chat message must be text." };
  const text = raw.normalize("NFC").trim();
  if (!text) return { error: "A chat message cannot be empty." };
  if ([...text].length > MAX_CHAT_CHARS) return { error: `A chat message can be at most ${MAX_CHAT_CHARS} characters.` };
  if (CONTROL_EXCEPT_NEWLINE.test(text)) return { error: "A chat message cannot contain control characters." };
  if (BIDI.test(text)) return { error: "A chat message cannot contain text-direction override characters." };
  return { text };
}
