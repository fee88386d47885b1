import { describe, expect, test } from "bun:test";
import { MAX_CHAT_CHARS, MAX_NAME_CHARS } from "../shared/signaling.ts";
import { checkChatInput, checkNameInput, cleanChat, cleanName, displayName, initials, truncateCodePoints } from "./text.ts";

describe("cleanName", () => {
  test("removes bidi overrides and isolates so a name cannot reorder the text around it", () => {
    expect(cleanName("\u202Eevil\u202C")).toBe("evil");
    expect(cleanName("a\u2066b\u2069c\u202Ad\u202Be\u202Df\u061C")).toBe("abcdef");
  });
  test("keeps right-to-left letters themselves", () => {
    expect(cleanName("שלום עולם")).toBe("שלום עולם");
  });
  test("turns a multi-line name into one line and drops control characters", () => {
    expect(cleanName("  Ann\n\tBee\u0007\u0000  ")).toBe("Ann Bee");
  });
  test("leaves markup as text (rendering uses textContent)", () => {
    expect(cleanName("<script>alert(1)</script>")).toBe("<script>alert(1)</script>");
  });
  test("caps the length in code points without splitting emoji", () => {
    const long = "😀".repeat(MAX_NAME_CHARS + 5);
    const out = cleanName(long);
    expect(Array.from(out).length).toBe(MAX_NAME_CHARS);
    expect(out).toBe("😀".repeat(MAX_NAME_CHARS));
  });
  test("displayName falls back to Guest for names that are empty after cleaning", () => {
    expect(displayName("\u202E\u202C  ")).toBe("Guest");
    expect(displayName("\u200B")).toBe("Guest");
    expect(displayName("Zoë")).toBe("Zoë");
  });
});

describe("cleanChat", () => {
  test("keeps line breaks, normalises CRLF and squeezes blank runs", () => {
    expect(cleanChat("a\r\nb\n\n\n\nc")).toBe("a\nb\n\nc");
  });
  test("removes bidi overrides and controls", () => {
    expect(cleanChat("pay \u202Efdp.exe\u0000")).toBe("pay fdp.exe");
  });
  test("caps at MAX_CHAT_CHARS", () => {
    expect(cleanChat("x".repeat(MAX_CHAT_CHARS + 10)).length).toBe(MAX_CHAT_CHARS);
  });
});

describe("checkNameInput", () => {
  test("accepts a normal name, cleaned", () => {
    expect(checkNameInput("  Ada  Lovelace ")).toEqual({ ok: true, name: "Ada Lovelace" });
  });
  test("refuses an empty or invisible name and says what to do", () => {
    expect(checkNameInput("   ")).toEqual({ ok: false, error: "Enter your name so others know who you are." });
    expect(checkNameInput("\u202E")).toMatchObject({ ok: false });
  });
  test("refuses a name that is too long and gives the limit", () => {
    expect(checkNameInput("n".repeat(MAX_NAME_CHARS + 1))).toEqual({ ok: false, error: `Your name can be at most ${MAX_NAME_CHARS} characters.` });
    expect(checkNameInput("n".repeat(MAX_NAME_CHARS))).toMatchObject({ ok: true });
  });
});

describe("checkChatInput", () => {
  test("blank input sends nothing and shows no error", () => {
    expect(checkChatInput("  \n ")).toEqual({ ok: false, error: null });
  });
  test("too long input explains the limit", () => {
    expect(checkChatInput("y".repeat(MAX_CHAT_CHARS + 1))).toEqual({ ok: false, error: `A message can be at most ${MAX_CHAT_CHARS} characters.` });
  });
  test("normal input is cleaned", () => {
    expect(checkChatInput(" hello\u202E ")).toEqual({ ok: true, text: "hello" });
  });
});

describe("helpers", () => {
  test("initials takes the first and last word", () => {
    expect(initials("ada king lovelace")).toBe("AL");
    expect(initials("Cher")).toBe("C");
    expect(initials("")).toBe("G");
  });
  test("truncateCodePoints leaves short strings alone", () => {
    expect(truncateCodePoints("abc", 5)).toBe("abc");
    expect(truncateCodePoints("a😀b", 2)).toBe("a😀");
  });
});

describe("agreement with the server's validation (src/meetings/names.ts)", () => {
  test("every name and chat the client sends after cleaning is accepted by the server", async () => {
    const { validateChat, validateDisplayName } = await import("../meetings/names.ts");
    const hostile = ["Bob \u202EGuest", "a\u200Eb\u200Fc", "x\u2028y\u2029z", "tab\there", "\u2066iso\u2069", "ok", "  spaced  "];
    for (const raw of hostile) {
      expect(validateDisplayName(cleanName(raw)), raw).toHaveProperty("name");
      expect(validateChat(cleanChat(raw)), raw).toHaveProperty("text");
    }
  });
});
