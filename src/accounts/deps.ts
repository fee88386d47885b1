import type { AuditLog } from "../audit/audit-log.ts";
import type { Mailer } from "../notify/mailer.ts";
import type { Clock } from "../shared/clock.ts";
import type { Db } from "../storage/db.ts";
import type { UsersRepo } from "../storage/users-repo.ts";

/** AccountsDeps is what the accounts module needs from the composition root. */
export interface AccountsDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  users: UsersRepo;
  mailer: Mailer;
  invitationDays: number;
}
