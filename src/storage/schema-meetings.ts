import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { accounts } from "./schema.ts";

/**
 * Meeting tables. Every row carries `account_id`; personal data and secrets (`*_sealed`) hold
 * what the personal-data codec produced, `*_index` columns hold its keyed blind index (so a
 * passcode can be checked, and a link token found, without the clear text in the database).
 */

const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;

/** meetings are scheduled or instant meetings; `number` is the dialable meeting ID. */
export const meetings = sqliteTable(
  "meetings",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    ownerUserId: text("owner_user_id").notNull(),
    /** 10–11 random digits, unique across the server (it is dialled without an account). */
    number: text("number").notNull(),
    kind: text("kind", { enum: ["scheduled", "instant"] }).notNull(),
    topicSealed: text("topic_sealed").notNull(),
    descriptionSealed: text("description_sealed").notNull(),
    startAt: integer("start_at").notNull(),
    durationMinutes: integer("duration_minutes").notNull(),
    recurrence: text("recurrence", { enum: ["none", "daily", "weekly", "monthly"] }).notNull().default("none"),
    recurrenceCount: integer("recurrence_count"),
    /** Alphanumeric web passcode and its numeric dial-in equivalent: sealed display copies + blind indexes for checking. */
    passcodeSealed: text("passcode_sealed").notNull(),
    passcodeIndex: text("passcode_index").notNull(),
    dialPasscodeSealed: text("dial_passcode_sealed").notNull(),
    dialPasscodeIndex: text("dial_passcode_index").notNull(),
    /** Random token embedded in the join link instead of the passcode. */
    linkTokenSealed: text("link_token_sealed").notNull(),
    linkTokenIndex: text("link_token_index").notNull(),
    /** JSON object of per-meeting setting overrides (setting key → value). */
    overrides: text("overrides").notNull().default("{}"),
    status: text("status", { enum: ["scheduled", "live", "ended"] }).notNull().default("scheduled"),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [uniqueIndex("meetings_number").on(t.number), index("meetings_account_owner").on(t.accountId, t.ownerUserId, t.startAt)],
);

/** meeting_participants is the attendance record: one row per seat taken in a live meeting. */
export const meetingParticipants = sqliteTable(
  "meeting_participants",
  {
    id: text("id").primaryKey(),
    meetingId: text("meeting_id").notNull().references(() => meetings.id, { onDelete: "cascade" }),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    userId: text("user_id"),
    nameSealed: text("name_sealed").notNull(),
    internal: integer("internal", { mode: "boolean" }).notNull(),
    host: integer("host", { mode: "boolean" }).notNull(),
    ipSealed: text("ip_sealed").notNull(),
    deviceSealed: text("device_sealed").notNull(),
    /** When they asked to join (waiting room included), were admitted, and left. */
    arrivedAt: integer("arrived_at").notNull(),
    joinedAt: integer("joined_at"),
    leftAt: integer("left_at"),
    leftReason: text("left_reason"),
    /** JSON object: the participant's latest connection-stats summary (numbers only). */
    stats: text("stats").notNull().default("{}"),
  },
  (t) => [index("meeting_participants_meeting").on(t.meetingId, t.arrivedAt), index("meeting_participants_account").on(t.accountId)],
);

/** meeting_chat holds in-meeting chat messages, sealed under the account's chat key. */
export const meetingChat = sqliteTable(
  "meeting_chat",
  {
    id: text("id").primaryKey(),
    meetingId: text("meeting_id").notNull().references(() => meetings.id, { onDelete: "cascade" }),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    participantId: text("participant_id").notNull(),
    textSealed: text("text_sealed").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("meeting_chat_meeting").on(t.meetingId, t.at)],
);
