import { describe, expect, test } from "bun:test";
import { formatMeetingNumber, readConfig } from "./config.ts";
import { fetchJoinToken } from "./join-token.ts";
import { endText, endTitle } from "./wording.ts";

const DATA = { meetingNumber: "12345678901", topic: "Plan", displayName: "Ann", nameEditable: "false", tokenUrl: "/j/12345678901/token", csrf: "tok", host: "true" };

describe("readConfig", () => {
  test("reads the meeting page's data attributes", () => {
    expect(readConfig(DATA)).toEqual({ ok: true, config: { meetingNumber: "12345678901", topic: "Plan", displayName: "Ann", nameEditable: false, tokenUrl: "/j/12345678901/token", csrf: "tok", host: true } });
  });
  test("refuses a token URL on another origin (the CSRF token must not leave the site)", () => {
    expect(readConfig({ ...DATA, tokenUrl: "https://evil.test/t" }).ok).toBe(false);
    expect(readConfig({ ...DATA, tokenUrl: "//evil.test/t" }).ok).toBe(false);
  });
  test("refuses a page without CSRF token", () => {
    expect(readConfig({ ...DATA, csrf: undefined })).toMatchObject({ ok: false, error: expect.stringContaining("Reload the page") });
  });
  test("formats a meeting number for reading", () => {
    expect(formatMeetingNumber("12345678901")).toBe("123 4567 8901");
    expect(formatMeetingNumber("1234567890")).toBe("123 456 7890");
  });
});

describe("fetchJoinToken", () => {
  const reply = (status: number, body: unknown) => async (): Promise<Response> => new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
  test("sends the name with the CSRF header and returns the token", async () => {
    let seen: RequestInit | undefined;
    const r = await fetchJoinToken("/j/1/token", "csrf1", "Ann", async (_u, init) => {
      seen = init;
      return new Response(JSON.stringify({ token: "T" }));
    });
    expect(r).toEqual({ ok: true, token: "T" });
    expect(seen?.method).toBe("POST");
    expect((seen?.headers as Record<string, string>)["X-CSRF-Token"]).toBe("csrf1");
    expect(JSON.parse(String(seen?.body))).toEqual({ name: "Ann" });
  });
  test("shows the server's error text", async () => {
    expect(await fetchJoinToken("/t", "c", "A", reply(403, { error: "You were removed from this meeting." }))).toEqual({ ok: false, error: "You were removed from this meeting.", retryable: false });
  });
  test("explains a non-JSON failure and a network failure", async () => {
    expect(await fetchJoinToken("/t", "c", "A", reply(502, "<html>"))).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining("HTTP 502") });
    expect(
      await fetchJoinToken("/t", "c", "A", async () => {
        throw new TypeError("offline");
      }),
    ).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining("network") });
  });
});

describe("wording", () => {
  test("end texts say why: the server's words when it sent some, ours otherwise", () => {
    expect(endTitle("ended")).toBe("The meeting has ended");
    expect(endText("ended", "")).toBe("The host ended the meeting for everyone.");
    expect(endText("removed", " You were removed by the host. ")).toBe("You were removed by the host.");
  });
});
