import { describe, expect, test } from "bun:test";
import { validateChat, validateDisplayName } from "./names.ts";

describe("display names", () => {
  test("are trimmed and NFC-normalised; 1–64 characters (not bytes)", () => {
    expect(validateDisplayName("  Zoë  ")).toEqual({ name: "Zoë" });
    expect(validateDisplayName("Zoe\u0308")).toEqual({ name: "Zoë" });
    expect(validateDisplayName("界".repeat(64))).toEqual({ name: "界".repeat(64) });
    expect(validateDisplayName("界".repeat(65))).toEqual({ error: "Your name can be at most 64 characters." });
  });

  test("hostile names are refused with a reason, markup is left to escaping", () => {
    expect(validateDisplayName("a\u202Eb")).toMatchObject({ error: expect.stringContaining("text-direction") });
    expect(validateDisplayName("a\u2066b")).toMatchObject({ error: expect.stringContaining("text-direction") });
    expect(validateDisplayName("a\tb")).toMatchObject({ error: expect.stringContaining("control characters") });
    expect(validateDisplayName("a\u0000b")).toMatchObject({ error: expect.stringContaining("control characters") });
    expect(validateDisplayName(null)).toEqual({ error: "Enter your name as others should see it." });
    expect(validateDisplayName("<script>alert(1)</script>")).toEqual({ name: "<script>alert(1)</script>" });
  });
});

describe("chat messages", () => {
  test("keep line breaks, refuse other control and bidi-override characters, cap the length", () => {
    expect(validateChat(" line one\nline two ")).toEqual({ text: "line one\nline two" });
    expect(validateChat("a\u0007b")).toMatchObject({ error: expect.stringContaining("control") });
    expect(validateChat("a\u202Db")).toMatchObject({ error: expect.stringContaining("override") });
    expect(validateChat("x".repeat(2000))).toEqual({ text: "x".repeat(2000) });
    expect(validateChat("x".repeat(2001))).toMatchObject({ error: expect.stringContaining("2000") });
    expect(validateChat({})).toEqual({ error: "A chat message must be text." });
  });
});
