// An in-process signalling + media server for tests and benchmarks: Bun.serve (plain ws on
// 127.0.0.1) routing /ws/meeting to createSignaling, a real MediaServer on a UDP port, and a
// small MeetingsLive over the real live room (src/meetings/room.ts) with join tokens minted here.

import type { Server } from "bun";
import { createRoom, type Room } from "../../src/meetings/room.ts";
import { DEFAULT_POLICY, type RoomPolicy } from "../../src/meetings/room-policy.ts";
import type { ActionResult, JoinGrant, JoinVerdict, MeetingsLive, RoomEffect } from "../../src/meetings/live-types.ts";
import { MediaServer } from "../../src/media/media-server.ts";
import { systemClock } from "../../src/shared/clock.ts";
import { createLogger, type Logger } from "../../src/shared/logger.ts";
import { createSignaling, SIGNALING_PATH, type Signaling, type SignalingOptions, type SocketData } from "../../src/signaling/server.ts";

/** FakeMeetings is a MeetingsLive whose rooms are real live rooms and whose tokens are minted by tests. */
export interface FakeMeetings extends MeetingsLive {
  rooms: Map<string, Room>;
  /** token mints a single-use join token for a meeting (created with the policy on first use). */
  token(meetingId: string, name: string, over?: Partial<JoinGrant>): string;
  policy(meetingId: string, policy: Partial<RoomPolicy>): void;
  chats: { meetingId: string; participantId: string; text: string }[];
  stats: MeetingsLive["stats"] & { calls: { meetingId: string; participantId: string; summary: Record<string, number> }[] };
  /** emit delivers effects to subscribers, as the meetings module does outside calls. */
  emit(meetingId: string, effects: RoomEffect[]): void;
}

/** createFakeMeetings builds the fake. */
export function createFakeMeetings(): FakeMeetings {
  const rooms = new Map<string, Room>();
  const policies = new Map<string, RoomPolicy>();
  const tokens = new Map<string, JoinGrant>();
  const secrets = new Map<string, string>();
  const chats: FakeMeetings["chats"] = [];
  const calls: FakeMeetings["stats"]["calls"] = [];
  let n = 0;
  const listeners = new Set<(meetingId: string, effects: RoomEffect[]) => void>();
  const roomOf = (meetingId: string): Room => {
    let r = rooms.get(meetingId);
    if (!r || r.ended) {
      const real = createRoom({ meetingId, accountId: "acct", topic: `Meeting ${meetingId}`, policy: policies.get(meetingId) ?? { ...DEFAULT_POLICY, waitingRoom: false, joinBeforeHost: true, screenShare: "all" }, clock: systemClock });
      // Remember the resume secrets the room hands out, to find the room again by secret.
      const record = <T extends JoinVerdict | ActionResult>(v: T): T => {
        if ("outcome" in v && v.outcome === "joined") secrets.set(v.resume, meetingId);
        for (const e of "effects" in v ? v.effects : []) if (e.kind === "admitted" && e.resume) secrets.set(e.resume, meetingId);
        return v;
      };
      const wrapped: Room = Object.create(real);
      wrapped.join = (g) => record(real.join(g));
      wrapped.resume = (sec) => record(real.resume(sec));
      wrapped.act = (a, action) => record(real.act(a, action));
      r = wrapped;
      rooms.set(meetingId, r);
    }
    return r;
  };
  const stats = Object.assign((meetingId: string, participantId: string, summary: Record<string, number>) => void calls.push({ meetingId, participantId, summary }), { calls });
  return {
    rooms,
    chats,
    stats,
    token(meetingId, name, over = {}) {
      const t = `tok-${++n}-${Math.random().toString(36).slice(2)}`;
      tokens.set(t, { meetingId, accountId: "acct", displayName: name, userId: null, internal: false, host: false, ip: "127.0.0.1", device: "test", identity: `guest:${name}-${n}`, domain: null, ...over });
      return t;
    },
    policy(meetingId, policy) {
      policies.set(meetingId, { ...DEFAULT_POLICY, waitingRoom: false, joinBeforeHost: true, screenShare: "all", ...policy });
    },
    async verifyJoinToken(token) {
      const g = tokens.get(token) ?? null;
      tokens.delete(token);
      return g;
    },
    room: roomOf,
    roomByResume(secret) {
      const id = secrets.get(secret);
      return id ? (rooms.get(id) ?? null) : null;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit(meetingId, effects) {
      for (const l of listeners) l(meetingId, effects);
    },
    async chat(meetingId, participantId, text) {
      chats.push({ meetingId, participantId, text });
      return { id: `c${chats.length}`, at: Date.now() };
    },
  };
}

/** Harness is a running signalling server. */
export interface Harness {
  url: string;
  origin: string;
  meetings: FakeMeetings;
  media: MediaServer;
  signaling: Signaling;
  server: Server<SocketData>;
  stop(): void;
}

/** startHarness starts the server on free ports (UDP port chosen at random in 40000–59999). */
export function startHarness(opts: { limits?: SignalingOptions["limits"]; log?: Logger; meetings?: MeetingsLive } = {}): Harness {
  const meetings = createFakeMeetings();
  const log = opts.log ?? createLogger({ level: "error", pretty: true });
  let signaling: Signaling | null = null;
  const media = new MediaServer({ port: 40000 + Math.floor(Math.random() * 20000), bindAddress: "127.0.0.1", clock: systemClock, onSpeaker: (g, s) => signaling?.setSpeaker(g, s), speakerIntervalMs: 200 });
  signaling = createSignaling({ meetings: opts.meetings ?? meetings, media, log, limits: opts.limits, statsIntervalMs: 0 });
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
  const origin = `http://127.0.0.1:${server.port}`;
  return {
    url: `ws://127.0.0.1:${server.port}${SIGNALING_PATH}`,
    origin,
    meetings,
    media,
    signaling: sig,
    server,
    stop() {
      sig.close();
      media.close();
      void server.stop(true);
    },
  };
}
