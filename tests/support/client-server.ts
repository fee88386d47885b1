// An in-process meeting server for driving the browser client without the meeting pages: the
// real signalling server and SFU (src/signaling, src/media on one UDP port on 127.0.0.1) and
// live rooms (src/meetings/room.ts through the signalling harness's FakeMeetings), plus
// a meeting page per participant at /page/<who> whose token endpoint mints a join token.
// Used by tests/e2e/meeting-sfu.e2e.test.ts and scripts/bench/join-time.ts.

import type { Server, ServerWebSocket } from "bun";
import { clientBundle } from "../../src/http/client-bundle.ts";
import { CONTENT_SECURITY_POLICY } from "../../src/http/middleware/security-headers.ts";
import type { RoomPolicy } from "../../src/meetings/room-policy.ts";
import { MediaServer } from "../../src/media/media-server.ts";
import { systemClock } from "../../src/shared/clock.ts";
import { createLogger } from "../../src/shared/logger.ts";
import { createSignaling, SIGNALING_PATH, type Signaling, type SocketData } from "../../src/signaling/server.ts";
import { createFakeMeetings, type FakeMeetings } from "./signaling-harness.ts";

/** ClientServer is a running in-process meeting server. */
export interface ClientServer {
  port: number;
  meetings: FakeMeetings;
  media: MediaServer;
  signaling: Signaling;
  /** open server-side sockets (to cut one, as a network blip would) */
  sockets: Set<ServerWebSocket<SocketData>>;
  /** pageUrl is the meeting page for participant `who` (host: joins as the meeting's host). */
  pageUrl(who: string, opts?: { host?: boolean; name?: string }): string;
  /** socketOf finds the server socket of a participant. */
  socketOf(participantId: string): ServerWebSocket<SocketData> | undefined;
  stop(): Promise<void>;
}

const ROOT = new URL("../..", import.meta.url).pathname;

/** startClientServer starts the server on a free TCP port and a random UDP port (40000–59999). */
export async function startClientServer(meetingId: string, policy: Partial<RoomPolicy> = {}): Promise<ClientServer> {
  const meetings = createFakeMeetings();
  meetings.policy(meetingId, { waitingRoom: false, joinBeforeHost: true, screenShare: "all", ...policy });
  const log = createLogger({ level: "error", pretty: true });
  let sig: Signaling | null = null;
  const media = new MediaServer({ port: 40000 + Math.floor(Math.random() * 20000), bindAddress: "127.0.0.1", clock: systemClock, onSpeaker: (g, s) => sig?.setSpeaker(g, s) });
  const signaling = (sig = createSignaling({ meetings, media, log, statsIntervalMs: 0 }));
  const js = clientBundle();
  const css = await Bun.file(`${ROOT}public/meeting.css`).text();
  const sockets = new Set<ServerWebSocket<SocketData>>();
  const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  const html = (who: string, host: boolean, name: string): string => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Meeting</title></head><body>
<main id="conclave-meeting" data-meeting-number="12345678901" data-topic="Test meeting" data-display-name="${esc(name)}" data-name-editable="false" data-token-url="/token/${who}?host=${host}&amp;name=${encodeURIComponent(name)}" data-csrf="c" data-host="${host}"><noscript>JavaScript needed.</noscript></main>
<script type="module" src="/static/client.js"></script></body></html>`;
  const server = Bun.serve<SocketData>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const url = new URL(req.url);
      const headers = { "Content-Security-Policy": CONTENT_SECURITY_POLICY };
      if (url.pathname === SIGNALING_PATH) return signaling.upgrade(req, srv);
      const m = /^\/(page|token)\/([a-z0-9-]+)$/.exec(url.pathname);
      const host = url.searchParams.get("host") === "true";
      const name = url.searchParams.get("name") ?? m?.[2] ?? "";
      if (m && m[1] === "page") return new Response(html(m[2]!, host, name), { headers: { ...headers, "Content-Type": "text/html; charset=utf-8" } });
      if (m && m[1] === "token" && req.method === "POST") return Response.json({ token: meetings.token(meetingId, name, { host }) });
      if (url.pathname === "/static/client.js") return new Response(js, { headers: { ...headers, "Content-Type": "text/javascript" } });
      if (url.pathname === "/static/meeting.css") return new Response(css, { headers: { ...headers, "Content-Type": "text/css" } });
      return new Response("not found", { status: 404 });
    },
    websocket: {
      ...signaling.websocket,
      open(ws) {
        sockets.add(ws);
        signaling.websocket.open?.(ws);
      },
      close(ws, code, reason) {
        sockets.delete(ws);
        signaling.websocket.close?.(ws, code, reason);
      },
    },
  });
  const port = server.port!;
  return {
    port,
    meetings,
    media,
    signaling,
    sockets,
    pageUrl: (who, opts = {}) => `http://localhost:${port}/page/${who}?host=${opts.host === true}&name=${encodeURIComponent(opts.name ?? who)}`,
    socketOf: (pid) => [...sockets].find((w) => (w.data.conn as { participantId?: string } | null)?.participantId === pid),
    async stop() {
      signaling.close();
      media.close();
      await server.stop(true);
    },
  };
}
