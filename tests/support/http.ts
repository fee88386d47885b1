// A minimal browser stand-in for tests that talk to the running binary over real HTTPS:
// a cookie jar, the CSRF token of the last page, same-origin form posts, no redirect following.

import { insecureTls } from "./conclave.ts";

/** Page is one response with its body read. */
export interface Page {
  status: number;
  headers: Headers;
  location: string | null;
  html: string;
}

/** csrfTokenOf reads the hidden `_csrf` field of a rendered page. */
export function csrfTokenOf(html: string): string | null {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? null;
}

/** WebClient keeps cookies between requests to one origin and posts forms like a browser would. */
export class WebClient {
  readonly cookies = new Map<string, string>();
  csrf: string | null = null;

  constructor(readonly origin: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private absorb(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split("=")[1] ?? "") < Date.now()));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private async finish(res: Response): Promise<Page> {
    this.absorb(res);
    const html = await res.text();
    const token = csrfTokenOf(html);
    if (token) this.csrf = token;
    return { status: res.status, headers: res.headers, location: res.headers.get("location"), html };
  }

  /** get fetches a path (or absolute URL on this origin) without following redirects. */
  async get(path: string): Promise<Page> {
    const res = await fetch(new URL(path, this.origin), { ...insecureTls, redirect: "manual", headers: { cookie: this.cookieHeader(), accept: "text/html" } });
    return this.finish(res);
  }

  /** post sends a urlencoded form with this origin's Origin header and the current CSRF token. */
  async post(path: string, fields: Record<string, string>, opts: { origin?: string; csrf?: boolean } = {}): Promise<Page> {
    const body = new URLSearchParams(fields);
    if (opts.csrf !== false && this.csrf && !("_csrf" in fields)) body.set("_csrf", this.csrf);
    const res = await fetch(new URL(path, this.origin), {
      ...insecureTls,
      method: "POST",
      redirect: "manual",
      headers: { cookie: this.cookieHeader(), origin: opts.origin ?? this.origin, "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
      body,
    });
    return this.finish(res);
  }
}

/** OwnerDetails are what the setup form asks for. */
export interface OwnerDetails {
  organisation: string;
  ownerName: string;
  ownerEmail: string;
  password: string;
}

/** completeSetup opens the printed setup URL and submits the setup form; the client is then signed in as the Owner. */
export async function completeSetup(client: WebClient, setupUrl: string, owner: OwnerDetails): Promise<Page> {
  const path = new URL(setupUrl);
  const first = await client.get(path.pathname + path.search);
  if (first.status !== 303) throw new Error(`GET setup URL: expected 303, got ${first.status}`);
  const form = await client.get("/setup");
  if (form.status !== 200) throw new Error(`GET /setup: expected 200, got ${form.status}\n${form.html}`);
  const done = await client.post("/setup", { ...owner, confirm: owner.password });
  if (done.status !== 303) throw new Error(`POST /setup: expected 303, got ${done.status}\n${done.html}`);
  return done;
}

/** signIn loads the sign-in form (for its CSRF token) and posts the credentials. */
export async function signIn(client: WebClient, email: string, password: string): Promise<Page> {
  await client.get("/signin");
  return client.post("/signin", { email, password, next: "/admin" });
}
