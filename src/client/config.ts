/** The meeting page's data-* attributes (rendered by the server) read into a typed config. */

/** ClientConfig is what the page tells the client about the meeting and this visitor. */
export interface ClientConfig {
  meetingNumber: string;
  topic: string;
  displayName: string;
  nameEditable: boolean;
  tokenUrl: string;
  csrf: string;
  host: boolean;
}

/** ConfigResult is readConfig's verdict. */
export type ConfigResult = { ok: true; config: ClientConfig } | { ok: false; error: string };

/** readConfig validates the root element's dataset (a DOMStringMap or any string record). */
export function readConfig(data: Readonly<Record<string, string | undefined>>): ConfigResult {
  const tokenUrl = data.tokenUrl ?? "";
  // Only same-origin paths: a page attribute must never send the CSRF token elsewhere.
  if (!tokenUrl.startsWith("/") || tokenUrl.startsWith("//")) return { ok: false, error: "This meeting page is incomplete (no join address). Reload the page." };
  if (!data.csrf) return { ok: false, error: "This meeting page is incomplete (no form token). Reload the page." };
  return {
    ok: true,
    config: {
      meetingNumber: data.meetingNumber ?? "",
      topic: data.topic ?? "",
      displayName: data.displayName ?? "",
      nameEditable: data.nameEditable !== "false",
      tokenUrl,
      csrf: data.csrf,
      host: data.host === "true",
    },
  };
}

/** formatMeetingNumber groups a dialable meeting number for reading: 123 4567 8901. */
export function formatMeetingNumber(n: string): string {
  const d = n.replace(/\D/g, "");
  if (d.length < 9) return d;
  return `${d.slice(0, 3)} ${d.slice(3, d.length - 4)} ${d.slice(d.length - 4)}`;
}
