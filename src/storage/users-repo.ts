import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./db.ts";
import { normaliseEmail, type PersonalDataCodec } from "./personal-data.ts";
import { users } from "./schema.ts";

/** UserRow is a stored user with personal data still sealed. */
type UserRowSealed = typeof users.$inferSelect;

/** UserRecord is a user with personal data opened. */
export type UserRecord = Omit<UserRowSealed, "emailSealed" | "nameSealed" | "emailIndex" | "totpSealed"> & { email: string; name: string };

/** UserUpdate lists the plain (non-personal) columns callers may change. */
export type UserUpdate = Partial<
  Pick<UserRecord, "roleId" | "status" | "passwordHash" | "activatedAt" | "lastSignInAt" | "updatedAt" | "failedAttempts" | "lockedUntil" | "passwordChangedAt" | "mustChangePassword" | "totpEnabled" | "totpLastStep">
>;

/** NewUser is what creating a user needs. */
export interface NewUser {
  id: string;
  accountId: string;
  roleId: string;
  email: string;
  name: string;
  status: UserRecord["status"];
  passwordHash: string | null;
  now: number;
}

/**
 * UsersRepo stores users; name and e-mail pass through the personal-data codec (one place),
 * and e-mail lookups go through its blind index.
 */
/** PreparedUser is a user row with personal data sealed, ready for a synchronous insert. */
export type PreparedUser = typeof users.$inferInsert;

export interface UsersRepo {
  /** prepare seals personal data; do it before a transaction (sealing may call a KMS). */
  prepare(u: NewUser): Promise<PreparedUser>;
  insert(u: PreparedUser): void;
  get(accountId: string, id: string): Promise<UserRecord | undefined>;
  /** findByEmail searches the whole server (sign-in does not know the account yet). */
  findByEmail(email: string): Promise<UserRecord | undefined>;
  emailTaken(email: string): boolean;
  list(accountId: string): Promise<UserRecord[]>;
  count(accountId: string): number;
  update(accountId: string, id: string, set: UserUpdate): void;
  /** sealTotp seals a TOTP secret for `setSealedTotp` (null clears it). */
  sealTotp(accountId: string, id: string, secret: string): Promise<string>;
  setSealedTotp(accountId: string, id: string, sealed: string | null, enabled: boolean): void;
  /** totpSecret opens a user's TOTP secret, or null when none is stored. */
  totpSecret(accountId: string, id: string): Promise<string | null>;
  /** sealName seals a new display name for `setSealedName`. */
  sealName(accountId: string, id: string, name: string): Promise<string>;
  setSealedName(accountId: string, id: string, sealed: string, now: number): void;
  delete(accountId: string, id: string): void;
}

/** USER_COLUMNS selects a users row with drizzle's property names (for the hot, raw-SQL reads). */
const USER_COLUMNS =
  "id, account_id AS accountId, role_id AS roleId, email_sealed AS emailSealed, email_index AS emailIndex, name_sealed AS nameSealed, status, password_hash AS passwordHash, created_at AS createdAt, updated_at AS updatedAt, activated_at AS activatedAt, last_sign_in_at AS lastSignInAt, failed_attempts AS failedAttempts, locked_until AS lockedUntil, password_changed_at AS passwordChangedAt, must_change_password AS mustChangePassword, totp_sealed AS totpSealed, totp_enabled AS totpEnabled, totp_last_step AS totpLastStep, origin";

/** rawUser fixes the boolean columns of a raw row. */
function rawUser(r: Record<string, unknown> | null): UserRowSealed | undefined {
  if (!r) return undefined;
  return { ...(r as UserRowSealed), mustChangePassword: Boolean(r.mustChangePassword), totpEnabled: Boolean(r.totpEnabled) };
}

/** createUsersRepo builds the users repository over a codec. */
export function createUsersRepo(db: Db, codec: PersonalDataCodec): UsersRepo {
  // Every request of a signed-in user reads its user row: cached prepared statements, not the query builder.
  const byId = db.$client.query(`SELECT ${USER_COLUMNS} FROM users WHERE account_id = ? AND id = ?`);
  const byIndex = db.$client.query(`SELECT ${USER_COLUMNS} FROM users WHERE email_index = ?`);
  const ctx = (accountId: string, rowId: string, column: string) => ({ accountId, table: "users", column, rowId });
  const open = async (r: UserRowSealed): Promise<UserRecord> => {
    const { emailSealed, nameSealed, emailIndex: _i, totpSealed: _t, ...rest } = r;
    return {
      ...rest,
      email: await codec.open(ctx(r.accountId, r.id, "email"), emailSealed),
      name: await codec.open(ctx(r.accountId, r.id, "name"), nameSealed),
    };
  };
  const emailIndex = (email: string) => codec.index("users.email", normaliseEmail(email));
  return {
    async prepare(u) {
      const [emailSealed, nameSealed] = await Promise.all([
        codec.seal(ctx(u.accountId, u.id, "email"), u.email.trim()),
        codec.seal(ctx(u.accountId, u.id, "name"), u.name),
      ]);
      return { id: u.id, accountId: u.accountId, roleId: u.roleId, emailSealed, nameSealed, emailIndex: emailIndex(u.email), status: u.status, passwordHash: u.passwordHash, createdAt: u.now, updatedAt: u.now };
    },
    insert(row) {
      db.insert(users).values(row).run();
    },
    async get(accountId, id) {
      const r = rawUser(byId.get(accountId, id) as Record<string, unknown> | null);
      return r ? open(r) : undefined;
    },
    async findByEmail(email) {
      const r = rawUser(byIndex.get(emailIndex(email)) as Record<string, unknown> | null);
      return r ? open(r) : undefined;
    },
    emailTaken(email) {
      return db.select({ id: users.id }).from(users).where(eq(users.emailIndex, emailIndex(email))).get() !== undefined;
    },
    async list(accountId) {
      const rows = db.select().from(users).where(eq(users.accountId, accountId)).all();
      const out = await Promise.all(rows.map(open));
      return out.sort((a, b) => a.name.localeCompare(b.name) || a.email.localeCompare(b.email));
    },
    count(accountId) {
      return db.select({ n: sql<number>`count(*)` }).from(users).where(eq(users.accountId, accountId)).get()?.n ?? 0;
    },
    update(accountId, id, set) {
      db.update(users).set(set).where(and(eq(users.accountId, accountId), eq(users.id, id))).run();
    },
    sealName(accountId, id, name) {
      return codec.seal(ctx(accountId, id, "name"), name);
    },
    setSealedName(accountId, id, nameSealed, now) {
      db.update(users).set({ nameSealed, updatedAt: now }).where(and(eq(users.accountId, accountId), eq(users.id, id))).run();
    },
    sealTotp(accountId, id, secret) {
      return codec.seal(ctx(accountId, id, "totp"), secret);
    },
    setSealedTotp(accountId, id, sealed, enabled) {
      db.update(users).set({ totpSealed: sealed, totpEnabled: enabled, totpLastStep: null }).where(and(eq(users.accountId, accountId), eq(users.id, id))).run();
    },
    async totpSecret(accountId, id) {
      const r = db.select({ s: users.totpSealed }).from(users).where(and(eq(users.accountId, accountId), eq(users.id, id))).get();
      return r?.s ? codec.open(ctx(accountId, id, "totp"), r.s) : null;
    },
    delete(accountId, id) {
      db.delete(users).where(and(eq(users.accountId, accountId), eq(users.id, id))).run();
    },
  };
}
