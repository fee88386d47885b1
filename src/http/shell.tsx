import type { Child } from "hono/jsx";
import type { AppContext } from "./context.ts";

/** ShellProps is what every page passes to the HTML shell. */
export interface ShellProps {
  title: string;
  body: Child;
  nav?: Child;
}

/**
 * renderShell wraps a page body in the document: stylesheet, htmx (same origin, no inline
 * script) and the CSRF token that htmx sends with every request via hx-headers.
 */
export function renderShell(c: AppContext, p: ShellProps): string {
  const token = c.get("csrfToken") ?? "";
  const doc = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0}' />
        <title>{`${p.title} · Conclave`}</title>
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/htmx.min.js" defer></script>
      </head>
      <body hx-headers={JSON.stringify({ "X-CSRF-Token": token })}>
        <header class="top">
          <a class="brand" href="/">Conclave</a>
          {p.nav}
        </header>
        <main id="main">{p.body}</main>
      </body>
    </html>
  );
  return "<!doctype html>" + doc.toString();
}

