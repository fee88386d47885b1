import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Customer-managed keys (CMK). An account may enrol keys of its own (in an HSM or a cloud KMS);
 * data keys (DEKs) of the classes it chooses are then wrapped by that key instead of the server
 * key. Only key references are stored here, never credentials.
 */

/** cmkSettings: one row per account that has used the CMK pages — choices and the key's observed status. */
export const cmkSettings = sqliteTable("cmk_settings", {
  accountId: text("account_id").primaryKey(),
  /** The cmk_keys row new DEKs are wrapped by; null: none enrolled (or deprovisioned). */
  activeKeyId: text("active_key_id"),
  /** JSON array of the data classes the CMK protects. */
  services: text("services").notNull().default("[]"),
  /** 1: while the CMK is unreachable new content is sealed under the server fallback key. */
  fallback: integer("fallback").notNull().default(0),
  /** 1: meetings are refused (and running ones ended) while the CMK is unavailable. */
  dropMeetings: integer("drop_meetings").notNull().default(0),
  /** "available" | "unreachable" | "denied" | "unknown". */
  status: text("status").notNull().default("unknown"),
  statusReason: text("status_reason").notNull().default(""),
  /** The provider's own error text of the last failure (shown verbatim to admins). */
  statusDetail: text("status_detail").notNull().default(""),
  statusChangedAt: integer("status_changed_at"),
  lastCheckedAt: integer("last_checked_at"),
  /** Deprovisioning: the date from which everything is rewrapped to the server key (ms), when it finished. */
  deprovisionAt: integer("deprovision_at"),
  deprovisionedAt: integer("deprovisioned_at"),
  /** The key reference the customer may disable once deprovisioning finished. */
  deprovisionedKey: text("deprovisioned_key").notNull().default(""),
});

/** cmkKeys: every key an account enrolled (the active one, the ones rotated away from). */
export const cmkKeys = sqliteTable(
  "cmk_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    /** A name in the key-provider map: pkcs11, aws-kms, azure-keyvault, oci-vault, … */
    provider: text("provider").notNull(),
    /** Key ARN / key identifier / PKCS#11 key label / OCID. */
    keyRef: text("key_ref").notNull(),
    /** JSON array of replica key references (AWS multi-region replicas). */
    replicas: text("replicas").notNull().default("[]"),
    /** "active" | "rotating" (DEKs still being moved off it) | "retired" | "deprovisioned". */
    state: text("state").notNull(),
    createdAt: integer("created_at").notNull(),
    createdBy: text("created_by"),
    retiredAt: integer("retired_at"),
  },
  (t) => [index("cmk_keys_account").on(t.accountId, t.state)],
);

/**
 * cmkDataKeys marks the DEKs that are not plain server-key DEKs: "cmk" (wrapped by the
 * account's CMK `cmkKeyId`) or "fallback" (wrapped by the server key while the CMK was
 * unreachable, to be rewrapped under the CMK when it returns). DEKs without a row here are
 * server-key DEKs.
 */
export const cmkDataKeys = sqliteTable(
  "cmk_data_keys",
  {
    dekId: text("dek_id").primaryKey(),
    accountId: text("account_id").notNull(),
    dataClass: text("data_class").notNull(),
    slot: text("slot", { enum: ["cmk", "fallback"] }).notNull(),
    cmkKeyId: text("cmk_key_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("cmk_data_keys_account").on(t.accountId, t.dataClass, t.slot), index("cmk_data_keys_key").on(t.cmkKeyId)],
);

/** cmkLicences: users whose own content (profile, TOTP, chat, recordings, …) is wrapped by the CMK. */
export const cmkLicences = sqliteTable(
  "cmk_licences",
  {
    accountId: text("account_id").notNull(),
    userId: text("user_id").notNull(),
    grantedAt: integer("granted_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.userId] })],
);

/**
 * cmkRecipients: who is e-mailed on key status changes. The address is sealed under a
 * server-key DEK (never the CMK: it must be readable exactly when the CMK is not).
 */
export const cmkRecipients = sqliteTable(
  "cmk_recipients",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    emailSealed: text("email_sealed").notNull(),
    /** Keyed blind index of the normalised address (duplicates). */
    emailIndex: text("email_index").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("cmk_recipients_account").on(t.accountId, t.emailIndex)],
);

/** cmkJobs: rotation and deprovisioning runs (resumable), with progress for the pages and CLI. */
export const cmkJobs = sqliteTable(
  "cmk_jobs",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    /** "rotate" | "deprovision" | "reseal" */
    kind: text("kind").notNull(),
    fromKeyId: text("from_key_id"),
    toKeyId: text("to_key_id"),
    /** "running" | "done" | "failed" */
    state: text("state").notNull(),
    total: integer("total").notNull().default(0),
    done: integer("done").notNull().default(0),
    error: text("error").notNull().default(""),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("cmk_jobs_account").on(t.accountId, t.startedAt)],
);

/** keyUsage: append-only record of every wrap and unwrap of a DEK (unwraps are cached, so rare). */
export const keyUsage = sqliteTable(
  "key_usage",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    accountId: text("account_id").notNull(),
    /** "wrap" | "unwrap" */
    op: text("op").notNull(),
    dataClass: text("data_class").notNull(),
    /** Why the key was needed, e.g. "users.email", "rotate", "deprovision", "fallback reseal". */
    purpose: text("purpose").notNull(),
    /** The user whose content it was (or who asked), when known. */
    userId: text("user_id"),
    /** "server" | "cmk" | "fallback" */
    slot: text("slot").notNull(),
    /** "<provider>:<key ref>" */
    provider: text("provider").notNull(),
    dekId: text("dek_id").notNull(),
    /** "ok" | "unreachable" | "denied" | "error" */
    outcome: text("outcome").notNull(),
    detail: text("detail").notNull().default(""),
  },
  (t) => [index("key_usage_account_at").on(t.accountId, t.at)],
);
