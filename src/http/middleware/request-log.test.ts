import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createLogger } from "../../shared/logger.ts";
import type { AppEnv } from "../context.ts";
import { requestLog } from "./request-log.ts";

function appWithLog(): { app: Hono<AppEnv>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ pretty: false, write: (l) => lines.push(JSON.parse(l)) });
  const app = new Hono<AppEnv>();
  app.use(requestLog(log));
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/activate", (c) => {
    c.get("log").info("handling", { token: c.req.query("token"), password: "hunter2" });
    return c.text("ok");
  });
  return { app, lines };
}

describe("requestLog", () => {
  test("writes one JSON line per request with the request id, method, path and status — never the query", async () => {
    const { app, lines } = appWithLog();
    const res = await app.request("https://conclave.test/activate?token=SECRET-TOKEN");
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[\w-]{12}$/);
    const req = lines.find((l) => l.msg === "request")!;
    expect(req).toMatchObject({ level: "info", requestId: id, method: "GET", path: "/activate", status: 200 });
    expect(typeof req.ms).toBe("number");
    expect(JSON.stringify(lines)).not.toContain("SECRET-TOKEN");
    expect(JSON.stringify(lines)).not.toContain("hunter2");
  });

  test("the handler's logger carries the same request id and redacts secret-looking fields", async () => {
    const { app, lines } = appWithLog();
    await app.request("https://conclave.test/activate?token=abc");
    const handling = lines.find((l) => l.msg === "handling")!;
    const req = lines.find((l) => l.msg === "request")!;
    expect(handling.requestId).toBe(req.requestId);
    expect(handling.token).toBe("[redacted]");
    expect(handling.password).toBe("[redacted]");
  });

  test("gives every request its own id and skips /healthz", async () => {
    const { app, lines } = appWithLog();
    const a = await app.request("https://conclave.test/healthz");
    const b = await app.request("https://conclave.test/healthz");
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
    expect(lines).toEqual([]);
  });
});
