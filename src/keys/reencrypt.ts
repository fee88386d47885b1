import { decodeText, isSealedText, parseHeader } from "../crypto/aead/value-format.ts";
import type { Db } from "../storage/db.ts";
import type { PersonalDataCodec } from "../storage/personal-data.ts";

/** SEALED_COLUMNS lists the re-encryptable columns: table, id column, sealed column, and the codec column name. */
const SEALED_COLUMNS = [
  { table: "users", id: "id", column: "email_sealed", codecColumn: "email" },
  { table: "users", id: "id", column: "name_sealed", codecColumn: "name" },
  { table: "users", id: "id", column: "totp_sealed", codecColumn: "totp" },
  { table: "saml_responses", id: "id", column: "xml_sealed", codecColumn: "xml" },
  { table: "meetings", id: "id", column: "topic_sealed", codecColumn: "topic" },
  { table: "meetings", id: "id", column: "description_sealed", codecColumn: "description" },
  { table: "meetings", id: "id", column: "passcode_sealed", codecColumn: "passcode" },
  { table: "meetings", id: "id", column: "dial_passcode_sealed", codecColumn: "dial_passcode" },
  { table: "meetings", id: "id", column: "link_token_sealed", codecColumn: "link_token" },
  { table: "meeting_participants", id: "id", column: "name_sealed", codecColumn: "name" },
  { table: "meeting_participants", id: "id", column: "ip_sealed", codecColumn: "ip" },
  { table: "meeting_participants", id: "id", column: "device_sealed", codecColumn: "device" },
  { table: "meeting_chat", id: "id", column: "text_sealed", codecColumn: "text" },
] as const;

/**
 * reencryptRetired re-seals every value whose data key is no longer active (after `keys rotate`)
 * under the current key. Each value is updated on its own, guarded by its old content, so the
 * job resumes after a crash and never overwrites a newer write. The operation log is not
 * re-encrypted: its hash chain covers the sealed form, and retired keys still decrypt it.
 */
export async function reencryptRetired(
  db: Db,
  codec: PersonalDataCodec,
  onProgress?: (done: number, total: number) => void,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ reencrypted: number; remaining: number; byAccount: Map<string, number> }> {
  const active = new Set((db.$client.query("SELECT id FROM data_keys WHERE status = 'active'").all() as { id: string }[]).map((r) => r.id));
  const todo: { table: string; id: string; column: string; codecColumn: string; accountId: string; value: string }[] = [];
  for (const c of SEALED_COLUMNS) {
    const rows = db.$client.query(`SELECT ${c.id} AS id, account_id AS accountId, ${c.column} AS value FROM ${c.table} WHERE ${c.column} LIKE 'c1:%'`).all() as { id: string | number; accountId: string; value: string }[];
    for (const r of rows) {
      if (!isSealedText(r.value)) continue;
      const dek = Buffer.from(parseHeader(decodeText(r.value)).dekId).toString("hex");
      if (!active.has(dek)) todo.push({ table: c.table, id: String(r.id), column: c.column, codecColumn: c.codecColumn, accountId: r.accountId, value: r.value });
    }
  }
  let done = 0;
  const byAccount = new Map<string, number>();
  for (const t of todo) {
    if (done >= limit) break;
    const ctx = { accountId: t.accountId, table: t.table, column: t.codecColumn, rowId: t.id };
    const plain = await codec.open(ctx, t.value);
    const sealed = await codec.seal(ctx, plain);
    db.$client.query(`UPDATE ${t.table} SET ${t.column} = ? WHERE id = ? AND ${t.column} = ?`).run(sealed, t.id, t.value);
    done++;
    byAccount.set(t.accountId, (byAccount.get(t.accountId) ?? 0) + 1);
    onProgress?.(done, todo.length);
  }
  return { reencrypted: done, remaining: todo.length - done, byAccount };
}
