// The bare baseline: a Hono "hello" on Bun.serve over TLS, compiled like Conclave into one
// executable by run.ts, and started the same way (same flags, same certificate).
//
//   bench-hello --data-dir D --https-port N [--bind 127.0.0.1] [--http-port 0]
//
// It reads D/tls/cert.pem and D/tls/key.pem (the files `conclave serve` generated) and answers
// GET / with "hello" and GET /readyz with a small JSON body.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Hono } from "hono";

const { values } = parseArgs({
  options: {
    "data-dir": { type: "string" },
    "https-port": { type: "string" },
    "http-port": { type: "string" },
    bind: { type: "string", default: "127.0.0.1" },
  },
  allowPositionals: true, // accepts `serve` like the real binary
});
if (!values["data-dir"] || !values["https-port"]) {
  console.error("usage: bench-hello --data-dir D --https-port N [--bind ADDR]");
  process.exit(2);
}

const app = new Hono();
app.get("/", (c) => c.text("hello"));
app.get("/readyz", (c) => c.json({ status: "ready" }));

const tlsDir = join(values["data-dir"], "tls");
const server = Bun.serve({
  hostname: values.bind,
  port: Number(values["https-port"]),
  tls: { cert: readFileSync(join(tlsDir, "cert.pem"), "utf8"), key: readFileSync(join(tlsDir, "key.pem"), "utf8") },
  fetch: app.fetch,
});
console.log(JSON.stringify({ msg: "listening", https: `${server.hostname}:${server.port}` }));
