import { afterAll, describe, expect, test } from "bun:test";
import nodeDataChannel from "node-datachannel";
import { systemClock } from "../shared/clock.ts";
import { MediaPeer, rewriteCandidate } from "./peer.ts";
import { parseRtcp } from "./rtcp.ts";
import { buildRtp, isRtcpPacket, parseRtp } from "./rtp.ts";
import { Router } from "./sfu.ts";

const { PeerConnection, Video, RtcpReceivingSession } = nodeDataChannel;
type Pc = InstanceType<typeof PeerConnection>;

const PUB_SSRC = 0x1111;
const DOWN_SSRC = 0x2222;
const cleanups: (() => void)[] = [];

afterAll(() => {
  for (const c of cleanups.reverse()) c();
  // No nodeDataChannel.cleanup(): bun test runs every file in one process, and a later file
  // making peer connections after cleanup() segfaults Bun.
});

/** A "browser-like" client: offers with full ICE gathering, as the browser client will. */
function client(name: string): Pc {
  const pc = new PeerConnection(name, { iceServers: [], bindAddress: "127.0.0.1" });
  cleanups.push(() => pc.close());
  return pc;
}

function offerOf(pc: Pc): Promise<string> {
  return new Promise((resolve) => {
    pc.onGatheringStateChange((s) => s === "complete" && resolve(pc.localDescription()!.sdp));
    pc.setLocalDescription();
  });
}

function until<T>(what: string, check: () => T | undefined, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const iv = setInterval(() => {
      const v = check();
      if (v !== undefined) {
        clearInterval(iv);
        resolve(v);
      } else if (Date.now() - started > ms) {
        clearInterval(iv);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

describe("rewriteCandidate", () => {
  test("swaps the address of host candidates only", () => {
    expect(rewriteCandidate("a=candidate:1 1 UDP 2122317823 10.0.0.5 40000 typ host", "203.0.113.7")).toBe(
      "a=candidate:1 1 UDP 2122317823 203.0.113.7 40000 typ host",
    );
    const srflx = "candidate:2 1 UDP 1686052607 198.51.100.1 40000 typ srflx raddr 10.0.0.5 rport 40000";
    expect(rewriteCandidate(srflx, "203.0.113.7")).toBe(srflx);
  });
});

describe("MediaPeer over loopback", () => {
  test("a publisher's RTP reaches a subscriber rewritten, and the subscriber's PLI reaches the publisher", async () => {
    const port = 41000 + Math.floor(Math.random() * 20000);
    const router = new Router({ clock: systemClock });
    const serverOpts = { sink: router, bindAddress: "127.0.0.1", port };
    const alice = new MediaPeer({ id: "alice", ...serverOpts });
    const bob = new MediaPeer({ id: "bob", ...serverOpts });
    cleanups.push(() => alice.close(), () => bob.close());

    // Publisher: sends H.264 on mid "0" with its own SSRC.
    const pub = client("pub");
    const pv = new Video("0", "SendOnly");
    pv.addH264Codec(102);
    pv.addSSRC(PUB_SSRC, "pub", "stream", "cam");
    const pubTrack = pub.addTrack(pv);
    const pubRtcp: Uint8Array[] = [];
    pubTrack.onMessage((m) => void pubRtcp.push(new Uint8Array(m)));
    const upHandle = alice.addRecvTrack({ mid: "0", kind: "video", payloadType: 102, codec: "H264" });
    pub.setRemoteDescription(await alice.applyOffer(await offerOf(pub)), "answer");
    expect(router.addUpTrack({ id: "alice/cam", peerId: "alice", kind: "video", ssrcs: [PUB_SSRC], clockRate: 90000, requestKeyframe: () => void upHandle.requestKeyframe() })).toBe("ok");

    // Subscriber: receives on mid "0"; the server answers with its own SSRC for the down-track.
    const sub = client("sub");
    const sv = new Video("0", "RecvOnly");
    sv.addH264Codec(102);
    const subTrack = sub.addTrack(sv);
    subTrack.setMediaHandler(new RtcpReceivingSession()); // as a browser would send receiver feedback
    const received: Uint8Array[] = [];
    subTrack.onMessage((m) => void received.push(new Uint8Array(m)));
    const downHandle = bob.addSendTrack({ mid: "0", kind: "video", payloadType: 102, codec: "H264", ssrc: DOWN_SSRC, cname: "conclave", msid: "alice" });
    const answer = await bob.applyOffer(await offerOf(sub));
    expect(answer).toContain(`a=ssrc:${DOWN_SSRC}`);
    sub.setRemoteDescription(answer, "answer");
    expect(router.subscribe({ id: "bob/alice/cam", peerId: "bob", ssrc: DOWN_SSRC, send: (p) => void downHandle.send(p) }, "alice/cam")).toBe("ok");

    // Publisher sends until the subscriber has media (bounded).
    let seq = 100;
    const payload = Uint8Array.of(0x65, 0x88, 0x84, 0x00, 1, 2, 3);
    const firstRtp = await until("forwarded RTP", () => {
      if (pubTrack.isOpen()) pubTrack.sendMessageBinary(Buffer.from(buildRtp({ ssrc: PUB_SSRC, sequence: seq++, timestamp: seq * 3000, payloadType: 102, marker: true, payload })));
      return received.find((p) => !isRtcpPacket(p));
    });
    const h = parseRtp(firstRtp)!;
    expect(h.ssrc).toBe(DOWN_SSRC);
    expect([...firstRtp.subarray(h.payloadStart, h.payloadEnd)]).toEqual([...payload]);
    expect(router.stats.spoofed).toBe(0);

    // The subscriber asks for a keyframe; the router relays it to the publisher as a PLI for its SSRC.
    const pli = await until("PLI at the publisher", () => {
      if (subTrack.isOpen()) subTrack.requestKeyframe();
      return pubRtcp.flatMap((p) => parseRtcp(p) ?? []).find((p) => p.kind === "pli" && p.mediaSsrc === PUB_SSRC);
    });
    expect(pli).toMatchObject({ kind: "pli", mediaSsrc: PUB_SSRC });
  }, 15000);
});
