import { deriveIndexKey, blindIndex } from "../crypto/aead/blind-index.ts";
import { decodeText, encodeText, openValue, parseHeader, sealValue } from "../crypto/aead/value-format.ts";
import type { PersonalContext, PersonalDataCodec } from "../storage/personal-data.ts";
import { plainCodec } from "../storage/personal-data.ts";
import { SERVER_SCOPE, type DataClass, type KeyService, type KeySubject } from "./key-service.ts";

/** COLUMN_CLASSES maps each personal column to the data class whose DEK seals it. */
export const COLUMN_CLASSES: Record<string, DataClass> = {
  "users.email": "user_pii",
  "users.name": "user_pii",
  "users.totp": "totp",
  "saml_responses.xml": "saml",
  "meetings.topic": "meeting_metadata",
  "meetings.description": "meeting_metadata",
  "meetings.passcode": "meeting_metadata",
  "meetings.dial_passcode": "meeting_metadata",
  "meetings.link_token": "meeting_metadata",
  "meeting_participants.name": "meeting_metadata",
  "meeting_participants.ip": "meeting_metadata",
  "meeting_participants.device": "meeting_metadata",
  "meeting_chat.text": "chat",
};

/** subjectOf says whose value this is (users rows belong to that user) and why the key is needed. */
function subjectOf(ctx: PersonalContext): KeySubject {
  const userId = ctx.ownerId ?? (ctx.table === "users" ? ctx.rowId : null);
  return { userId, purpose: `${ctx.table}.${ctx.column}` };
}

function classOf(ctx: PersonalContext): DataClass {
  const c = COLUMN_CLASSES[`${ctx.table}.${ctx.column}`];
  if (!c) throw new Error(`no data class for ${ctx.table}.${ctx.column}`);
  return c;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/**
 * createSealingCodec seals personal data with the account's DEK for the column's data class
 * (value format v1, AAD bound to account, table, column and row) and indexes e-mails with a
 * keyed blind index. Values still in the legacy "p1:" form are read as they are until the
 * re-seal job has converted them.
 *
 * The blind-index master key is a server-wide DEK that is never rotated: rotating it would
 * orphan every stored index.
 */
export async function createSealingCodec(keys: KeyService): Promise<PersonalDataCodec> {
  const master = await keys.sealingKey(SERVER_SCOPE, "blind_index");
  const masterCopy = new Uint8Array(master.key);
  const indexKeys = new Map<string, Uint8Array>();
  return {
    async seal(ctx, value) {
      const dek = await keys.sealingKey(ctx.accountId, classOf(ctx), subjectOf(ctx));
      return encodeText(sealValue({ id: dek.id, version: dek.version, key: dek.key }, ctx, enc.encode(value)));
    },
    async open(ctx, sealed) {
      if (sealed.startsWith("p1:")) return plainCodec.open(ctx, sealed);
      const bytes = decodeText(sealed);
      const header = parseHeader(bytes);
      const dek = await keys.openingKey(Buffer.from(header.dekId).toString("hex"), subjectOf(ctx));
      return dec.decode(openValue(() => dek.key, ctx, bytes));
    },
    index(column, normalised) {
      let k = indexKeys.get(column);
      if (!k) indexKeys.set(column, (k = deriveIndexKey(masterCopy, column)));
      return blindIndex(k, normalised);
    },
  };
}
