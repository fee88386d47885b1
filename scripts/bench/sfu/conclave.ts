// Conclave as the SFU under test: participants speak its meeting signalling (src/shared/
// signaling.ts, src/signaling/PROTOCOL.md) over wss://HOST/ws/meeting with a join token, publish
// on a "pub" connection and answer every "sub" offer the server sends as people come and go.

import type { ClientMessage, PublishedTrack, ServerMessage } from "../../../src/shared/signaling.ts";
import { PROTOCOL_VERSION } from "../../../src/shared/signaling.ts";
import type { SfuDriver } from "./measure.ts";
import { waitFor, type PublisherPeer, type SubscriberPeer } from "./peers.ts";

/** PUB_TRACKS names the publisher's m= sections as PublisherPeer lays them out. */
const PUB_TRACKS: PublishedTrack[] = [
  { mid: "0", source: "mic" },
  { mid: "1", source: "camera" },
];

/** ConclaveParticipant is one joined participant: its socket and its sub connection. */
export class ConclaveParticipant {
  private readonly messages: ServerMessage[] = [];
  private subQueue: Promise<void> = Promise.resolve();
  private readonly pinger: ReturnType<typeof setInterval>;
  /** name of the participant (its sub connection's name) */
  get name(): string {
    return this.sub.name;
  }
  /** errors the server reported on this socket */
  readonly errors: string[] = [];
  subAnswers = 0;

  private constructor(
    private readonly ws: WebSocket,
    private readonly sub: SubscriberPeer,
  ) {
    ws.onmessage = (ev) => this.onMessage(String(ev.data));
    this.pinger = setInterval(() => this.send({ type: "ping", t: Date.now() }), 10_000);
  }

  /** join opens the socket, says hello with the token and resolves once welcomed. */
  static async join(wsUrl: string, origin: string, token: string, sub: SubscriberPeer): Promise<ConclaveParticipant> {
    // Bun's WebSocket takes headers (a browser sends its page's Origin) and TLS options (self-signed certificate).
    const ws = new WebSocket(wsUrl, { headers: { Origin: origin }, tls: { rejectUnauthorized: false } } as unknown as string[]);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`WebSocket ${wsUrl} failed`));
    });
    const p = new ConclaveParticipant(ws, sub);
    p.send({ type: "hello", v: PROTOCOL_VERSION, token });
    const first = await p.next((m) => m.type === "welcome" || m.type === "waiting" || m.type === "error" || m.type === "ended", 15_000);
    if (first.type !== "welcome") throw new Error(`Conclave did not admit ${sub.name}: ${JSON.stringify(first)}`);
    return p;
  }

  /** publish sends the publisher's offer and applies the answer. */
  async publish(pub: PublisherPeer): Promise<void> {
    const offer = await pub.offer();
    const answer = this.next((m) => m.type === "pub.answer" || m.type === "error", 15_000);
    this.send({ type: "pub.offer", sdp: offer, tracks: PUB_TRACKS });
    const m = await answer;
    if (m.type !== "pub.answer") throw new Error(`pub.offer refused for ${pub.name}: ${JSON.stringify(m)}`);
    pub.applyAnswer(m.sdp);
    this.send({ type: "media.state", mic: true, camera: true, screen: false });
  }

  /** close leaves the meeting. */
  close(): void {
    clearInterval(this.pinger);
    this.send({ type: "leave" });
    try {
      this.ws.close();
    } catch {
      // already closed
    }
  }

  private send(m: ClientMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  private readonly waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  private next(match: (m: ServerMessage) => boolean, timeoutMs: number): Promise<ServerMessage> {
    const seen = this.messages.find(match);
    if (seen) {
      this.messages.splice(this.messages.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const w = { match, resolve: (m: ServerMessage) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.sub.name}: no matching signalling message within ${timeoutMs} ms (errors: ${this.errors.join("; ") || "none"})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  private onMessage(text: string): void {
    let m: ServerMessage;
    try {
      m = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    if (m.type === "error") this.errors.push(`${m.code}: ${m.message}`);
    if (m.type === "sub.offer") {
      const sdp = m.sdp;
      this.subQueue = this.subQueue
        .then(async () => {
          const answer = await this.sub.answer(sdp);
          this.send({ type: "sub.answer", sdp: answer });
          this.subAnswers++;
        })
        .catch((e: unknown) => void this.errors.push(`sub answer: ${String(e)}`));
      return;
    }
    const w = this.waiters.find((x) => x.match(m));
    if (w) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(m);
    } else if (m.type === "welcome" || m.type === "waiting" || m.type === "pub.answer" || m.type === "error" || m.type === "ended") this.messages.push(m);
  }
}

/** TokenSource hands out one fresh join token per participant. */
export type TokenSource = (displayName: string) => Promise<string>;

/** conclaveDriver adapts a running Conclave (signalling URL, the Origin its pages have, pid, a token source) to the benchmark. */
export function conclaveDriver(opts: { wsUrl: string; origin: string; pid: number; bindAddress: string; token: TokenSource }): SfuDriver & { close(): void } {
  const wsUrl = opts.wsUrl;
  const participants: ConclaveParticipant[] = [];
  const join = async (sub: SubscriberPeer): Promise<ConclaveParticipant> => {
    const p = await ConclaveParticipant.join(wsUrl, opts.origin, await opts.token(sub.name), sub);
    participants.push(p);
    return p;
  };
  return {
    name: "Conclave",
    pid: opts.pid,
    bindAddress: opts.bindAddress,
    async addPublishers(peers) {
      for (const { pub, sub } of peers) await (await join(sub)).publish(pub);
      await waitFor("Conclave publishers' DTLS", () => peers.every(({ pub }) => pub.ready()), 20_000);
    },
    async addSubscriber(sub) {
      await join(sub);
    },
    diagnose() {
      const errs = participants.filter((p) => p.errors.length > 0).map((p) => `${p.name}: ${p.errors.join(" | ")}`);
      return [`sub offers answered: ${participants.map((p) => `${p.name}=${p.subAnswers}`).join(" ")}`, ...errs].join("; ");
    },
    close() {
      for (const p of participants) p.close();
    },
  };
}
