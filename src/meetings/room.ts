/**
 * The live room: one running meeting's participants, waiting room and host state, as a pure
 * in-memory state machine driven by a clock. Every change returns the RoomEffects the
 * signalling layer must carry out; nothing here does I/O.
 */
import { newId, randomToken } from "../shared/ids.ts";
import type { EndReason, MeetingInfo, ParticipantInfo, Role, WaitingInfo } from "../shared/signaling.ts";
import type { ActionResult, HostAction, JoinGrant, JoinVerdict, RoomEffect } from "./live-types.ts";
import { admissionOf, MESSAGES } from "./room-policy.ts";
import type { Room, RoomOptions } from "./room-types.ts";

export type { Room, RoomOptions } from "./room-types.ts";

/** RESUME_WINDOW_MS is how long a dropped seat can be taken back with its resume secret. */
export const RESUME_WINDOW_MS = 60_000;

type Source = "mic" | "camera" | "screen";
const SOURCES: readonly Source[] = ["mic", "camera", "screen"];

interface Seat {
  id: string;
  grant: JoinGrant;
  identity: string;
  name: string;
  role: Role;
  state: "waiting" | "joined" | "disconnected";
  waitingReason: "waiting_room" | "host_absent";
  since: number;
  mic: boolean;
  camera: boolean;
  screen: boolean;
  hand: boolean;
  /** muted by a host (or on entry): mic not forwarded until the participant unmutes */
  hostMuted: boolean;
  /** camera stopped by a host: not forwarded until the participant turns it on again */
  videoStopped: boolean;
  resume: string;
  disconnectedAt: number | null;
}

/** identityOf names who a grant is, for removal and one-seat-per-person. */
function identityOf(g: JoinGrant): string {
  return g.identity ?? (g.userId ? `user:${g.userId}` : `grant:${randomToken(12)}`);
}

/** createRoom builds an empty live room for a meeting. */
export function createRoom(o: RoomOptions): Room {
  const seats = new Map<string, Seat>();
  const removed = o.removed ?? new Set<string>();
  let policy = o.policy;
  let topic = o.topic;
  let locked = false;
  let ended = false;

  const admitted = (s: Seat) => s.state !== "waiting";
  const isHostRole = (s: Seat) => s.role === "host" || s.role === "cohost";
  const hostPresent = () => [...seats.values()].some((s) => admitted(s) && isHostRole(s));
  const info = (s: Seat): ParticipantInfo => ({ id: s.id, name: s.name, role: s.role, internal: s.grant.internal, mic: s.mic, camera: s.camera, screen: s.screen, hand: s.hand });
  const waitingList = (): WaitingInfo[] =>
    [...seats.values()].filter((s) => s.state === "waiting").map((s) => ({ id: s.id, name: s.name, internal: s.grant.internal, since: s.since }));
  const meetingInfo = (): MeetingInfo => ({ topic, locked, screenShare: policy.screenShare, muteOnEntry: policy.muteOnEntry });
  const canShare = (s: Seat) => admitted(s) && (policy.screenShare === "all" || isHostRole(s));
  const forwarding = (s: Seat, src: Source): boolean => {
    if (ended || s.state !== "joined") return false;
    if (src === "mic") return s.mic && !s.hostMuted;
    if (src === "camera") return s.camera && !s.videoStopped;
    return s.screen && canShare(s);
  };
  /** track runs a change and reports every forwarding flip it caused, for every admitted seat. */
  const track = (fx: RoomEffect[], change: () => void): void => {
    const before = new Map<string, boolean[]>();
    for (const s of seats.values()) before.set(s.id, SOURCES.map((src) => forwarding(s, src)));
    change();
    for (const s of seats.values()) {
      const was = before.get(s.id);
      if (!was) continue;
      SOURCES.forEach((src, i) => {
        const now = forwarding(s, src);
        if (now !== was[i] && (s.state === "joined" || !now)) fx.push({ kind: "forward", participantId: s.id, source: src, on: now });
      });
    }
  };
  const waitingUpdated = (fx: RoomEffect[]) => fx.push({ kind: "waiting.updated", target: { to: "hosts" }, waiting: waitingList() });

  const admit = (s: Seat, fx: RoomEffect[]): void => {
    s.state = "joined";
    s.since = o.clock.now();
    if (policy.muteOnEntry && !isHostRole(s)) s.hostMuted = true;
    fx.push({ kind: "admitted", participantId: s.id, resume: s.resume });
    fx.push({ kind: "participant.joined", target: { to: "all", except: s.id }, participant: info(s) });
  };

  const drop = (s: Seat, fx: RoomEffect[], reason: EndReason | null, message: string): void => {
    const wasWaiting = s.state === "waiting";
    track(fx, () => seats.delete(s.id));
    if (reason) fx.push({ kind: "ended", participantId: s.id, reason, message });
    if (wasWaiting) waitingUpdated(fx);
    else fx.push({ kind: "participant.left", target: { to: "all", except: s.id }, participantId: s.id });
  };

  /** recheck moves everyone waiting to where the current policy and host presence put them. */
  const recheck = (fx: RoomEffect[]): void => {
    let changed = false;
    for (const s of [...seats.values()]) {
      if (s.state !== "waiting") continue;
      const a = admissionOf(policy, { ...s.grant, host: false }, hostPresent());
      if (a.to === "refused") {
        seats.delete(s.id);
        fx.push({ kind: "ended", participantId: s.id, reason: a.reason, message: a.message });
        changed = true;
      } else if (a.to === "in") {
        track(fx, () => admit(s, fx));
        changed = true;
      } else if (a.reason !== s.waitingReason) {
        s.waitingReason = a.reason;
        changed = true;
      }
    }
    if (changed) waitingUpdated(fx);
  };

  const expire = (): RoomEffect[] => {
    const fx: RoomEffect[] = [];
    const now = o.clock.now();
    for (const s of [...seats.values()]) {
      if (s.state === "disconnected" && s.disconnectedAt !== null && now - s.disconnectedAt >= RESUME_WINDOW_MS) drop(s, fx, null, "");
    }
    return fx;
  };

  const refused = (reason: EndReason, message: string): JoinVerdict => ({ outcome: "refused", reason, message });

  const room: Room = {
    meetingId: o.meetingId,
    accountId: o.accountId,
    get ended() {
      return ended;
    },
    get empty() {
      return seats.size === 0;
    },
    get policy() {
      return policy;
    },

    join(grant) {
      if (ended) return refused("ended", MESSAGES.ended);
      const gate = o.gate?.();
      if (gate && !gate.ok) return refused("keys_unavailable", gate.message);
      if (grant.meetingId !== o.meetingId || grant.accountId !== o.accountId) return refused("denied", "This join token is for another meeting.");
      const identity = identityOf(grant);
      if (removed.has(identity)) return refused("removed", MESSAGES.removed);
      const admission = admissionOf(policy, grant, hostPresent());
      if (admission.to === "refused") return refused(admission.reason, admission.message);
      if (locked && !grant.host) return refused("locked", MESSAGES.locked);
      // Refusals above return no effects, so expired seats are dropped only once the joiner is in.
      const fx = expire();
      // One seat per person: the same identity joining again replaces the older seat.
      for (const s of [...seats.values()]) if (s.identity === identity) drop(s, fx, "replaced", MESSAGES.replaced);
      const now = o.clock.now();
      const seat: Seat = {
        id: newId(), grant, identity, name: grant.displayName, role: grant.host ? "host" : "participant", state: "waiting", waitingReason: "waiting_room",
        since: now, mic: false, camera: false, screen: false, hand: false, hostMuted: false, videoStopped: false, resume: randomToken(24), disconnectedAt: null,
      };
      seats.set(seat.id, seat);
      if (admission.to === "waiting") {
        seat.waitingReason = admission.reason;
        waitingUpdated(fx);
        return { outcome: "waiting", participantId: seat.id, reason: admission.reason, effects: fx };
      }
      track(fx, () => {
        seat.state = "joined";
        if (policy.muteOnEntry && !grant.host) seat.hostMuted = true;
      });
      fx.push({ kind: "participant.joined", target: { to: "all", except: seat.id }, participant: info(seat) });
      if (grant.host) recheck(fx);
      return { outcome: "joined", participantId: seat.id, resume: seat.resume, effects: fx };
    },

    resume(secret) {
      if (ended) return refused("ended", MESSAGES.ended);
      const s = secret ? [...seats.values()].find((x) => admitted(x) && x.resume === secret) : undefined;
      const lapsed = s?.disconnectedAt != null && o.clock.now() - s.disconnectedAt >= RESUME_WINDOW_MS;
      if (!s || lapsed) return refused("left", "This seat is no longer held: join the meeting again.");
      const gate = o.gate?.();
      if (gate && !gate.ok) return refused("keys_unavailable", gate.message);
      const fx = expire();
      track(fx, () => {
        s.state = "joined";
        s.disconnectedAt = null;
        s.resume = randomToken(24);
      });
      if (isHostRole(s)) recheck(fx);
      return { outcome: "joined", participantId: s.id, resume: s.resume, effects: fx };
    },

    disconnected(id) {
      const fx = expire();
      const s = seats.get(id);
      if (!s) return fx;
      if (s.state === "waiting") {
        drop(s, fx, null, "");
        return fx;
      }
      track(fx, () => {
        s.state = "disconnected";
        s.disconnectedAt = o.clock.now();
        s.screen = false;
      });
      return fx;
    },

    leave(id) {
      const fx = expire();
      const s = seats.get(id);
      if (s) drop(s, fx, "left", MESSAGES.left);
      return fx;
    },

    setMediaState(id, st) {
      const fx = expire();
      const s = seats.get(id);
      if (!s || !admitted(s)) return fx;
      track(fx, () => {
        if (st.mic && !s.mic) s.hostMuted = false;
        if (st.camera && !s.camera) s.videoStopped = false;
        s.mic = st.mic;
        s.camera = st.camera;
        s.screen = st.screen && canShare(s);
      });
      fx.push({ kind: "participant.updated", target: { to: "all" }, participant: info(s) });
      return fx;
    },

    setHand(id, raised) {
      const s = seats.get(id);
      if (!s || !admitted(s) || s.hand === raised) return [];
      s.hand = raised;
      return [{ kind: "participant.updated", target: { to: "all" }, participant: info(s) }];
    },

    canShareScreen(id) {
      const s = seats.get(id);
      return !!s && !ended && canShare(s);
    },

    act(actorId, action) {
      return act(actorId, action);
    },

    info: meetingInfo,
    participant(id) {
      const s = seats.get(id);
      return s ? info(s) : null;
    },
    participants: () => [...seats.values()].filter(admitted).map(info),
    waiting: waitingList,
    forwarding(id, src) {
      const s = seats.get(id);
      return !!s && forwarding(s, src);
    },

    update(change) {
      const fx = expire();
      if (ended) return fx;
      const before = JSON.stringify(meetingInfo());
      track(fx, () => {
        if (change.topic !== undefined) topic = change.topic;
        if (change.policy) policy = change.policy;
        for (const s of seats.values()) if (!canShare(s)) s.screen = false;
      });
      const stopped = fx.filter((f) => f.kind === "forward" && f.source === "screen" && !f.on).map((f) => (f as { participantId: string }).participantId);
      for (const id of stopped) {
        const s = seats.get(id);
        if (s) fx.push({ kind: "participant.updated", target: { to: "all" }, participant: info(s) });
      }
      if (JSON.stringify(meetingInfo()) !== before) fx.push({ kind: "meeting.updated", target: { to: "all" }, meeting: meetingInfo() });
      recheck(fx);
      return fx;
    },

    expire,
    nextExpiry() {
      const times = [...seats.values()].filter((s) => s.disconnectedAt !== null).map((s) => s.disconnectedAt! + RESUME_WINDOW_MS);
      return times.length ? Math.min(...times) : null;
    },

    endAll(reason, message) {
      if (ended) return [];
      const fx: RoomEffect[] = [];
      track(fx, () => {
        ended = true;
      });
      for (const s of seats.values()) fx.push({ kind: "ended", participantId: s.id, reason, message });
      seats.clear();
      return fx;
    },

    holdsResume(secret) {
      return !!secret && [...seats.values()].some((s) => admitted(s) && s.resume === secret);
    },

    seatGrant(id) {
      return seats.get(id)?.grant ?? null;
    },
  };

  function act(actorId: string, action: HostAction): ActionResult {
    const no = (message: string): ActionResult => ({ ok: false, code: "not_allowed", message });
    const missing: ActionResult = { ok: false, code: "no_such_participant", message: "That participant is no longer in the meeting." };
    const actor = seats.get(actorId);
    if (ended) return no("The meeting has ended.");
    if (!actor || actor.state !== "joined" || !isHostRole(actor)) return no("Only the host and co-hosts can do that.");
    // No lazy expiry here: a refused action returns no effects (the service's timer expires seats).
    const fx: RoomEffect[] = [];
    const target = "participantId" in action ? seats.get(action.participantId) : undefined;
    const by = actor.name;
    const protectHost = (t: Seat) => t.role === "host" && actor.role !== "host";
    switch (action.type) {
      case "admit":
      case "deny": {
        if (!target || target.state !== "waiting") return missing;
        if (action.type === "deny") {
          drop(target, fx, "denied", MESSAGES.denied);
          return { ok: true, effects: fx };
        }
        track(fx, () => admit(target, fx));
        waitingUpdated(fx);
        return { ok: true, effects: fx };
      }
      case "admitAll": {
        const waiting = [...seats.values()].filter((s) => s.state === "waiting");
        if (waiting.length === 0) return { ok: true, effects: fx };
        track(fx, () => waiting.forEach((s) => admit(s, fx)));
        waitingUpdated(fx);
        return { ok: true, effects: fx };
      }
      case "mute":
      case "stopVideo": {
        if (!target || !admitted(target)) return missing;
        if (protectHost(target)) return no("Co-hosts cannot mute or stop the host's video.");
        track(fx, () => {
          if (action.type === "mute") {
            target.hostMuted = true;
            target.mic = false;
          } else {
            target.videoStopped = true;
            target.camera = false;
          }
        });
        fx.push(action.type === "mute" ? { kind: "muted", participantId: target.id, by } : { kind: "video.stopped", participantId: target.id, by });
        fx.push({ kind: "participant.updated", target: { to: "all" }, participant: info(target) });
        return { ok: true, effects: fx };
      }
      case "muteAll": {
        const targets = [...seats.values()].filter((s) => admitted(s) && !isHostRole(s) && s.id !== actor.id);
        track(fx, () => targets.forEach((t) => ((t.hostMuted = true), (t.mic = false))));
        for (const t of targets) {
          fx.push({ kind: "muted", participantId: t.id, by });
          fx.push({ kind: "participant.updated", target: { to: "all" }, participant: info(t) });
        }
        return { ok: true, effects: fx };
      }
      case "remove": {
        if (!target) return missing;
        if (target.id === actor.id) return no("Use Leave to leave the meeting yourself.");
        if (target.role === "host" || (target.role === "cohost" && actor.role !== "host")) return no("Only the host can remove a co-host, and nobody can remove the host.");
        removed.add(target.identity);
        drop(target, fx, "removed", MESSAGES.removed);
        return { ok: true, effects: fx };
      }
      case "lock": {
        if (locked !== action.locked) {
          locked = action.locked;
          fx.push({ kind: "meeting.updated", target: { to: "all" }, meeting: meetingInfo() });
        }
        return { ok: true, effects: fx };
      }
      case "cohost": {
        if (actor.role !== "host") return no("Only the host can make or unmake co-hosts.");
        if (!target || !admitted(target)) return missing;
        if (target.role === "host") return no("The host is already in charge.");
        const role: Role = action.cohost ? "cohost" : "participant";
        if (target.role === role) return { ok: true, effects: fx };
        track(fx, () => {
          target.role = role;
          if (!canShare(target)) target.screen = false;
        });
        fx.push({ kind: "participant.updated", target: { to: "all" }, participant: info(target) });
        if (action.cohost) fx.push({ kind: "waiting.updated", target: { to: "participant", id: target.id }, waiting: waitingList() });
        return { ok: true, effects: fx };
      }
      case "end": {
        if (actor.role !== "host") return no("Only the host can end the meeting for everyone.");
        return { ok: true, effects: [...fx, ...room.endAll("ended", MESSAGES.endedByHost)] };
      }
    }
  }

  return room;
}
