import { terminateAccount } from "../accounts/account-deletion.ts";
import type { Config } from "../config/schema.ts";
import { createLogger } from "../shared/logger.ts";
import type { Root } from "./root.ts";

/** accountCommand runs `conclave account delete --account ID --shred`. */
export async function accountCommand(root: Root, config: Config, sub: string | undefined, flags: Record<string, string | true>): Promise<number> {
  if (sub !== "delete") {
    console.error("conclave: account needs: delete --account ID --shred");
    return 2;
  }
  const accountId = typeof flags.account === "string" ? flags.account : "";
  if (!accountId || flags.shred !== true) {
    console.error("conclave: account delete needs --account ID and --shred (its data keys are destroyed first; this cannot be undone)");
    return 2;
  }
  const c = await root.assemble(config, createLogger({ level: "warn" }));
  try {
    const r = terminateAccount(c.auth, accountId, (id) => c.keys.shred(id), "shell (conclave account delete --shred)");
    console.log(`account "${r.name}" (${accountId}) deleted; ${r.keys} data key(s) destroyed, so any copy of its content is unreadable.`);
    return 0;
  } finally {
    c.close();
  }
}
