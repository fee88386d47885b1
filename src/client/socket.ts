/**
 * One signalling WebSocket: JSON frames in and out, a keep-alive ping, and a single `onClose`
 * when the connection is gone for any reason (including a silent network drop, detected by the
 * missing pongs). Reconnection is the session's job.
 */
import type { ClientMessage, ServerMessage } from "../shared/signaling.ts";
import { parseServerMessage } from "./protocol.ts";

/** PING_EVERY_MS is how often the client pings. */
export const PING_EVERY_MS = 10_000;
/** SILENCE_LIMIT_MS without any frame from the server means the connection is dead. */
export const SILENCE_LIMIT_MS = 25_000;

/** SocketHandlers receive what the socket sees. */
export interface SocketHandlers {
  onOpen(): void;
  onMessage(m: ServerMessage): void;
  onClose(why: string): void;
}

/** SignalingSocket wraps one WebSocket connection. */
export class SignalingSocket {
  private ws: WebSocket;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = Date.now();
  private closed = false;

  constructor(
    url: string,
    private readonly h: SocketHandlers,
  ) {
    this.ws = new WebSocket(url);
    this.ws.onopen = () => {
      this.lastHeard = Date.now();
      this.timer = setInterval(() => this.tick(), PING_EVERY_MS / 2);
      h.onOpen();
    };
    this.ws.onmessage = (ev: MessageEvent) => {
      this.lastHeard = Date.now();
      if (typeof ev.data !== "string") return;
      const m = parseServerMessage(ev.data);
      if (m === null) {
        console.warn("conclave: ignored a malformed signalling frame");
        return;
      }
      h.onMessage(m);
    };
    this.ws.onclose = (ev: CloseEvent) => this.finish(`closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`);
    this.ws.onerror = () => this.finish("connection error");
  }

  private lastPing = 0;

  private tick(): void {
    const now = Date.now();
    if (now - this.lastHeard > SILENCE_LIMIT_MS) {
      this.finish("no answer from the server");
      try {
        this.ws.close(4000);
      } catch {
        // already closed
      }
      return;
    }
    if (now - this.lastPing >= PING_EVERY_MS) {
      this.lastPing = now;
      this.send({ type: "ping", t: now });
    }
  }

  private finish(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.h.onClose(why);
  }

  /** open tells whether frames can be sent. */
  get open(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** send sends one message if the socket is open (dropped otherwise: the session resyncs on reconnect). */
  send(m: ClientMessage): void {
    if (this.open) this.ws.send(JSON.stringify(m));
  }

  /** close closes the socket without reporting onClose (the caller decided to close it). */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      this.ws.close(1000);
    } catch {
      // already closed
    }
  }
}
