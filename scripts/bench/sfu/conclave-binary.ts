// The compiled Conclave binary as the SFU under test, set up the way a customer does it: the
// first-run setup page, a meeting scheduled on /meetings (no waiting room, join before host), and
// for every simulated participant its own "browser" (cookie jar) that opens the invitation link
// and asks POST /j/<number>/token for a join token, exactly as the meeting page does.

import { join } from "node:path";
import type { Subprocess } from "bun";
import { ConclaveServer, cleanEnv, freePorts, requireBinary } from "../../../tests/support/conclave.ts";
import { completeSetup, WebClient } from "../../../tests/support/http.ts";
import type { TokenSource } from "./conclave.ts";

/** RunningConclave is a started, set-up binary with one meeting. */
export interface RunningConclave {
  server: ConclaveServer;
  pid: number;
  origin: string;
  wsUrl: string;
  token: TokenSource;
  meetingNumber: string;
  /** joinLink is the invitation link (passcode embedded as a token). */
  joinLink: string;
  /** owner is the signed-in Owner's client (cookies), e.g. for a browser context. */
  owner: WebClient;
  stop(): Promise<number>;
}

const OWNER = { organisation: "Bench Org", ownerName: "Bench Owner", ownerEmail: "owner@bench.test", password: "Bench-Sfu-Quartz-7391" };

/** startBinaryConclave spawns `prefix… dist/conclave serve` in dir with media on mediaIp, runs setup and schedules a meeting. */
export async function startBinaryConclave(opts: { prefix: string[]; dir: string; mediaIp: string; mediaArgs: (ip: string, port: number) => string[]; adopt: (p: Subprocess) => void }): Promise<RunningConclave> {
  const binary = requireBinary();
  const [httpsPort, httpPort, mediaPort] = freePorts(3) as [number, number, number];
  const dataDir = join(opts.dir, "data");
  const proc = Bun.spawn(
    [...opts.prefix, binary, "serve", "--data-dir", dataDir, "--https-port", String(httpsPort), "--http-port", String(httpPort), "--bind", "127.0.0.1", ...opts.mediaArgs(opts.mediaIp, mediaPort)],
    { cwd: opts.dir, env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  opts.adopt(proc);
  const server = new ConclaveServer(proc, opts.dir, dataDir, httpsPort, httpPort);
  try {
    await server.waitReady();
    const origin = server.baseUrl;
    const owner = new WebClient(origin);
    await completeSetup(owner, await server.setupUrl(), { organisation: OWNER.organisation, ownerName: OWNER.ownerName, ownerEmail: OWNER.ownerEmail, password: OWNER.password });
    const { number, pwd } = await scheduleMeeting(owner);
    return {
      server,
      pid: proc.pid,
      origin,
      wsUrl: `${origin.replace(/^https/, "wss")}/ws/meeting`,
      token: (name) => joinToken(origin, number, pwd, name),
      meetingNumber: number,
      joinLink: `/j/${number}?pwd=${pwd}`,
      owner,
      stop: () => server.stop(),
    };
  } catch (e) {
    await server.stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${server.describe().slice(-3000)}`);
  }
}

/** scheduleMeeting posts the schedule form (waiting room off, join before host on) and reads the invitation link. */
async function scheduleMeeting(owner: WebClient): Promise<{ number: string; pwd: string }> {
  const form = await owner.get("/meetings/new");
  if (form.status !== 200) throw new Error(`GET /meetings/new: ${form.status}`);
  const start = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000).toISOString().slice(0, 16);
  const done = await owner.post("/meetings", {
    topic: "SFU benchmark",
    description: "",
    start,
    duration: "60",
    recurrence: "none",
    count: "",
    "meeting.waiting_room": "false",
    "meeting.join_before_host": "true",
  });
  if (done.status !== 303 || !done.location) throw new Error(`POST /meetings: expected 303, got ${done.status}\n${done.html.slice(0, 2000)}`);
  const details = await owner.get(done.location);
  const m = /\/j\/(\d+)\?pwd=([A-Za-z0-9_-]+)/.exec(details.html);
  if (!m) throw new Error(`no join link on the meeting page:\n${details.html.slice(0, 2000)}`);
  return { number: m[1]!, pwd: m[2]! };
}

/** joinToken is one participant's browser: open the link, load the meeting page, ask for a token. */
async function joinToken(origin: string, number: string, pwd: string, name: string): Promise<string> {
  const guest = new WebClient(origin);
  const link = await guest.get(`/j/${number}?pwd=${pwd}`);
  if (link.status !== 303) throw new Error(`GET join link: expected 303, got ${link.status}`);
  const shell = await guest.get(`/j/${number}`);
  const csrf = /data-csrf="([^"]+)"/.exec(shell.html)?.[1];
  if (shell.status !== 200 || !csrf) throw new Error(`GET /j/${number}: ${shell.status}, no meeting page\n${shell.html.slice(0, 1000)}`);
  const res = await fetch(`${origin}/j/${number}/token`, {
    method: "POST",
    tls: { rejectUnauthorized: false },
    headers: {
      cookie: [...guest.cookies].map(([k, v]) => `${k}=${v}`).join("; "),
      origin,
      "content-type": "application/json",
      "x-csrf-token": csrf,
    },
    body: JSON.stringify({ name }),
  });
  const body = (await res.json()) as { token?: string; error?: string };
  if (!res.ok || !body.token) throw new Error(`POST /j/${number}/token: ${res.status} ${body.error ?? ""}`);
  return body.token;
}
