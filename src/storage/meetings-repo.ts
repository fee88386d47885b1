import { and, asc, eq, gte, or, sql } from "drizzle-orm";
import { constantTimeEqual } from "../shared/ids.ts";
import type { Db } from "./db.ts";
import type { PersonalDataCodec } from "./personal-data.ts";
import { meetingChat, meetingParticipants, meetings } from "./schema-meetings.ts";

/** MeetingRecord is a meeting with its sealed columns opened (secrets included: callers decide what to show). */
export interface MeetingRecord {
  id: string;
  accountId: string;
  ownerUserId: string;
  number: string;
  kind: "scheduled" | "instant";
  topic: string;
  description: string;
  startAt: number;
  durationMinutes: number;
  recurrence: "none" | "daily" | "weekly" | "monthly";
  recurrenceCount: number | null;
  passcode: string;
  dialPasscode: string;
  linkToken: string;
  overrides: Record<string, boolean | number | string>;
  status: "scheduled" | "live" | "ended";
  startedAt: number | null;
  endedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** MeetingKey is what lookups by number return before any secret is opened (the join path). */
export interface MeetingKey {
  id: string;
  accountId: string;
  ownerUserId: string;
  number: string;
  passcodeIndex: string;
  dialPasscodeIndex: string;
  linkTokenIndex: string;
  overrides: string;
  status: string;
}

/** NewMeeting is what creating a meeting stores. */
export type NewMeeting = Omit<MeetingRecord, "status" | "startedAt" | "endedAt" | "createdAt" | "updatedAt">;

/** MeetingEdit lists what editing may change. */
export type MeetingEdit = Pick<MeetingRecord, "topic" | "description" | "startAt" | "durationMinutes" | "recurrence" | "recurrenceCount" | "overrides">;

/** AttendanceRecord is one participant seat with personal data opened. */
export interface AttendanceRecord {
  id: string;
  meetingId: string;
  userId: string | null;
  name: string;
  internal: boolean;
  host: boolean;
  ip: string;
  device: string;
  arrivedAt: number;
  joinedAt: number | null;
  leftAt: number | null;
  leftReason: string | null;
  stats: Record<string, number>;
}

/** secretIndex is the blind-index column name for a meeting secret (the meeting id is part of the value). */
export function secretIndex(codec: PersonalDataCodec, column: "passcode" | "dial_passcode" | "link_token", meetingId: string, value: string): string {
  return codec.index(`meetings.${column}`, `${meetingId}:${value}`);
}

/** MeetingsRepo stores meetings, attendance and chat; every query is scoped to an account except lookup by number. */
export interface MeetingsRepo {
  /** insert seals, then writes the row and runs `inTx` (the audit entry) in one transaction. */
  insert(m: NewMeeting, now: number, inTx?: () => void): Promise<void>;
  get(accountId: string, id: string): Promise<MeetingRecord | undefined>;
  /** keyByNumber finds a meeting by its dialable number across the server (join page, SIP). */
  keyByNumber(number: string): MeetingKey | undefined;
  keyById(id: string): MeetingKey | undefined;
  numberTaken(number: string): boolean;
  /** listUpcoming: the owner's meetings that have not ended (or recur), soonest first. */
  listForOwner(accountId: string, ownerUserId: string, since: number): Promise<MeetingRecord[]>;
  /** listForAccount: the account's meetings, most recently started (or scheduled) first, with seat counts. */
  listForAccount(accountId: string, limit: number): Promise<(MeetingRecord & { seats: number })[]>;
  update(accountId: string, id: string, edit: MeetingEdit, now: number, inTx?: () => void): Promise<void>;
  setStatus(accountId: string, id: string, status: MeetingRecord["status"], at: number): void;
  delete(accountId: string, id: string, inTx?: () => void): boolean;
  /** matchesSecret compares a candidate passcode or link token with the stored blind index. */
  matchesSecret(key: MeetingKey, column: "passcode" | "dial_passcode" | "link_token", candidate: string): boolean;
  /** addParticipant records a seat; ownerUserId is the meeting's owner (whose keys seal it). */
  addParticipant(p: Omit<AttendanceRecord, "joinedAt" | "leftAt" | "leftReason" | "stats"> & { accountId: string; ownerUserId?: string }): Promise<void>;
  markJoined(accountId: string, id: string, at: number): void;
  markLeft(accountId: string, id: string, at: number, reason: string): void;
  setStats(accountId: string, id: string, stats: Record<string, number>): void;
  attendance(accountId: string, meetingId: string): Promise<AttendanceRecord[]>;
  addChat(c: { id: string; meetingId: string; accountId: string; participantId: string; text: string; at: number; ownerUserId?: string }): Promise<void>;
  chat(accountId: string, meetingId: string): Promise<{ id: string; participantId: string; text: string; at: number }[]>;
}

type Row = typeof meetings.$inferSelect;

/** createMeetingsRepo builds the repository over a codec (every sealed column goes through it). */
export function createMeetingsRepo(db: Db, codec: PersonalDataCodec): MeetingsRepo {
  // ownerId: a meeting's content belongs to its owner (customer-managed keys follow the owner's licence).
  const ctx = (accountId: string, table: string, rowId: string, column: string, ownerId?: string) => ({ accountId, table, column, rowId, ...(ownerId ? { ownerId } : {}) });
  const mctx = (m: { accountId: string; id: string; ownerUserId?: string }, column: string) => ctx(m.accountId, "meetings", m.id, column, m.ownerUserId);
  const open = async (r: Row): Promise<MeetingRecord> => ({
    id: r.id, accountId: r.accountId, ownerUserId: r.ownerUserId, number: r.number, kind: r.kind,
    topic: await codec.open(mctx(r, "topic"), r.topicSealed),
    description: await codec.open(mctx(r, "description"), r.descriptionSealed),
    startAt: r.startAt, durationMinutes: r.durationMinutes, recurrence: r.recurrence, recurrenceCount: r.recurrenceCount,
    passcode: await codec.open(mctx(r, "passcode"), r.passcodeSealed),
    dialPasscode: await codec.open(mctx(r, "dial_passcode"), r.dialPasscodeSealed),
    linkToken: await codec.open(mctx(r, "link_token"), r.linkTokenSealed),
    overrides: JSON.parse(r.overrides) as MeetingRecord["overrides"],
    status: r.status, startedAt: r.startedAt, endedAt: r.endedAt, createdAt: r.createdAt, updatedAt: r.updatedAt,
  });
  const keyCols = {
    id: meetings.id, accountId: meetings.accountId, ownerUserId: meetings.ownerUserId, number: meetings.number, passcodeIndex: meetings.passcodeIndex,
    dialPasscodeIndex: meetings.dialPasscodeIndex, linkTokenIndex: meetings.linkTokenIndex, overrides: meetings.overrides, status: meetings.status,
  };
  const scoped = (accountId: string, id: string) => and(eq(meetings.accountId, accountId), eq(meetings.id, id));
  const pctx = (accountId: string, id: string, column: string, ownerId?: string) => ctx(accountId, "meeting_participants", id, column, ownerId);
  return {
    async insert(m, now, inTx) {
      const [topicSealed, descriptionSealed, passcodeSealed, dialPasscodeSealed, linkTokenSealed] = await Promise.all([
        codec.seal(mctx(m, "topic"), m.topic),
        codec.seal(mctx(m, "description"), m.description),
        codec.seal(mctx(m, "passcode"), m.passcode),
        codec.seal(mctx(m, "dial_passcode"), m.dialPasscode),
        codec.seal(mctx(m, "link_token"), m.linkToken),
      ]);
      const ins = db.insert(meetings).values({
        id: m.id, accountId: m.accountId, ownerUserId: m.ownerUserId, number: m.number, kind: m.kind, topicSealed, descriptionSealed,
        startAt: m.startAt, durationMinutes: m.durationMinutes, recurrence: m.recurrence, recurrenceCount: m.recurrenceCount,
        passcodeSealed, passcodeIndex: secretIndex(codec, "passcode", m.id, m.passcode),
        dialPasscodeSealed, dialPasscodeIndex: secretIndex(codec, "dial_passcode", m.id, m.dialPasscode),
        linkTokenSealed, linkTokenIndex: secretIndex(codec, "link_token", m.id, m.linkToken),
        overrides: JSON.stringify(m.overrides), createdAt: now, updatedAt: now,
      });
      db.$client.transaction(() => {
        ins.run();
        inTx?.();
      }).immediate();
    },
    async get(accountId, id) {
      const r = db.select().from(meetings).where(scoped(accountId, id)).get();
      return r ? open(r) : undefined;
    },
    keyByNumber(number) {
      return db.select(keyCols).from(meetings).where(eq(meetings.number, number)).get();
    },
    keyById(id) {
      return db.select(keyCols).from(meetings).where(eq(meetings.id, id)).get();
    },
    numberTaken(number) {
      return db.select({ id: meetings.id }).from(meetings).where(eq(meetings.number, number)).get() !== undefined;
    },
    async listForOwner(accountId, ownerUserId, since) {
      const rows = db.select().from(meetings)
        .where(and(eq(meetings.accountId, accountId), eq(meetings.ownerUserId, ownerUserId),
          or(gte(sql`${meetings.startAt} + ${meetings.durationMinutes} * 60000`, since), sql`${meetings.recurrence} != 'none'`, eq(meetings.status, "live"))))
        .orderBy(asc(meetings.startAt)).all();
      return Promise.all(rows.map(open));
    },
    async listForAccount(accountId, limit) {
      const rows = db.select().from(meetings).where(eq(meetings.accountId, accountId))
        .orderBy(sql`coalesce(${meetings.startedAt}, ${meetings.startAt}) DESC`).limit(limit).all();
      const counts = new Map(
        (db.$client.query("SELECT meeting_id AS m, count(*) AS n FROM meeting_participants WHERE account_id = ? GROUP BY meeting_id").all(accountId) as { m: string; n: number }[]).map((r) => [r.m, r.n]),
      );
      return Promise.all(rows.map(async (r) => ({ ...(await open(r)), seats: counts.get(r.id) ?? 0 })));
    },
    async update(accountId, id, e, now, inTx) {
      const m = { accountId, id, ownerUserId: db.select({ o: meetings.ownerUserId }).from(meetings).where(scoped(accountId, id)).get()?.o };
      const [topicSealed, descriptionSealed] = await Promise.all([codec.seal(mctx(m, "topic"), e.topic), codec.seal(mctx(m, "description"), e.description)]);
      db.$client.transaction(() => {
        db.update(meetings).set({
          topicSealed, descriptionSealed, startAt: e.startAt, durationMinutes: e.durationMinutes, recurrence: e.recurrence, recurrenceCount: e.recurrenceCount,
          overrides: JSON.stringify(e.overrides), updatedAt: now,
        }).where(scoped(accountId, id)).run();
        inTx?.();
      }).immediate();
    },
    setStatus(accountId, id, status, at) {
      const extra = status === "live" ? { startedAt: at, endedAt: null } : status === "ended" ? { endedAt: at } : {};
      db.update(meetings).set({ status, ...extra }).where(scoped(accountId, id)).run();
    },
    delete(accountId, id, inTx) {
      return db.$client.transaction(() => {
        const gone = db.$client.query("DELETE FROM meetings WHERE account_id = ? AND id = ?").run(accountId, id).changes > 0;
        if (gone) inTx?.();
        return gone;
      }).immediate();
    },
    matchesSecret(key, column, candidate) {
      const stored = column === "passcode" ? key.passcodeIndex : column === "dial_passcode" ? key.dialPasscodeIndex : key.linkTokenIndex;
      return constantTimeEqual(stored, secretIndex(codec, column, key.id, candidate));
    },
    async addParticipant(p) {
      const [nameSealed, ipSealed, deviceSealed] = await Promise.all([
        codec.seal(pctx(p.accountId, p.id, "name", p.ownerUserId), p.name),
        codec.seal(pctx(p.accountId, p.id, "ip", p.ownerUserId), p.ip),
        codec.seal(pctx(p.accountId, p.id, "device", p.ownerUserId), p.device),
      ]);
      db.insert(meetingParticipants).values({
        id: p.id, meetingId: p.meetingId, accountId: p.accountId, userId: p.userId, nameSealed, internal: p.internal, host: p.host, ipSealed, deviceSealed, arrivedAt: p.arrivedAt,
      }).onConflictDoNothing().run();
    },
    markJoined(accountId, id, at) {
      db.update(meetingParticipants).set({ joinedAt: at }).where(and(eq(meetingParticipants.accountId, accountId), eq(meetingParticipants.id, id), sql`${meetingParticipants.joinedAt} IS NULL`)).run();
    },
    markLeft(accountId, id, at, reason) {
      db.update(meetingParticipants).set({ leftAt: at, leftReason: reason }).where(and(eq(meetingParticipants.accountId, accountId), eq(meetingParticipants.id, id), sql`${meetingParticipants.leftAt} IS NULL`)).run();
    },
    setStats(accountId, id, stats) {
      db.update(meetingParticipants).set({ stats: JSON.stringify(stats) }).where(and(eq(meetingParticipants.accountId, accountId), eq(meetingParticipants.id, id))).run();
    },
    async attendance(accountId, meetingId) {
      const rows = db.select().from(meetingParticipants).where(and(eq(meetingParticipants.accountId, accountId), eq(meetingParticipants.meetingId, meetingId))).orderBy(asc(meetingParticipants.arrivedAt)).all();
      return Promise.all(rows.map(async (r) => ({
        id: r.id, meetingId: r.meetingId, userId: r.userId, internal: r.internal, host: r.host, arrivedAt: r.arrivedAt, joinedAt: r.joinedAt, leftAt: r.leftAt, leftReason: r.leftReason,
        name: await codec.open(pctx(r.accountId, r.id, "name"), r.nameSealed),
        ip: await codec.open(pctx(r.accountId, r.id, "ip"), r.ipSealed),
        device: await codec.open(pctx(r.accountId, r.id, "device"), r.deviceSealed),
        stats: JSON.parse(r.stats) as Record<string, number>,
      })));
    },
    async addChat(c) {
      const textSealed = await codec.seal(ctx(c.accountId, "meeting_chat", c.id, "text", c.ownerUserId), c.text);
      db.insert(meetingChat).values({ id: c.id, meetingId: c.meetingId, accountId: c.accountId, participantId: c.participantId, textSealed, at: c.at }).run();
    },
    async chat(accountId, meetingId) {
      const rows = db.select().from(meetingChat).where(and(eq(meetingChat.accountId, accountId), eq(meetingChat.meetingId, meetingId))).orderBy(asc(meetingChat.at)).all();
      return Promise.all(rows.map(async (r) => ({ id: r.id, participantId: r.participantId, at: r.at, text: await codec.open(ctx(r.accountId, "meeting_chat", r.id, "text"), r.textSealed) })));
    },
  };
}
