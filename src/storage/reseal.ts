import type { Db } from "./db.ts";
import { normaliseEmail, type PersonalDataCodec } from "./personal-data.ts";

/**
 * resealLegacy converts personal data stored before encryption ("p1:" values, "h1:" indexes)
 * to the current codec, row by row in small transactions, so it resumes after a crash.
 * Returns how many rows changed.
 */
export async function resealLegacy(db: Db, legacy: PersonalDataCodec, codec: PersonalDataCodec, onProgress?: (done: number, total: number) => void): Promise<number> {
  type U = { id: string; account_id: string; email_sealed: string; name_sealed: string; totp_sealed: string | null; email_index: string };
  const users = db.$client
    .query("SELECT id, account_id, email_sealed, name_sealed, totp_sealed, email_index FROM users WHERE email_sealed LIKE 'p1:%' OR name_sealed LIKE 'p1:%' OR totp_sealed LIKE 'p1:%' OR email_index LIKE 'h1:%'")
    .all() as U[];
  type S = { id: number; account_id: string; xml_sealed: string };
  const saml = db.$client.query("SELECT id, account_id, xml_sealed FROM saml_responses WHERE xml_sealed LIKE 'p1:%'").all() as S[];
  const total = users.length + saml.length;
  let done = 0;
  for (const u of users) {
    const ctx = (column: string) => ({ accountId: u.account_id, table: "users", column, rowId: u.id });
    const email = await legacy.open(ctx("email"), u.email_sealed).catch(() => null);
    const emailSealed = email !== null ? await codec.seal(ctx("email"), email) : u.email_sealed;
    const name = await legacy.open(ctx("name"), u.name_sealed).catch(() => null);
    const nameSealed = name !== null ? await codec.seal(ctx("name"), name) : u.name_sealed;
    const totp = u.totp_sealed ? await legacy.open(ctx("totp"), u.totp_sealed).catch(() => null) : null;
    const totpSealed = totp !== null ? await codec.seal(ctx("totp"), totp) : u.totp_sealed;
    const plainEmail = email ?? (await codec.open(ctx("email"), emailSealed));
    const index = codec.index("users.email", normaliseEmail(plainEmail));
    db.$client.query("UPDATE users SET email_sealed = ?, name_sealed = ?, totp_sealed = ?, email_index = ? WHERE id = ?").run(emailSealed, nameSealed, totpSealed, index, u.id);
    done++;
    onProgress?.(done, total);
  }
  for (const s of saml) {
    const ctx = { accountId: s.account_id, table: "saml_responses", column: "xml", rowId: String(s.id) };
    const xml = await legacy.open(ctx, s.xml_sealed);
    db.$client.query("UPDATE saml_responses SET xml_sealed = ? WHERE id = ?").run(await codec.seal(ctx, xml), s.id);
    done++;
    onProgress?.(done, total);
  }
  return done;
}
