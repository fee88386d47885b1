import { decodeText, encodeText, openValue, parseHeader, sealValue } from "../crypto/aead/value-format.ts";
import type { DetailsSealer } from "../audit/audit-log.ts";
import { AppError } from "../shared/errors.ts";
import type { KeyService } from "./key-service.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const binding = (accountId: string, entryId: string) => ({ accountId, table: "audit_log", column: "details", rowId: entryId });

/**
 * createAuditSealer seals operation-log details with the account's "audit" DEK. The log is
 * written inside synchronous transactions, so the DEK must already be in memory: `prepare`
 * warms it (at start for every account, and before an account's first entry). When it is not
 * there (keys wiped after a denial), sealing fails closed and the change is not made.
 */
export function createAuditSealer(keys: KeyService): DetailsSealer {
  return {
    prepare: (accountId) => keys.warm(accountId, "audit"),
    seal(accountId, entryId, json) {
      const dek = keys.sealingKeySync(accountId, "audit");
      if (!dek) throw new AppError("unavailable", "The operation log's key is not available, so the change was not made. Check the key provider (conclave keys status).");
      return encodeText(sealValue({ id: dek.id, version: dek.version, key: dek.key }, binding(accountId, entryId), enc.encode(json)));
    },
    openSync(accountId, entryId, stored) {
      if (!stored.startsWith("c1:")) return stored;
      const bytes = decodeText(stored);
      const dek = keys.openingKeySync(Buffer.from(parseHeader(bytes).dekId).toString("hex"));
      if (!dek) throw new AppError("unavailable", "The operation log's key is not in memory.");
      return dec.decode(openValue(() => dek.key, binding(accountId, entryId), bytes));
    },
    async open(accountId, entryId, stored) {
      if (!stored.startsWith("c1:")) return stored;
      const bytes = decodeText(stored);
      const idHex = Buffer.from(parseHeader(bytes).dekId).toString("hex");
      const dek = keys.openingKeySync(idHex) ?? (await keys.openingKey(idHex));
      return dec.decode(openValue(() => dek.key, binding(accountId, entryId), bytes));
    },
  };
}
