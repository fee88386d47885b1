import { randomBytes } from "node:crypto";
import { and, desc, eq, gte, lt } from "drizzle-orm";
import type { Db } from "./db.ts";
import type { PersonalDataCodec } from "./personal-data.ts";
import { samlIdps, samlReplay, samlResponses } from "./schema.ts";

/** SamlIdpRow is one account's stored identity-provider configuration. */
export type SamlIdpRow = typeof samlIdps.$inferSelect;

/** getSamlIdp returns an account's IdP configuration. */
export function getSamlIdp(db: Db, accountId: string): SamlIdpRow | undefined {
  return db.select().from(samlIdps).where(eq(samlIdps.accountId, accountId)).get();
}

/** findSamlIdpByEntityId returns the configuration that owns an IdP entity id (unique across accounts). */
export function findSamlIdpByEntityId(db: Db, entityId: string): SamlIdpRow | undefined {
  return db.select().from(samlIdps).where(eq(samlIdps.entityId, entityId)).get();
}

/** listEnabledSamlIdps lists every account with SSO switched on. */
export function listEnabledSamlIdps(db: Db): SamlIdpRow[] {
  return db.select().from(samlIdps).where(eq(samlIdps.enabled, true)).all();
}

/** upsertSamlIdp stores an account's configuration (one row per account). */
export function upsertSamlIdp(db: Db, row: SamlIdpRow): void {
  const { accountId: _a, ...set } = row;
  db.insert(samlIdps).values(row).onConflictDoUpdate({ target: samlIdps.accountId, set }).run();
}

/** setSamlIdpEnabled switches SSO on or off for an account. */
export function setSamlIdpEnabled(db: Db, accountId: string, enabled: boolean, at: number): void {
  db.update(samlIdps).set({ enabled, updatedAt: at }).where(eq(samlIdps.accountId, accountId)).run();
}

/**
 * rememberAssertion records an assertion key until `expiresAt`; it returns false when the key
 * is already there (a replay). Callers purge expired keys first.
 */
export function rememberAssertion(db: Db, key: string, expiresAt: number): boolean {
  const r = db.$client.query("INSERT INTO saml_replay (assertion_id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING").run(key, expiresAt);
  return r.changes === 1;
}

/** purgeAssertions forgets assertion keys whose validity has ended. */
export function purgeAssertions(db: Db, now: number): void {
  db.delete(samlReplay).where(lt(samlReplay.expiresAt, now)).run();
}

/** SamlResponseEntry is one logged SAML response with its XML opened. */
export interface SamlResponseEntry {
  id: number;
  accountId: string;
  receivedAt: number;
  xml: string;
  verdict: "accepted" | "rejected";
  reason: string;
  ip: string;
}

/** SamlResponseLog stores received SAML responses; the XML passes through the personal-data codec. */
export interface SamlResponseLog {
  /** add seals and stores one response; returns its id. */
  add(e: Omit<SamlResponseEntry, "id">): Promise<number>;
  /** list returns an account's responses received at or after `since`, newest first. */
  list(accountId: string, since: number, limit: number): Promise<SamlResponseEntry[]>;
  /** get returns one response of an account. */
  get(accountId: string, id: number): Promise<SamlResponseEntry | undefined>;
  /** purge deletes responses received before `before`, of one account or (without `accountId`) of every account. */
  purge(before: number, accountId?: string): number;
}

/** A random positive 48-bit row id, chosen before insert so the codec can bind it into the sealed value. */
function randomRowId(): number {
  return randomBytes(6).readUIntBE(0, 6) || 1;
}

/** createSamlResponseLog builds the response log over a codec. */
export function createSamlResponseLog(db: Db, codec: PersonalDataCodec): SamlResponseLog {
  const ctx = (accountId: string, id: number) => ({ accountId, table: "saml_responses", column: "xml", rowId: String(id) });
  const open = async (r: typeof samlResponses.$inferSelect): Promise<SamlResponseEntry> => {
    const { xmlSealed, ...rest } = r;
    return { ...rest, xml: await codec.open(ctx(r.accountId, r.id), xmlSealed) };
  };
  return {
    async add(e) {
      for (;;) {
        const id = randomRowId();
        const xmlSealed = await codec.seal(ctx(e.accountId, id), e.xml);
        const r = db.$client
          .query("INSERT INTO saml_responses (id, account_id, received_at, xml_sealed, verdict, reason, ip) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
          .run(id, e.accountId, e.receivedAt, xmlSealed, e.verdict, e.reason.slice(0, 500), e.ip);
        if (r.changes === 1) return id;
      }
    },
    async list(accountId, since, limit) {
      const rows = db
        .select()
        .from(samlResponses)
        .where(and(eq(samlResponses.accountId, accountId), gte(samlResponses.receivedAt, since)))
        .orderBy(desc(samlResponses.receivedAt))
        .limit(limit)
        .all();
      return Promise.all(rows.map(open));
    },
    async get(accountId, id) {
      const r = db.select().from(samlResponses).where(and(eq(samlResponses.accountId, accountId), eq(samlResponses.id, id))).get();
      return r ? open(r) : undefined;
    },
    purge(before, accountId) {
      const r = accountId === undefined
        ? db.$client.query("DELETE FROM saml_responses WHERE received_at < ?").run(before)
        : db.$client.query("DELETE FROM saml_responses WHERE account_id = ? AND received_at < ?").run(accountId, before);
      return r.changes;
    },
  };
}
