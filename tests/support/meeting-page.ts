// Helpers for driving the browser meeting client (src/client) in end-to-end tests: a hook that
// records every RTCPeerConnection, per-participant receive statistics read through getStats,
// and the Join-to-first-frame timing the client marks with performance.mark().

import type { BrowserContext, Page } from "playwright-core";

/** installMeetingHooks records peer connections and accepts confirm() dialogs in every page of a context. */
export async function installMeetingHooks(ctx: BrowserContext): Promise<void> {
  await ctx.addInitScript(() => {
    const w = window as unknown as { __pcs: RTCPeerConnection[]; RTCPeerConnection: typeof RTCPeerConnection };
    w.__pcs = [];
    const Original = w.RTCPeerConnection;
    w.RTCPeerConnection = class extends Original {
      constructor(config?: RTCConfiguration) {
        super(config);
        w.__pcs.push(this);
      }
    } as typeof RTCPeerConnection;
  });
}

/** Received is what one page receives from each other participant, keyed by participant id. */
export type Received = Record<string, { videoFrames: number; audioPackets: number; screenFrames: number }>;

/** received reads, for every remote tile and audio sink on the page, the inbound-rtp counters of its track. */
export function received(page: Page): Promise<Received> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter((pc) => pc.connectionState !== "closed");
    const inbound = new Map<string, { framesDecoded?: number; packetsReceived?: number }>();
    for (const pc of pcs) {
      const report = await pc.getStats();
      report.forEach((r: { type: string; trackIdentifier?: string; framesDecoded?: number; packetsReceived?: number }) => {
        if (r.type === "inbound-rtp" && r.trackIdentifier) inbound.set(r.trackIdentifier, r);
      });
    }
    const out: Record<string, { videoFrames: number; audioPackets: number; screenFrames: number }> = {};
    const entry = (id: string) => (out[id] ??= { videoFrames: 0, audioPackets: 0, screenFrames: 0 });
    for (const tile of Array.from(document.querySelectorAll<HTMLElement>('.tile[data-remote="true"]'))) {
      const id = tile.dataset.participantId;
      const track = (tile.querySelector("video")?.srcObject as MediaStream | null)?.getVideoTracks()[0];
      if (!id || !track) continue;
      const frames = inbound.get(track.id)?.framesDecoded ?? 0;
      if (tile.classList.contains("screen")) entry(id).screenFrames = frames;
      else entry(id).videoFrames = frames;
    }
    for (const a of Array.from(document.querySelectorAll<HTMLAudioElement>(".audio-sinks audio"))) {
      const id = a.dataset.participantId;
      const track = (a.srcObject as MediaStream | null)?.getAudioTracks()[0];
      if (id && track) entry(id).audioPackets = inbound.get(track.id)?.packetsReceived ?? 0;
    }
    return out;
  });
}

/** selfId is the participant id the server gave this page (from its own tile). */
export async function selfId(page: Page): Promise<string> {
  const id = await page.locator('.tile[data-tile="self:camera"]').getAttribute("data-participant-id");
  if (!id) throw new Error("the page shows no own tile with a participant id");
  return id;
}

/** JoinTiming is the client's own measurement of one join (ms). */
export interface JoinTiming {
  joinToFirstFrame: number | null;
  admittedToFirstFrame: number | null;
}

/** joinTiming reads the performance marks the client sets (Join click, admitted, first remote frame). */
export function joinTiming(page: Page): Promise<JoinTiming> {
  return page.evaluate(() => {
    const t = (name: string): number | null => performance.getEntriesByName(name, "mark")[0]?.startTime ?? null;
    const click = t("conclave:join-click");
    const admitted = t("conclave:admitted");
    const frame = t("conclave:first-remote-frame");
    return {
      joinToFirstFrame: click !== null && frame !== null ? Math.round(frame - click) : null,
      admittedToFirstFrame: admitted !== null && frame !== null ? Math.round(frame - admitted) : null,
    };
  });
}

/** eventually polls `check` until it returns a truthy value; on timeout it fails with `what` and the last value seen. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** waitForPreview waits until the pre-join camera preview shows frames (so Join measures joining, not camera start-up). */
export async function waitForPreview(page: Page, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const v = document.querySelector("video.preview") as HTMLVideoElement | null;
      return v !== null && v.srcObject !== null && v.readyState >= 2;
    },
    null,
    { timeout: timeoutMs },
  );
}

/** diagnose summarises a page's peer connections and tiles, for failure messages. */
export function diagnose(page: Page): Promise<string> {
  return page
    .evaluate(async () => {
      const lines: string[] = [];
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        if (pc.connectionState === "closed") continue;
        const parts: string[] = [];
        (await pc.getStats()).forEach((r: { type: string; kind?: string; mid?: string; packetsSent?: number; framesEncoded?: number; packetsReceived?: number; framesDecoded?: number; trackIdentifier?: string; pliCount?: number }) => {
          if (r.type === "outbound-rtp") parts.push(`out ${r.kind} mid=${r.mid} sent=${r.packetsSent} enc=${r.framesEncoded ?? "-"} pli=${r.pliCount ?? "-"}`);
          if (r.type === "inbound-rtp") parts.push(`in ${r.kind} mid=${r.mid} track=${r.trackIdentifier} recv=${r.packetsReceived} dec=${r.framesDecoded ?? "-"} pli=${r.pliCount ?? "-"}`);
        });
        lines.push(`pc ${pc.connectionState} [${pc.getTransceivers().map((t) => `${t.mid}:${t.currentDirection}`).join(" ")}] ${parts.join("; ")}`);
      }
      const tiles = Array.from(document.querySelectorAll<HTMLElement>(".tile")).map((t) => `${t.dataset.tile}→${((t.querySelector("video")?.srcObject as MediaStream | null)?.getVideoTracks()[0]?.id ?? "none")}`);
      return `${lines.join("\n")}\ntiles: ${tiles.join(", ")}`;
    })
    .catch((e: unknown) => `(no diagnosis: ${(e as Error).message})`);
}

/** inboundVideoCodecs lists the codec (mimeType and fmtp) of every inbound video stream on the page. */
export function inboundVideoCodecs(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const out: string[] = [];
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      report.forEach((r: { type: string; kind?: string; codecId?: string }) => {
        if (r.type !== "inbound-rtp" || r.kind !== "video" || !r.codecId) return;
        const c = report.get(r.codecId) as { mimeType?: string; sdpFmtpLine?: string } | undefined;
        if (c?.mimeType) out.push(`${c.mimeType};${c.sdpFmtpLine ?? ""}`);
      });
    }
    return out;
  });
}
