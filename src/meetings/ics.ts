/**
 * iCalendar (RFC 5545) invitation for a meeting: one VEVENT with the join link, CRLF line
 * endings, TEXT values escaped and lines folded at 75 octets without splitting a character.
 */

/** IcsEvent is what the invitation carries. */
export interface IcsEvent {
  uid: string;
  stamp: number;
  start: number;
  durationMinutes: number;
  recurrence: "none" | "daily" | "weekly" | "monthly";
  recurrenceCount: number | null;
  summary: string;
  description: string;
  url: string;
}

/** icsText escapes a TEXT value (backslash, semicolon, comma, newlines). */
export function icsText(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,").replace(/\r\n|\r|\n/g, "\\n");
}

/** icsDate formats a UTC DATE-TIME: 20260101T090000Z. */
export function icsDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

const enc = new TextEncoder();

/** foldLine splits a content line into ≤ 75-octet pieces joined by CRLF + space. */
export function foldLine(line: string): string {
  const out: string[] = [];
  let cur = "";
  let curBytes = 0;
  for (const ch of line) {
    const n = enc.encode(ch).length;
    const limit = out.length === 0 ? 75 : 74; // continuation lines start with one space
    if (curBytes + n > limit) {
      out.push(cur);
      cur = "";
      curBytes = 0;
    }
    cur += ch;
    curBytes += n;
  }
  out.push(cur);
  return out.join("\r\n ");
}

/** buildIcs renders the calendar file. */
export function buildIcs(e: IcsEvent): string {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Conclave//Meetings//EN",
    "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH",
    "BEGIN:VEVENT",
    `UID:${e.uid}`,
    `DTSTAMP:${icsDate(e.stamp)}`,
    `DTSTART:${icsDate(e.start)}`,
    `DURATION:PT${e.durationMinutes}M`,
    ...(e.recurrence !== "none" ? [`RRULE:FREQ=${e.recurrence.toUpperCase()}${e.recurrenceCount ? `;COUNT=${e.recurrenceCount}` : ""}`] : []),
    `SUMMARY:${icsText(e.summary)}`,
    `DESCRIPTION:${icsText(e.description)}`,
    `LOCATION:${icsText(e.url)}`,
    `URL:${e.url}`,
    "END:VEVENT",
    "END:VCALENDAR",
  ];
  return lines.map(foldLine).join("\r\n") + "\r\n";
}
