import { notFound } from "../shared/errors.ts";
import { deleteAccountRows, getAccount } from "../storage/accounts-repo.ts";
import type { AccountsDeps } from "./deps.ts";

/**
 * terminateAccount deletes an account after its keys were destroyed (`shred` runs first, so
 * anything left behind — backups, the WAL, the operation log — is unreadable). The deletion is
 * recorded as a system entry, which stays readable.
 */
export function terminateAccount(deps: AccountsDeps, accountId: string, shred: (accountId: string) => number, by: string): { name: string; keys: number } {
  const account = getAccount(deps.db, accountId);
  if (!account) throw notFound(`No account has the id ${accountId}.`);
  const keys = shred(accountId);
  deps.db.$client.transaction(() => {
    deleteAccountRows(deps.db, accountId);
    deps.audit.record({ accountId: null, userId: null, label: by }, { action: "account.delete", targetType: "account", targetId: accountId, detail: { keysDestroyed: keys, shredded: true } });
  }).immediate();
  return { name: account.name, keys };
}
