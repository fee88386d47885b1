import { decodeText, encodeText, openValue, parseHeader, sealValue } from "../crypto/aead/value-format.ts";
import type { KeyService } from "./key-service.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const binding = (accountId: string, id: string) => ({ accountId, table: "cmk_recipients", column: "email", rowId: id });

/**
 * sealRecipientEmail seals a key-status recipient's address under the account's server-key
 * user-data DEK — never under the customer key, since the address must be readable exactly
 * when that key is not.
 */
export async function sealRecipientEmail(keys: KeyService, accountId: string, id: string, email: string): Promise<string> {
  const dek = await keys.sealingKey(accountId, "user_pii", { keyScope: "server", purpose: "cmk_recipients.email" });
  return encodeText(sealValue({ id: dek.id, version: dek.version, key: dek.key }, binding(accountId, id), enc.encode(email)));
}

/** openRecipientEmail opens a sealed recipient address. */
export async function openRecipientEmail(keys: KeyService, accountId: string, id: string, sealed: string): Promise<string> {
  const bytes = decodeText(sealed);
  const dek = await keys.openingKey(Buffer.from(parseHeader(bytes).dekId).toString("hex"), { purpose: "cmk_recipients.email" });
  return dec.decode(openValue(() => dek.key, binding(accountId, id), bytes));
}
