// Conclave's SFU and signalling without the rest of the appliance, as its own process for the
// benchmark's "--conclave harness" mode: the real MediaServer and createSignaling (the code the
// binary runs) behind plain ws:// on 127.0.0.1, with the test harness's in-memory meetings
// (tests/support/signaling-harness.ts) minting join tokens. Never part of the product.
//
//   bun run scripts/bench/sfu/conclave-harness-server.ts <media-bind-address> <tokens>
//
// Prints one JSON line {"origin", "wsUrl", "tokens": [...]} once listening, then serves until killed.

import { MediaServer } from "../../../src/media/media-server.ts";
import { systemClock } from "../../../src/shared/clock.ts";
import { createLogger } from "../../../src/shared/logger.ts";
import { createSignaling, SIGNALING_PATH, type Signaling, type SocketData } from "../../../src/signaling/server.ts";
import { createFakeMeetings } from "../../../tests/support/signaling-harness.ts";

const [bindAddress = "127.0.0.1", count = "200"] = process.argv.slice(2);
const meetings = createFakeMeetings();
const log = createLogger({ level: "error", pretty: true });
let signaling: Signaling | null = null;
const media = new MediaServer({ port: 40000 + Math.floor(Math.random() * 20000), bindAddress, clock: systemClock, onSpeaker: (g, s) => signaling?.setSpeaker(g, s) });
signaling = createSignaling({ meetings, media, log, statsIntervalMs: 15_000 });
const sig = signaling;
const server = Bun.serve<SocketData>({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req, srv) {
    if (new URL(req.url).pathname === SIGNALING_PATH) return sig.upgrade(req, srv);
    return new Response("not found", { status: 404 });
  },
  websocket: sig.websocket,
});
const tokens = Array.from({ length: Number(count) }, (_, i) => meetings.token("bench", `participant ${i}`));
console.log(JSON.stringify({ origin: `http://127.0.0.1:${server.port}`, wsUrl: `ws://127.0.0.1:${server.port}${SIGNALING_PATH}`, tokens }));
for (const s of ["SIGTERM", "SIGINT"] as const) {
  process.once(s, () => {
    sig.close();
    media.close();
    void server.stop(true);
    process.exit(0);
  });
}
