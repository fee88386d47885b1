/**
 * MeetingsLive for the signalling layer: join-token verification, one live room per running
 * meeting (created on first join), attendance records (join/leave times, IP, device, stats),
 * sealed chat, and the operation log for host actions and meeting start/end.
 */
import type { AuditActor } from "../audit/audit-log.ts";
import type { AccountsDeps } from "../accounts/deps.ts";
import type { Logger } from "../shared/logger.ts";
import { newId } from "../shared/ids.ts";
import type { EndReason } from "../shared/signaling.ts";
import type { MeetingsRepo } from "../storage/meetings-repo.ts";
import { settingsOfKey } from "./join.ts";
import type { JoinTokens } from "./join-tokens.ts";
import type { ActionResult, HostAction, JoinGrant, JoinVerdict, LiveRoom, MeetingsLive, RoomEffect } from "./live-types.ts";
import { policyOf } from "./meeting-settings.ts";
import { validateChat } from "./names.ts";
import { createRoom, type Room } from "./room.ts";
import { DEFAULT_POLICY } from "./room-policy.ts";

/** MeetingsGate may refuse meetings of an account (e.g. its customer-managed keys are unavailable). */
export type MeetingsGate = (accountId: string) => { ok: true } | { ok: false; message: string };

/** EffectListener receives effects that happen outside a signalling call (expiry, settings, forced end). */
export type EffectListener = (meetingId: string, effects: RoomEffect[]) => void;

/** LiveDeps is what the live side needs. */
export interface LiveDeps {
  accounts: AccountsDeps;
  repo: MeetingsRepo;
  tokens: JoinTokens;
  log: Logger;
  meetingsAllowed?: MeetingsGate;
}

/** MeetingsLiveService is MeetingsLive plus what the rest of the server drives. */
export interface MeetingsLiveService extends MeetingsLive {
  /**
   * subscribe delivers effects nobody asked for in a call: seats dropped after the resume
   * window, settings edited on the meeting page, meetings ended by the server or deleted.
   * The signalling layer must carry them out like the effects it gets from calls.
   */
  subscribe(listener: EffectListener): () => void;
  /** issueJoinToken signs a grant (the join page). */
  issueJoinToken(grant: JoinGrant): Promise<string>;
  /** refresh re-reads a meeting's topic and settings into its live room (re-checking everyone waiting). */
  refresh(accountId: string, meetingId: string): Promise<void>;
  /** endMeeting ends one live meeting for everyone. */
  endMeeting(accountId: string, meetingId: string, reason: EndReason, message: string): boolean;
  /** endAccountMeetings ends every live meeting of an account (keys unavailable...); returns how many. */
  endAccountMeetings(accountId: string, reason: EndReason, message: string): number;
  /** setGate installs the check run when a room starts or someone joins. */
  setGate(gate: MeetingsGate | undefined): void;
  /** refreshPolicies re-reads every running meeting's settings (admin changes); runs every 15 s. */
  refreshPolicies(): void;
  /** sweep drops seats whose resume window passed (also runs on a timer). */
  sweep(): void;
  /** liveMeetingIds lists running rooms (optionally of one account). */
  liveMeetingIds(accountId?: string): string[];
  /** settled resolves when queued attendance writes are done (tests). */
  settled(): Promise<void>;
  close(): void;
}

const SYSTEM = (accountId: string): AuditActor => ({ accountId, userId: null, label: "Conclave" });

const ACTION_NAMES: Record<HostAction["type"], string> = {
  admit: "meeting.admit", deny: "meeting.deny", admitAll: "meeting.admit_all", mute: "meeting.mute", muteAll: "meeting.mute_all",
  stopVideo: "meeting.stop_video", remove: "meeting.remove", lock: "meeting.lock", cohost: "meeting.cohost", end: "meeting.end_for_all",
};

/** createMeetingsLive builds the live-meeting service. */
export function createMeetingsLive(deps: LiveDeps): MeetingsLiveService {
  const { repo, accounts, log } = deps;
  const clock = accounts.clock;
  const rooms = new Map<string, { inner: Room; wrapper: LiveRoom; started: boolean; timer: ReturnType<typeof setTimeout> | null; ownerUserId: string }>();
  const topics = new Map<string, string>();
  /** removed identities per meeting, kept while the process runs (a removed person stays out of later sessions too) */
  const removedByMeeting = new Map<string, Set<string>>();
  const listeners = new Set<EffectListener>();
  let gate = deps.meetingsAllowed;
  let chain: Promise<void> = Promise.resolve();

  /** later queues an attendance write after the ones before it (the insert seals, so it is async). */
  const later = (what: string, fn: () => void | Promise<void>) => {
    chain = chain.then(fn).catch((err: unknown) => log.error("meeting record not written", { what, error: err }));
  };
  const emit = (meetingId: string, fx: RoomEffect[]) => {
    if (!fx.length) return;
    for (const l of listeners) {
      try {
        l(meetingId, fx);
      } catch (err) {
        log.error("effect listener failed", { error: err });
      }
    }
  };
  const observe = (accountId: string, fx: RoomEffect[]) => {
    const now = clock.now();
    for (const f of fx) {
      if (f.kind === "admitted") later("joined", () => repo.markJoined(accountId, f.participantId, now));
      else if (f.kind === "ended") later("left", () => repo.markLeft(accountId, f.participantId, now, f.reason));
      else if (f.kind === "participant.left") later("left", () => repo.markLeft(accountId, f.participantId, now, "connection_lost"));
    }
  };
  const finish = (meetingId: string, accountId: string, actor: AuditActor, reason: string) => {
    const r = rooms.get(meetingId);
    if (r?.timer) clearTimeout(r.timer);
    rooms.delete(meetingId);
    topics.delete(meetingId);
    const at = clock.now();
    accounts.db.$client.transaction(() => {
      repo.setStatus(accountId, meetingId, "ended", at);
      accounts.audit.record(actor, { action: "meeting.end", targetType: "meeting", targetId: meetingId, detail: { reason } });
    }).immediate();
  };
  const closeIfIdle = (meetingId: string) => {
    const r = rooms.get(meetingId);
    if (r && r.started && (r.inner.empty || r.inner.ended)) finish(meetingId, r.inner.accountId, SYSTEM(r.inner.accountId), r.inner.ended ? "ended" : "everyone left");
  };
  const schedule = (meetingId: string) => {
    const r = rooms.get(meetingId);
    if (!r) return;
    if (r.timer) clearTimeout(r.timer);
    const at = r.inner.nextExpiry();
    r.timer = at === null ? null : setTimeout(() => sweepRoom(meetingId), Math.max(0, at - clock.now()) + 100);
    (r.timer as { unref?: () => void } | null)?.unref?.();
  };
  const sweepRoom = (meetingId: string) => {
    const r = rooms.get(meetingId);
    if (!r) return;
    const fx = r.inner.expire();
    observe(r.inner.accountId, fx);
    emit(meetingId, fx);
    closeIfIdle(meetingId);
    schedule(meetingId);
  };
  const actorOfSeat = (inner: Room, id: string): AuditActor => {
    const g = inner.seatGrant(id);
    return { accountId: inner.accountId, userId: g?.userId ?? null, label: g ? `${g.displayName}${g.userId ? "" : " (guest)"}` : "participant", ip: g?.ip, userAgent: g?.device };
  };
  const policyNow = (meetingId: string) => {
    const key = repo.keyById(meetingId);
    return key ? { key, policy: policyOf(settingsOfKey({ accounts }, key)) } : null;
  };

  const wrap = (inner: Room, ownerUserId: string | undefined): LiveRoom => {
    const meetingId = inner.meetingId;
    const accountId = inner.accountId;
    const after = (fx: RoomEffect[]): RoomEffect[] => {
      observe(accountId, fx);
      schedule(meetingId);
      closeIfIdle(meetingId);
      return fx;
    };
    return {
      meetingId,
      accountId,
      get ended() {
        return inner.ended;
      },
      join(grant): JoinVerdict {
        // Settings may have changed since the room started (admin pages): apply them first.
        const now = policyNow(meetingId);
        if (!now) return { outcome: "refused", reason: "ended", message: "This meeting no longer exists." };
        const changed = inner.update({ policy: now.policy });
        observe(accountId, changed);
        emit(meetingId, changed);
        const v = inner.join(grant);
        const r = rooms.get(meetingId);
        if (v.outcome === "refused") {
          // A room nobody got into is not a running meeting.
          if (r && r.inner === inner && !r.started && inner.empty) rooms.delete(meetingId);
          return v;
        }
        if (r && !r.started) {
          r.started = true;
          const at = clock.now();
          accounts.db.$client.transaction(() => {
            repo.setStatus(accountId, meetingId, "live", at);
            accounts.audit.record(SYSTEM(accountId), { action: "meeting.start", targetType: "meeting", targetId: meetingId });
          }).immediate();
        }
        const arrived = clock.now();
        later("arrived", () =>
          repo.addParticipant({ id: v.participantId, meetingId, accountId, ownerUserId, userId: grant.userId, name: grant.displayName, internal: grant.internal, host: grant.host, ip: grant.ip, device: grant.device, arrivedAt: arrived }),
        );
        if (v.outcome === "joined") later("joined", () => repo.markJoined(accountId, v.participantId, arrived));
        after(v.effects);
        return v;
      },
      resume(secret) {
        const v = inner.resume(secret);
        if (v.outcome !== "refused") after(v.effects);
        return v;
      },
      disconnected(id) {
        if (inner.waiting().some((w) => w.id === id)) {
          const at = clock.now();
          later("left", () => repo.markLeft(accountId, id, at, "left_waiting_room"));
        }
        return after(inner.disconnected(id));
      },
      leave: (id) => after(inner.leave(id)),
      setMediaState: (id, st) => after(inner.setMediaState(id, st)),
      setHand: (id, raised) => inner.setHand(id, raised),
      canShareScreen: (id) => inner.canShareScreen(id),
      act(actorId, action): ActionResult {
        const target = "participantId" in action ? inner.participant(action.participantId) ?? inner.waiting().find((w) => w.id === action.participantId) : undefined;
        const actor = actorOfSeat(inner, actorId);
        const res = inner.act(actorId, action);
        if (!res.ok) return res;
        const detail: Record<string, unknown> = {};
        if (target) Object.assign(detail, { participantId: target.id, participant: target.name });
        if (action.type === "lock") detail.locked = action.locked;
        if (action.type === "cohost") detail.cohost = action.cohost;
        accounts.audit.record(actor, { action: ACTION_NAMES[action.type], targetType: "meeting", targetId: meetingId, detail });
        observe(accountId, res.effects);
        if (inner.ended) finish(meetingId, accountId, actor, "ended by the host");
        else schedule(meetingId);
        return res;
      },
      info: () => inner.info(),
      participant: (id) => inner.participant(id),
      participants: () => inner.participants(),
      waiting: () => inner.waiting(),
      forwarding: (id, src) => inner.forwarding(id, src),
    };
  };

  const service: MeetingsLiveService = {
    async verifyJoinToken(token) {
      const grant = await deps.tokens.verify(token);
      if (!grant) return null;
      const key = repo.keyById(grant.meetingId);
      if (!key || key.accountId !== grant.accountId) return null;
      if (!topics.has(key.id)) {
        const m = await repo.get(key.accountId, key.id).catch(() => undefined);
        if (m) topics.set(key.id, m.topic);
      }
      return grant;
    },
    room(meetingId) {
      const existing = rooms.get(meetingId);
      if (existing && !existing.inner.ended) return existing.wrapper;
      const now = policyNow(meetingId);
      const inner = createRoom({
        meetingId, accountId: now?.key.accountId ?? "", topic: topics.get(meetingId) ?? "Meeting", policy: now?.policy ?? DEFAULT_POLICY, clock,
        gate: () => (now ? (gate?.(now.key.accountId) ?? { ok: true }) : { ok: false, message: "This meeting no longer exists." }),
        removed: removedByMeeting.get(meetingId) ?? removedByMeeting.set(meetingId, new Set()).get(meetingId),
      });
      const wrapper = wrap(inner, now?.key.ownerUserId);
      if (now) rooms.set(meetingId, { inner, wrapper, started: false, timer: null, ownerUserId: now.key.ownerUserId });
      return wrapper;
    },
    roomByResume(secret) {
      if (!secret) return null;
      for (const r of rooms.values()) if (r.inner.holdsResume(secret)) return r.wrapper;
      return null;
    },
    async chat(meetingId, participantId, text) {
      const r = rooms.get(meetingId);
      if (!r || !r.inner.participants().some((p) => p.id === participantId)) return { error: "You are not in this meeting." };
      const v = validateChat(text);
      if ("error" in v) return v;
      const id = newId();
      const at = clock.now();
      try {
        await repo.addChat({ id, meetingId, accountId: r.inner.accountId, participantId, text: v.text, at, ownerUserId: r.ownerUserId });
      } catch (err) {
        log.warn("chat message not stored", { meetingId, error: err });
        return { error: "The message could not be stored (the account's encryption keys are unavailable), so it was not sent." };
      }
      return { id, at };
    },
    stats(meetingId, participantId, summary) {
      const r = rooms.get(meetingId);
      if (!r) return;
      const clean: Record<string, number> = {};
      for (const [k, v] of Object.entries(summary).slice(0, 32)) if (/^[\w.-]{1,40}$/.test(k) && typeof v === "number" && Number.isFinite(v)) clean[k] = v;
      later("stats", () => repo.setStats(r.inner.accountId, participantId, clean));
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    issueJoinToken: (g) => deps.tokens.issue(g),
    async refresh(accountId, meetingId) {
      const r = rooms.get(meetingId);
      if (!r || r.inner.accountId !== accountId) return;
      const m = await repo.get(accountId, meetingId);
      const now = policyNow(meetingId);
      if (!m || !now) {
        service.endMeeting(accountId, meetingId, "ended", "The meeting was deleted.");
        return;
      }
      topics.set(meetingId, m.topic);
      const fx = r.inner.update({ topic: m.topic, policy: now.policy });
      observe(accountId, fx);
      emit(meetingId, fx);
      closeIfIdle(meetingId);
    },
    endMeeting(accountId, meetingId, reason, message) {
      const r = rooms.get(meetingId);
      if (!r || r.inner.accountId !== accountId) return false;
      const fx = r.inner.endAll(reason, message);
      observe(accountId, fx);
      emit(meetingId, fx);
      finish(meetingId, accountId, SYSTEM(accountId), reason);
      return true;
    },
    endAccountMeetings(accountId, reason, message) {
      let n = 0;
      for (const [id, r] of [...rooms]) if (r.inner.accountId === accountId && service.endMeeting(accountId, id, reason, message)) n++;
      return n;
    },
    setGate(g) {
      gate = g;
    },
    refreshPolicies() {
      for (const [id, r] of [...rooms]) {
        const now = policyNow(id);
        if (!now) {
          service.endMeeting(r.inner.accountId, id, "ended", "The meeting was deleted.");
          continue;
        }
        const fx = r.inner.update({ policy: now.policy });
        observe(r.inner.accountId, fx);
        emit(id, fx);
      }
    },
    sweep() {
      for (const id of [...rooms.keys()]) sweepRoom(id);
    },
    liveMeetingIds: (accountId) => [...rooms.values()].filter((r) => r.started && (!accountId || r.inner.accountId === accountId)).map((r) => r.inner.meetingId),
    settled: () => chain,
    close() {
      clearInterval(poll);
      for (const r of rooms.values()) if (r.timer) clearTimeout(r.timer);
    },
  };
  // Settings changed on the admin pages reach running meetings within 15 s (editing a meeting applies at once).
  const poll = setInterval(() => {
    try {
      service.refreshPolicies();
    } catch (err) {
      log.error("meeting settings not refreshed", { error: err });
    }
  }, 15_000);
  (poll as { unref?: () => void }).unref?.();
  return service;
}
