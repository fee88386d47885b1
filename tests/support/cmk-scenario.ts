// Helpers shared by the customer-managed key scenarios that run per provider through the real
// assembly (in-process app): which key sealed a value, what wraps that key, the account's key
// status, and the standard enrolment (services, licence, options, recipient).

import { expect } from "bun:test";
import type { Actor } from "../../src/accounts/actor.ts";
import { decodeText, parseHeader } from "../../src/crypto/aead/value-format.ts";
import type { PersonalContext } from "../../src/storage/personal-data.ts";
import type { TestApp } from "../helpers/test-app.ts";

/** CmkWorld is what a scenario has once its beforeEach ran. */
export interface CmkWorld {
  t: TestApp;
  actor: Actor;
  licensedId: string;
}

/** cmkHelpers binds the helpers to the current test's world (read at call time). */
export function cmkHelpers(world: () => CmkWorld) {
  return {
    /** ctx is the sealing context of a user's name. */
    ctx: (rowId: string): PersonalContext => ({ accountId: world().actor.accountId, table: "users", column: "name", rowId }),
    /** dekOf names the data key a sealed value was sealed under. */
    dekOf: (sealed: string): string => Buffer.from(parseHeader(decodeText(sealed)).dekId).toString("hex"),
    /** wrappedBy is "<provider>:<key>" of what wraps a data key. */
    wrappedBy: (dekId: string): string => (world().t.db.$client.query("SELECT wrapped_by AS w FROM data_keys WHERE id = ?").get(dekId) as { w: string }).w,
    /** status is the account's customer-managed key status. */
    status: (): string | undefined => world().t.cmk.overview(world().actor.accountId).settings?.status,
    /** fallbackUserKeys counts user-data keys sealed under the fallback key (must stay 0 on a denial). */
    fallbackUserKeys: (): unknown =>
      world().t.db.$client.query("SELECT count(*) AS n FROM cmk_data_keys WHERE account_id = ? AND slot = 'fallback' AND data_class = 'user_pii'").get(world().actor.accountId),
    /** enrol tests and adds the key, protects user data, audit and chat, licenses the Owner, adds a recipient. */
    async enrol(key: { provider: string; keyRef: string }, fallback: boolean): Promise<void> {
      const { t, actor, licensedId } = world();
      const h = await t.cmk.testKey(actor, { ...key, replicas: [] });
      expect(h.ok).toBe(true);
      await t.cmk.addKey(actor, { ...key, replicas: [] });
      await t.cmk.setServices(actor, ["user_pii", "audit", "chat"]);
      await t.cmk.setLicences(actor, [licensedId]);
      await t.cmk.setOptions(actor, { fallback, dropMeetings: true });
      await t.cmk.addRecipient(actor, "secops@a.example");
    },
  };
}
