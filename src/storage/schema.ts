import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Tables. Every row that belongs to an account carries `account_id`, and every repository
 * query filters on it. Personal data columns (`*_sealed`, `*_index`) hold what the
 * personal-data codec produced; storage never sees a key.
 */

const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;

/** accounts are tenants (organisations). */
export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  status: text("status", { enum: ["active", "suspended"] }).notNull().default("active"),
  createdAt: integer("created_at").notNull().default(now),
});

/** roles: the three system roles per account plus custom roles. */
export const roles = sqliteTable(
  "roles",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["owner", "admin", "member", "custom"] }).notNull(),
    description: text("description").notNull().default(""),
    /** JSON array of permission strings, e.g. ["users:view","users:edit"]. */
    permissions: text("permissions").notNull().default("[]"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("roles_account_name").on(t.accountId, t.name)],
);

/** users belong to one account and hold exactly one role. */
export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    roleId: text("role_id").notNull().references(() => roles.id),
    emailSealed: text("email_sealed").notNull(),
    /** Blind index of the normalised e-mail: unique across the server (sign-in looks it up). */
    emailIndex: text("email_index").notNull(),
    nameSealed: text("name_sealed").notNull(),
    status: text("status", { enum: ["invited", "active", "deactivated"] }).notNull(),
    passwordHash: text("password_hash"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
    activatedAt: integer("activated_at"),
    lastSignInAt: integer("last_sign_in_at"),
    /** Consecutive failed sign-in attempts (password or second factor). */
    failedAttempts: integer("failed_attempts").notNull().default(0),
    lockedUntil: integer("locked_until"),
    passwordChangedAt: integer("password_changed_at"),
    mustChangePassword: integer("must_change_password", { mode: "boolean" }).notNull().default(false),
    /** TOTP secret, sealed by the personal-data codec; null when MFA is not enrolled. */
    totpSealed: text("totp_sealed"),
    totpEnabled: integer("totp_enabled", { mode: "boolean" }).notNull().default(false),
    /** Last accepted TOTP time step: a code of that step or earlier is refused (replay). */
    totpLastStep: integer("totp_last_step"),
    /** How the user was created: "invite", "setup" or "saml" (just-in-time). */
    origin: text("origin").notNull().default("invite"),
  },
  (t) => [uniqueIndex("users_email_index").on(t.emailIndex), index("users_account").on(t.accountId)],
);

/** groups of users within an account. */
export const groups = sqliteTable(
  "groups",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("groups_account_name").on(t.accountId, t.name)],
);

/** groupMembers links users to groups (many to many). */
export const groupMembers = sqliteTable(
  "group_members",
  {
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    groupId: text("group_id").notNull().references(() => groups.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index("group_members_user").on(t.userId)],
);

/** settings: one row per (account, level, scope id, key); value is JSON. */
export const settings = sqliteTable(
  "settings",
  {
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    level: text("level", { enum: ["account", "group", "user"] }).notNull(),
    /** Account id, group id or user id, matching `level`. */
    scopeId: text("scope_id").notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
    locked: integer("locked", { mode: "boolean" }).notNull().default(false),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.level, t.scopeId, t.key] })],
);

/** sessions: random id + hash of a random secret; the cookie holds both, the DB only the hash. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    secretHash: text("secret_hash").notNull(),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    csrfToken: text("csrf_token").notNull(),
    ip: text("ip").notNull().default(""),
    userAgent: text("user_agent").notNull().default(""),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

/** oneTimeTokens: setup and activation links; only the token's hash is stored. */
export const oneTimeTokens = sqliteTable("one_time_tokens", {
  tokenHash: text("token_hash").primaryKey(),
  purpose: text("purpose", { enum: ["setup", "activation", "password_reset", "mfa_pending"] }).notNull(),
  accountId: text("account_id"),
  userId: text("user_id"),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

/** auditLog: append-only, hash-chained operation log. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    seq: integer("seq").primaryKey(),
    id: text("id").notNull().unique(),
    accountId: text("account_id"),
    at: integer("at").notNull(),
    actorId: text("actor_id"),
    actorLabel: text("actor_label").notNull(),
    action: text("action").notNull(),
    targetType: text("target_type").notNull().default(""),
    targetId: text("target_id").notNull().default(""),
    ip: text("ip").notNull().default(""),
    userAgent: text("user_agent").notNull().default(""),
    /** JSON: { before?, after?, ...detail }. */
    details: text("details").notNull().default("{}"),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [index("audit_account_at").on(t.accountId, t.at)],
);

/** passwordHistory keeps previous password hashes for the no-reuse rule. */
export const passwordHistory = sqliteTable(
  "password_history",
  {
    id: integer("id").primaryKey(),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    hash: text("hash").notNull(),
    /** "initial" (setup, activation), "change" (the user's own) or "reset" (link, admin, shell). */
    kind: text("kind", { enum: ["initial", "change", "reset"] }).notNull().default("change"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("password_history_user").on(t.userId, t.createdAt)],
);

/** recoveryCodes are single-use MFA recovery codes, stored hashed. */
export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [primaryKey({ columns: [t.userId, t.codeHash] })],
);

/** samlIdps: one identity provider per account. */
export const samlIdps = sqliteTable(
  "saml_idps",
  {
    accountId: text("account_id").primaryKey().references(() => accounts.id, { onDelete: "cascade" }),
    entityId: text("entity_id").notNull(),
    ssoUrl: text("sso_url").notNull(),
    /** PEM signing certificate(s) of the IdP, newline separated. */
    certificates: text("certificates").notNull(),
    /** JSON: { email, name, groups?, role?, groupMap?: Record<string,string>, roleMap?: Record<string,string> }. */
    attributeMap: text("attribute_map").notNull().default("{}"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(false),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("saml_idps_entity").on(t.entityId)],
);

/** samlResponses: every SAML response received, with its verdict; purged after 7 days. */
export const samlResponses = sqliteTable(
  "saml_responses",
  {
    id: integer("id").primaryKey(),
    accountId: text("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    receivedAt: integer("received_at").notNull(),
    /** Decoded XML, sealed by the personal-data codec (it holds names and e-mails). */
    xmlSealed: text("xml_sealed").notNull(),
    verdict: text("verdict", { enum: ["accepted", "rejected"] }).notNull(),
    reason: text("reason").notNull(),
    ip: text("ip").notNull().default(""),
  },
  (t) => [index("saml_responses_account").on(t.accountId, t.receivedAt)],
);

/** samlReplay remembers assertion ids until their NotOnOrAfter, so none is accepted twice. */
export const samlReplay = sqliteTable("saml_replay", {
  assertionId: text("assertion_id").primaryKey(),
  expiresAt: integer("expires_at").notNull(),
});

/** signinFailures counts failures per source address, to stop one address locking out many accounts. */
export const signinSources = sqliteTable("signin_sources", {
  source: text("source").primaryKey(),
  windowStart: integer("window_start").notNull(),
  failures: integer("failures").notNull(),
});

/**
 * dataKeys: per-account data-encryption keys (DEKs) per data class, stored only wrapped by the
 * key-encryption key named in `wrappedBy`. `invocations` is reserved in blocks before use, so a
 * crash can only over-count GCM invocations, never under-count them.
 */
export const dataKeys = sqliteTable(
  "data_keys",
  {
    id: text("id").primaryKey(),
    /** Account id, or "server" for server-wide keys (the blind-index key). */
    accountId: text("account_id").notNull(),
    dataClass: text("data_class").notNull(),
    version: integer("version").notNull(),
    wrapped: text("wrapped").notNull(),
    /** "<provider>:<key id>" of the KEK (or CMK) that wrapped it. */
    wrappedBy: text("wrapped_by").notNull(),
    status: text("status", { enum: ["active", "retired", "destroyed"] }).notNull(),
    invocations: integer("invocations").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    retiredAt: integer("retired_at"),
  },
  (t) => [index("data_keys_account_class").on(t.accountId, t.dataClass, t.status), uniqueIndex("data_keys_version").on(t.accountId, t.dataClass, t.version)],
);
