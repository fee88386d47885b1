import { readFileSync } from "node:fs";
import { issueSetupToken, setupNeeded } from "../auth/setup-token.ts";
import { purgeSamlData } from "../auth/saml/response-log.ts";
import { purgeSessions } from "../auth/sessions.ts";
import type { Config } from "../config/schema.ts";
import { ensureTlsFiles } from "../crypto/tls-cert.ts";
import type { Logger } from "../shared/logger.ts";
import { mediaAnnouncedAddresses } from "../config/load.ts";
import { MediaServer } from "../media/media-server.ts";
import { systemClock } from "../shared/clock.ts";
import { createSignaling, SIGNALING_PATH, type Signaling, type SocketData } from "../signaling/server.ts";
import type { Root } from "./root.ts";

/** freePort asks the OS for an unused TCP port (for --https-port 0). */
function freePort(hostname: string): number {
  const l = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** freeUdpPort asks the OS for an unused UDP port (for --media-port 0). */
async function freeUdpPort(hostname: string): Promise<number> {
  const probe = await Bun.udpSocket({ hostname: hostname === "::" ? "0.0.0.0" : hostname, port: 0 });
  const port = probe.port;
  probe.close();
  return port;
}

/** redirectHandler answers plain HTTP with a permanent redirect to HTTPS. */
export function redirectHandler(httpsPort: number): (req: Request) => Response {
  return (req) => {
    const url = new URL(req.url);
    const host = (req.headers.get("host") ?? "localhost").replace(/:\d+$/, "");
    const safeHost = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(host) ? host : "localhost";
    const target = `https://${safeHost}${httpsPort === 443 ? "" : `:${httpsPort}`}${url.pathname}${url.search}`;
    return new Response(null, { status: 308, headers: { Location: target, "Cache-Control": "no-store" } });
  };
}

/** serve starts the HTTPS server (and the HTTP redirect), prints the setup URL on first run, and runs until a signal. */
export async function serve(root: Root, config: Config, log: Logger): Promise<number> {
  const bind = config.server.bind;
  const httpsPort = config.server.https_port === 0 ? freePort(bind) : config.server.https_port;
  const baseUrl = root.baseUrlOf(config, httpsPort);
  const started = performance.now();
  const conclave = await root.assemble(config, log, {}, baseUrl);

  let cert: string;
  let key: string;
  if (config.tls.cert_file) {
    cert = readFileSync(config.tls.cert_file, "utf8");
    key = readFileSync(config.tls.key_file, "utf8");
  } else {
    const tls = ensureTlsFiles(conclave.paths.dataDir, { commonName: "Conclave", days: 825, ...root.defaultTlsNames(config) });
    if (tls.created) log.info("generated a self-signed TLS certificate (ECDSA P-256)", { path: tls.certPath });
    if (tls.notAfter.getTime() - Date.now() < 30 * 86_400_000) log.warn("the TLS certificate expires soon; delete tls/cert.pem and tls/key.pem to generate a new one", { notAfter: tls.notAfter.toISOString() });
    cert = readFileSync(tls.certPath, "utf8");
    key = readFileSync(tls.keyPath, "utf8");
  }

  // Meetings: the SFU on one UDP port and the signalling WebSocket beside the pages.
  const mediaBind = config.media.bind || bind;
  const mediaPort = config.media.udp_port === 0 ? await freeUdpPort(mediaBind) : config.media.udp_port;
  let signaling: Signaling | null = null;
  const media = new MediaServer({
    port: mediaPort,
    bindAddress: mediaBind === "::" ? "0.0.0.0" : mediaBind,
    announcedAddresses: mediaAnnouncedAddresses(config),
    clock: systemClock,
    onSpeaker: (group, session) => signaling?.setSpeaker(group, session),
  });
  signaling = createSignaling({ meetings: conclave.meetings.live, media, log, allowedOrigins: [baseUrl] });
  const sig = signaling;

  const server = Bun.serve<SocketData, never>({
    hostname: bind,
    port: httpsPort,
    tls: { cert, key },
    fetch: (req, srv) => (new URL(req.url).pathname === SIGNALING_PATH ? sig.upgrade(req, srv) : conclave.app.fetch(req, srv)),
    websocket: sig.websocket,
  });
  const redirect = config.server.http_port ? Bun.serve({ hostname: bind, port: config.server.http_port, fetch: redirectHandler(httpsPort) }) : null;
  log.info("listening", { https: `${bind}:${server.port}`, media: `udp ${mediaBind}:${mediaPort}`, http: redirect ? `${bind}:${redirect.port} (redirects to HTTPS)` : "off", dataDir: conclave.paths.dataDir, startMs: Math.round(performance.now() - started) });

  conclave.cmk.start(); // customer-managed keys: health probe, resumed key jobs, due deprovisioning

  if (setupNeeded(conclave.db)) {
    const token = issueSetupToken(conclave.db, conclave.auth.clock, conclave.audit, config.security.setup_token_minutes);
    log.info(`first run: open the one-time setup URL below within ${config.security.setup_token_minutes} minutes to create your organisation and its Owner`);
    // The URL goes on a line of its own, outside the structured log, so it is easy to copy.
    process.stdout.write(`${baseUrl}/setup?token=${token}\n`);
  }

  const purge = setInterval(() => {
    purgeSessions(conclave.auth);
    purgeSamlData(conclave.saml);
  }, 10 * 60_000);
  purge.unref();

  return await new Promise<number>((done) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      clearInterval(purge);
      sig.close();
      media.close();
      void server.stop();
      void redirect?.stop();
      conclave.close();
      done(0);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
