// Memory per participant: the SFU process's RSS as full participants (publishing audio + video
// and receiving everyone else) join in steps, with media flowing so packet caches fill; the
// slope of a least-squares line through the points is the cost of one more participant.

import type { SfuDriver } from "./measure.ts";
import { rssMb } from "./measure.ts";
import { PublisherPeer, SubscriberPeer, waitFor } from "./peers.ts";
import { Recorder, Traffic } from "./traffic.ts";
import type { AudioProfile, VideoProfile } from "./synthetic.ts";

/** RssPoint is the server's RSS with a number of participants in one meeting. */
export interface RssPoint {
  participants: number;
  rssMb: number;
}

/** slope is the least-squares slope of rss over participants (MB per participant), NaN for < 2 points. */
export function slope(points: readonly RssPoint[]): number {
  if (points.length < 2) return Number.NaN;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.participants, 0) / n;
  const my = points.reduce((s, p) => s + p.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.participants - mx) * (p.rssMb - my);
    den += (p.participants - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** measureMemory joins participants up to each step, lets media flow for settleMs, then reads the server's RSS. */
export async function measureMemory(driver: SfuDriver, steps: readonly number[], settleMs: number, video: VideoProfile, audio: AudioProfile, log: (m: string) => void): Promise<RssPoint[]> {
  const recorder = new Recorder();
  const traffic = new Traffic(video, audio);
  const peers: { pub: PublisherPeer; sub: SubscriberPeer }[] = [];
  const points: RssPoint[] = [];
  try {
    await Bun.sleep(settleMs);
    traffic.start();
    for (const target of steps) {
      const batch: { pub: PublisherPeer; sub: SubscriberPeer }[] = [];
      while (peers.length + batch.length < target) {
        const i = peers.length + batch.length;
        batch.push({
          pub: new PublisherPeer(`m${i}`, { audioSsrc: 0x20000 + 2 * i, videoSsrc: 0x20001 + 2 * i, audioStream: 1000 + 2 * i, videoStream: 1001 + 2 * i }, driver.bindAddress),
          sub: new SubscriberPeer(`m${i}-sub`, recorder.sink, driver.bindAddress),
        });
      }
      if (batch.length) {
        await driver.addPublishers(batch);
        await waitFor("participants' DTLS", () => batch.every((b) => b.pub.ready()), 20_000);
        for (const b of batch) traffic.add(b.pub);
        peers.push(...batch);
      }
      await Bun.sleep(settleMs);
      const point = { participants: target, rssMb: rssMb(driver.pid) };
      log(`${driver.name}: ${target} participants: RSS ${point.rssMb.toFixed(1)} MB`);
      points.push(point);
    }
    return points;
  } finally {
    traffic.stop();
    for (const p of peers) {
      p.sub.close();
      p.pub.close();
    }
  }
}
