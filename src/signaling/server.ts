// The meeting signalling endpoint (wss://HOST/ws/meeting) on Bun's native WebSockets: the
// upgrade check (same origin only: no cross-site WebSocket hijacking), one Connection per
// socket, room effects fanned out through the Registry, active-speaker and statistics pushes.

import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { MeetingsLive } from "../meetings/live-types.ts";
import type { MediaServer } from "../media/media-server.ts";
import { systemClock, type Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/logger.ts";
import { MAX_MESSAGE_BYTES } from "../shared/signaling.ts";
import { Connection, type Limits } from "./connection.ts";
import { Registry } from "./registry.ts";

/** SIGNALING_PATH is where browsers open the meeting WebSocket. */
export const SIGNALING_PATH = "/ws/meeting";

/** SignalingOptions wires the signalling server. */
export interface SignalingOptions {
  meetings: MeetingsLive;
  media: MediaServer;
  log: Logger;
  /** Origins allowed besides the request's own (https://<Host>), e.g. the configured public URL. */
  allowedOrigins?: readonly string[];
  clock?: Clock;
  limits?: Partial<Limits>;
  /** How often connection statistics go to meetings.stats (default 15 s; 0 = only at the end). */
  statsIntervalMs?: number;
}

/** SocketData is attached to each upgraded socket. */
export interface SocketData {
  conn: Connection | null;
  ip: string;
}

/** Signaling is what the HTTP server needs: the upgrade and the WebSocket handler. */
export interface Signaling {
  /** upgrade answers a request for SIGNALING_PATH: undefined once upgraded, else the refusal. */
  upgrade(req: Request, server: Server<SocketData>): Response | undefined;
  websocket: WebSocketHandler<SocketData>;
  /** setSpeaker is wired to MediaServer's onSpeaker by the composition root. */
  setSpeaker(meetingId: string, participantId: string | null): void;
  /** connections is the number of joined or waiting sockets. */
  connections(): number;
  close(): void;
}

/** DEFAULT_LIMITS are the per-connection limits (see PROTOCOL.md). */
export const DEFAULT_LIMITS: Limits = { helloTimeoutMs: 10_000, maxBadMessages: 20, ratePerSecond: 20, burst: 60 };

/** originAllowed tells whether a WebSocket upgrade comes from our own pages. */
export function originAllowed(req: Request, allowed: readonly string[]): boolean {
  const origin = req.headers.get("origin");
  if (!origin || origin === "null") return false;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (allowed.some((a) => safeOrigin(a) === o.origin)) return true;
  const host = req.headers.get("host");
  // The victim's browser sets Host to our name; a foreign page cannot make its Origin match it.
  return host !== null && (o.protocol === "https:" || o.protocol === "http:") && o.host === host;
}

function safeOrigin(u: string): string | null {
  try {
    return new URL(u).origin;
  } catch {
    return null;
  }
}

/** createSignaling builds the signalling endpoint. */
export function createSignaling(opts: SignalingOptions): Signaling {
  const clock = opts.clock ?? systemClock;
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const registry = new Registry();
  const log = opts.log.child({ module: "signaling" });
  const deps = { meetings: opts.meetings, media: opts.media, registry, log, clock, limits };
  const live = new Set<Connection>();
  const statsEvery = opts.statsIntervalMs ?? 15_000;
  const statsTimer = statsEvery > 0 ? setInterval(() => live.forEach((c) => safe(() => c.pushStats())), statsEvery) : null;
  statsTimer?.unref?.();
  // Effects no call returned (resume window expired, settings edited, meeting ended by the server).
  const unsubscribe = opts.meetings.subscribe?.((meetingId, effects) =>
    safe(() => {
      const room = registry.roomOf(meetingId);
      if (room) registry.apply(room, effects);
    }),
  );

  function safe(f: () => void): void {
    try {
      f();
    } catch (e) {
      log.error("signalling task failed", { error: e as Error });
    }
  }

  return {
    upgrade(req, server) {
      if (req.method !== "GET" || req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("This endpoint speaks WebSocket only.", { status: 426, headers: { Upgrade: "websocket" } });
      }
      if (!originAllowed(req, opts.allowedOrigins ?? [])) {
        log.warn("refused a cross-origin WebSocket upgrade", { origin: req.headers.get("origin")?.slice(0, 200) ?? null });
        return new Response("Forbidden: this WebSocket only accepts connections from this server's own pages.", { status: 403 });
      }
      const ip = server.requestIP(req)?.address ?? "";
      if (server.upgrade(req, { data: { conn: null, ip } })) return undefined;
      return new Response("WebSocket upgrade failed", { status: 400 });
    },
    websocket: {
      // Frames up to 4x the protocol limit reach us and get a clear too_large; beyond, Bun closes with 1009.
      maxPayloadLength: MAX_MESSAGE_BYTES * 4,
      idleTimeout: 60,
      sendPings: true,
      backpressureLimit: 4 * 1024 * 1024,
      closeOnBackpressureLimit: true,
      open(ws: ServerWebSocket<SocketData>) {
        safe(() => {
          const conn = new Connection({ send: (t) => void ws.send(t), close: (code, reason) => ws.close(code, reason) }, deps);
          ws.data.conn = conn;
          live.add(conn);
        });
      },
      message(ws: ServerWebSocket<SocketData>, message: string | Buffer) {
        const conn = ws.data.conn;
        if (conn) conn.onFrame(typeof message === "string" ? message : new Uint8Array(message));
      },
      close(ws: ServerWebSocket<SocketData>) {
        const conn = ws.data.conn;
        if (!conn) return;
        live.delete(conn);
        safe(() => conn.onClose());
      },
    },
    setSpeaker(meetingId, participantId) {
      safe(() => registry.broadcast(meetingId, { type: "speaker", participantId }));
    },
    connections: () => registry.count(),
    close() {
      unsubscribe?.();
      if (statsTimer) clearInterval(statsTimer);
      for (const c of live) safe(() => c.onClose());
      live.clear();
    },
  };
}
