import { Hono } from "hono";
import htmx from "htmx.org/dist/htmx.min.js" with { type: "text" };
import css from "../../public/app.css" with { type: "text" };
import meetingCss from "../../public/meeting.css" with { type: "text" };
import { clientBundle } from "./client-bundle.ts" with { type: "macro" };
import type { AppEnv } from "./context.ts";

/** The browser meeting client (src/client), inlined at build time by a macro. */
const CLIENT_JS: string = clientBundle();

/** ASSETS are embedded in the binary at build time. */
const ASSETS: Record<string, { body: string; type: string; etag: string }> = {
  "htmx.min.js": { body: htmx, type: "text/javascript; charset=utf-8", etag: etag(htmx) },
  "app.css": { body: css, type: "text/css; charset=utf-8", etag: etag(css) },
  "meeting.css": { body: meetingCss, type: "text/css; charset=utf-8", etag: etag(meetingCss) },
  "client.js": { body: CLIENT_JS, type: "text/javascript; charset=utf-8", etag: etag(CLIENT_JS) },
};

function etag(s: string): string {
  return `"${new Bun.CryptoHasher("sha256").update(s).digest("hex").slice(0, 16)}"`;
}

/** staticRoutes serves embedded assets with ETags. */
export function staticRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/:name", (c) => {
    const a = ASSETS[c.req.param("name")];
    if (!a) return c.notFound();
    if (c.req.header("if-none-match") === a.etag) return c.body(null, 304);
    c.header("Content-Type", a.type);
    c.header("ETag", a.etag);
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(a.body);
  });
  return app;
}
