import type { ErrorHandler, NotFoundHandler } from "hono";
import { AppError, type ErrorCode } from "../shared/errors.ts";
import type { AppEnv, AppContext } from "./context.ts";
import { renderShell } from "./shell.tsx";

/** STATUS maps each error code to its HTTP status, in one place. */
export const STATUS: Record<ErrorCode, 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  csrf: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  too_large: 413,
  internal: 500,
  unavailable: 503,
};

/** wantsJson tells API callers from browsers. */
export function wantsJson(c: AppContext): boolean {
  return new URL(c.req.url).pathname.startsWith("/api/") || (c.req.header("accept") ?? "").startsWith("application/json");
}

/** errorPage renders a readable error page or a JSON error; raw exception text never reaches the user. */
export function respondError(c: AppContext, err: AppError): Response {
  const status = STATUS[err.code];
  if (wantsJson(c)) return c.json({ error: { code: err.code, message: err.message, fields: err.fields } }, status);
  if (err.code === "unauthenticated" && c.req.method === "GET") {
    const next = new URL(c.req.url).pathname;
    return c.redirect(`/signin?next=${encodeURIComponent(next)}`, 303);
  }
  const titles: Record<number, string> = { 400: "Please check your input", 401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Cannot do that now", 413: "Too large", 429: "Slow down", 500: "Something went wrong", 503: "Unavailable" };
  return c.html(
    renderShell(c, {
      title: titles[status] ?? "Error",
      body: (
        <section class="card narrow">
          <h1>{titles[status]}</h1>
          <p role="alert">{err.message}</p>
          <p>
            <a href={c.get("session") ? "/admin" : "/"}>Back to the start page</a>
          </p>
        </section>
      ),
    }),
    status,
  );
}

/** onError maps AppError to its status and logs anything unexpected with the request id. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof AppError) return respondError(c, err);
  c.get("log")?.error("unhandled error", { error: err, path: new URL(c.req.url).pathname });
  return respondError(c, new AppError("internal", `An unexpected error occurred. Quote request id ${c.get("requestId") ?? "-"} to your administrator.`));
};

/** onNotFound answers unknown routes with the same 404 as missing objects. */
export const onNotFound: NotFoundHandler<AppEnv> = (c) => respondError(c, new AppError("not_found", "There is no page at this address."));
