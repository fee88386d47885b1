import { describe, expect, test } from "bun:test";
import { buildIcs, foldLine, icsText } from "./ics.ts";

/** unfold reverses RFC 5545 folding. */
const unfold = (s: string) => s.replace(/\r\n[ \t]/g, "");

describe("iCalendar invitation", () => {
  const ics = buildIcs({
    uid: "abc@conclave.test", stamp: Date.UTC(2026, 0, 1, 8), start: Date.UTC(2026, 0, 2, 9, 30), durationMinutes: 45, recurrence: "weekly", recurrenceCount: 10,
    summary: "Plan; budget, \\ review\nline two", description: "Join: https://conclave.test/j/12345678901?pwd=tok\n" + "é".repeat(100), url: "https://conclave.test/j/12345678901?pwd=tok",
  });

  test("is a VCALENDAR with one VEVENT and the required properties", () => {
    const lines = unfold(ics).split("\r\n");
    expect(lines[0]).toBe("BEGIN:VCALENDAR");
    expect(lines).toContain("VERSION:2.0");
    expect(lines).toContain("BEGIN:VEVENT");
    expect(lines).toContain("UID:abc@conclave.test");
    expect(lines).toContain("DTSTAMP:20260101T080000Z");
    expect(lines).toContain("DTSTART:20260102T093000Z");
    expect(lines).toContain("DURATION:PT45M");
    expect(lines).toContain("RRULE:FREQ=WEEKLY;COUNT=10");
    expect(lines).toContain("SUMMARY:Plan\\; budget\\, \\\\ review\\nline two");
    expect(lines.find((l) => l.startsWith("DESCRIPTION:"))).toContain("https://conclave.test/j/12345678901?pwd=tok\\n");
    expect(lines.at(-2)).toBe("END:VCALENDAR");
    expect(ics.endsWith("\r\n")).toBe(true);
  });

  test("uses CRLF only and folds every line at 75 octets without splitting a character", () => {
    expect(ics.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    for (const line of ics.split("\r\n")) expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(75);
    expect(ics).not.toContain("\uFFFD");
    expect(unfold(ics)).toContain("é".repeat(100));
  });

  test("a one-off meeting has no RRULE", () => {
    expect(buildIcs({ uid: "u", stamp: 0, start: 0, durationMinutes: 30, recurrence: "none", recurrenceCount: null, summary: "s", description: "d", url: "https://x" })).not.toContain("RRULE");
  });

  test("escaping and folding helpers", () => {
    expect(icsText("a,b;c\\d\r\ne")).toBe("a\\,b\\;c\\\\d\\ne");
    expect(foldLine("x".repeat(150))).toBe(`${"x".repeat(75)}\r\n ${"x".repeat(74)}\r\n ${"x"}`);
  });
});
