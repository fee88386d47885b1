/** Fetching a single-use join token from the meeting page's token endpoint. */

/** TokenResult is a token, or an error to show the participant (retryable when the network failed). */
export type TokenResult = { ok: true; token: string } | { ok: false; error: string; retryable: boolean };

type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** fetchJoinToken POSTs the display name with the CSRF header and returns the token or the server's error text. */
export async function fetchJoinToken(url: string, csrf: string, name: string, fetchFn: FetchLike = (u, i) => fetch(u, i)): Promise<TokenResult> {
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name }),
    });
  } catch {
    return { ok: false, error: "Could not reach the server. Check your network connection.", retryable: true };
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: fall through to the status-based message
  }
  const b = (typeof body === "object" && body !== null ? body : {}) as { token?: unknown; error?: unknown };
  if (res.ok && typeof b.token === "string" && b.token !== "") return { ok: true, token: b.token };
  if (typeof b.error === "string" && b.error.trim() !== "") return { ok: false, error: b.error, retryable: res.status >= 500 || res.status === 429 };
  if (res.status === 403) return { ok: false, error: "This page has expired. Reload it and join again.", retryable: false };
  return { ok: false, error: `The server could not let you join (HTTP ${res.status}). Try again in a moment.`, retryable: res.status >= 500 };
}
