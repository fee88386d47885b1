// Janus (Debian package `janus`) as the reference SFU: started from a temporary config dir with
// only the HTTP transport (127.0.0.1) and the VideoRoom plugin, ICE on loopback, no STUN, and
// driven through its HTTP API: session → videoroom handle → publishers joinandconfigure with an
// offer → subscribers join, answer Janus's offer, start.

import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { SfuDriver } from "./measure.ts";
import { waitFor, type PublisherPeer, type SubscriberPeer } from "./peers.ts";

const JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus";

/** janusInstalled tells whether the Debian package is there. */
export async function janusInstalled(): Promise<boolean> {
  return (await Bun.file("/usr/bin/janus").exists()) && (await Bun.file(`${JANUS_LIB}/plugins/libjanus_videoroom.so`).exists());
}

/**
 * writeJanusConfig lays out conf/, plugins/ (videoroom only), transports/ (http only) under dir.
 * Janus never gathers loopback candidates (ice_enforce_list "lo" or "127.0.0.1" still yields the
 * other interfaces), so ICE is pinned to one local address of this machine: packets between two
 * local addresses still only cross the kernel's loopback path.
 */
export function writeJanusConfig(dir: string, httpPort: number, rtpPorts: [number, number], mediaIp: string): string {
  const conf = join(dir, "conf");
  for (const sub of ["conf", "plugins", "transports", "events", "loggers"]) mkdirSync(join(dir, sub), { recursive: true });
  symlinkSync(`${JANUS_LIB}/plugins/libjanus_videoroom.so`, join(dir, "plugins", "libjanus_videoroom.so"));
  symlinkSync(`${JANUS_LIB}/transports/libjanus_http.so`, join(dir, "transports", "libjanus_http.so"));
  writeFileSync(
    join(conf, "janus.jcfg"),
    `general: {
  configs_folder = "${conf}"
  plugins_folder = "${join(dir, "plugins")}"
  transports_folder = "${join(dir, "transports")}"
  events_folder = "${join(dir, "events")}"
  loggers_folder = "${join(dir, "loggers")}"
  debug_level = 3
  session_timeout = 60
}
certificates: {}
media: {
  ipv6 = false
  rtp_port_range = "${rtpPorts[0]}-${rtpPorts[1]}"
}
nat: {
  nice_debug = false
  ice_enforce_list = "${mediaIp}"
  ice_ignore_list = ""
}
plugins: {}
transports: {}
loggers: {}
events: { broadcast = false }
`,
  );
  writeFileSync(
    join(conf, "janus.transport.http.jcfg"),
    `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: { admin_http = false }
`,
  );
  writeFileSync(join(conf, "janus.plugin.videoroom.jcfg"), "general: {}\n");
  return conf;
}

/** janusCommand is the command line that starts Janus on a config dir. */
export function janusCommand(conf: string): string[] {
  return ["/usr/bin/janus", "-F", conf, "-C", join(conf, "janus.jcfg"), "-o"];
}

/** waitForJanus polls GET /janus/info until it answers (20 s at most). */
export async function waitForJanus(base: string, proc: Subprocess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`janus exited (${proc.exitCode ?? proc.signalCode})`);
    try {
      const res = await fetch(`${base}/info`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  throw new Error("Janus's HTTP API did not answer within 20 s");
}

type Json = Record<string, unknown>;

interface Pending {
  resolve: (msg: Json) => void;
  reject: (e: Error) => void;
}

/** JanusSession is one Janus API session with a long-poll loop dispatching async events by transaction. */
export class JanusSession {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly base: string,
    readonly id: number,
  ) {
    void this.poll();
  }

  /** create opens a session on a Janus HTTP endpoint (http://127.0.0.1:PORT/janus). */
  static async create(base: string): Promise<JanusSession> {
    const res = await post(base, { janus: "create", transaction: "create" });
    return new JanusSession(base, (res.data as { id: number }).id);
  }

  /** attach attaches the VideoRoom plugin and returns the handle id. */
  async attach(): Promise<number> {
    const res = await post(`${this.base}/${this.id}`, { janus: "attach", plugin: "janus.plugin.videoroom", transaction: this.tx() });
    return (res.data as { id: number }).id;
  }

  /** message sends a plugin request; resolves with the synchronous reply or the matching async event. */
  async message(handle: number, body: Json, jsep?: { type: string; sdp: string }): Promise<{ data: Json; jsep?: { type: string; sdp: string } }> {
    const transaction = this.tx();
    const waiting = new Promise<Json>((resolve, reject) => this.pending.set(transaction, { resolve, reject }));
    const res = await post(`${this.base}/${this.id}/${handle}`, { janus: "message", transaction, body, ...(jsep ? { jsep } : {}) });
    let msg: Json = res;
    if (res.janus === "ack") msg = await withTimeout(waiting, 15_000, `Janus event for ${JSON.stringify(body)}`);
    this.pending.delete(transaction);
    const data = ((msg.plugindata as Json | undefined)?.data ?? {}) as Json;
    if (data.error) throw new Error(`Janus videoroom: ${String(data.error)} (${String(data.error_code)}) for ${JSON.stringify(body)}`);
    return { data, jsep: msg.jsep as { type: string; sdp: string } | undefined };
  }

  /** destroy ends the session (Janus hangs up every handle). */
  async destroy(): Promise<void> {
    this.closed = true;
    await post(`${this.base}/${this.id}`, { janus: "destroy", transaction: this.tx() }).catch(() => undefined);
    for (const p of this.pending.values()) p.reject(new Error("session destroyed"));
  }

  private tx(): string {
    return `t${++this.seq}`;
  }

  private async poll(): Promise<void> {
    while (!this.closed) {
      try {
        const res = await fetch(`${this.base}/${this.id}?maxev=20&rid=${Date.now()}`, { signal: AbortSignal.timeout(40_000) });
        const body = (await res.json()) as Json | Json[];
        for (const ev of Array.isArray(body) ? body : [body]) {
          const t = ev.transaction as string | undefined;
          if (t && ev.janus === "event") this.pending.get(t)?.resolve(ev);
        }
      } catch {
        if (!this.closed) await Bun.sleep(100);
      }
    }
  }
}

async function post(url: string, body: Json): Promise<Json> {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  const json = (await res.json()) as Json;
  if (json.janus === "error") throw new Error(`Janus: ${JSON.stringify(json.error)} for ${JSON.stringify(body)}`);
  return json;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`timed out after ${ms} ms: ${what}`)))]);
}

/** JanusRoom is one VideoRoom on a session, with its publishers' feed ids. */
export class JanusRoom {
  private readonly feeds = new Map<PublisherPeer, number>();
  private readonly handles = new Map<SubscriberPeer, number>();

  constructor(
    private readonly session: JanusSession,
    readonly room: number,
  ) {}

  /** create makes an H.264 + Opus room with room for `publishers` publishers. */
  static async create(session: JanusSession, publishers: number): Promise<JanusRoom> {
    const handle = await session.attach();
    const room = 1000 + Math.floor(Math.random() * 1e6);
    await session.message(handle, {
      request: "create",
      room,
      publishers,
      audiocodec: "opus",
      videocodec: "h264",
      h264_profile: "42e01f",
      bitrate: 0,
      fir_freq: 0,
      notify_joining: false,
      is_private: true,
    });
    return new JanusRoom(session, room);
  }

  /** publish joins a publisher with its offer and applies Janus's answer. */
  async publish(pub: PublisherPeer): Promise<void> {
    const handle = await this.session.attach();
    const offer = await pub.offer();
    const { data, jsep } = await this.session.message(handle, { request: "joinandconfigure", ptype: "publisher", room: this.room, display: pub.name, audio: true, video: true }, { type: "offer", sdp: offer });
    if (!jsep?.sdp) throw new Error(`Janus sent no answer to ${pub.name}: ${JSON.stringify(data)}`);
    pub.applyAnswer(jsep.sdp);
    this.feeds.set(pub, data.id as number);
  }

  private streamsOf(to: readonly PublisherPeer[]): { feed: number }[] {
    return to.map((p) => {
      const feed = this.feeds.get(p);
      if (feed === undefined) throw new Error(`${p.name} is not published`);
      return { feed };
    });
  }

  /** subscribe subscribes one peer to every stream of the given publishers (one multistream PC); later calls add streams (renegotiation). */
  async subscribe(sub: SubscriberPeer, to: readonly PublisherPeer[]): Promise<void> {
    if (to.length === 0) return;
    const existing = this.handles.get(sub);
    const handle = existing ?? (await this.session.attach());
    this.handles.set(sub, handle);
    const body = existing === undefined ? { request: "join", ptype: "subscriber", room: this.room, streams: this.streamsOf(to) } : { request: "subscribe", streams: this.streamsOf(to) };
    const { jsep } = await this.session.message(handle, body);
    if (!jsep?.sdp) throw new Error(`Janus sent no offer to ${sub.name}`);
    const answer = await sub.answer(jsep.sdp);
    await this.session.message(handle, { request: "start" }, { type: "answer", sdp: answer });
  }
}

/** janusDriver adapts a running Janus (HTTP API base URL, pid) to the benchmark. */
export async function janusDriver(base: string, pid: number, maxPublishers: number, mediaIp: string): Promise<SfuDriver & { close(): Promise<void> }> {
  const session = await JanusSession.create(base);
  const room = await JanusRoom.create(session, maxPublishers);
  const joined: { pub: PublisherPeer; sub: SubscriberPeer }[] = [];
  return {
    name: "Janus",
    pid,
    bindAddress: mediaIp,
    async addPublishers(peers) {
      for (const { pub } of peers) await room.publish(pub);
      // Janus lists a feed only once its PeerConnection is up.
      await waitFor("Janus publishers' DTLS", () => peers.every(({ pub }) => pub.ready()), 20_000);
      await Bun.sleep(200);
      // Everyone already in the meeting also receives the newcomers; newcomers receive everyone.
      const fresh = peers.map((p) => p.pub);
      const earlier = [...joined];
      joined.push(...peers);
      const all = joined.map((p) => p.pub);
      await Promise.all([
        ...earlier.map(({ sub }) => room.subscribe(sub, fresh)),
        ...peers.map(({ pub, sub }) => room.subscribe(sub, all.filter((p) => p !== pub))),
      ]);
    },
    addSubscriber: (sub, publishers) => room.subscribe(sub, publishers),
    close: () => session.destroy(),
  };
}
