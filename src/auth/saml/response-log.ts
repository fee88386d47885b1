import { requirePermission, type Actor } from "../../accounts/actor.ts";
import { notFound } from "../../shared/errors.ts";
import { purgeAssertions, type SamlResponseEntry } from "../../storage/saml-repo.ts";
import type { SamlDeps } from "./deps.ts";

/** RESPONSE_LOG_DAYS is how long received SAML responses are kept. */
export const RESPONSE_LOG_DAYS = 7;

const DAY_MS = 86_400_000;
const MAX_LISTED = 500;

/** listSamlResponses returns the actor's account's responses of the last 7 days, newest first (settings:view). */
export async function listSamlResponses(deps: SamlDeps, actor: Actor): Promise<SamlResponseEntry[]> {
  requirePermission(actor, "settings:view");
  return deps.samlLog.list(actor.accountId, deps.clock.now() - RESPONSE_LOG_DAYS * DAY_MS, MAX_LISTED);
}

/** getSamlResponse returns one logged response of the actor's account (foreign or purged ids are not found). */
export async function getSamlResponse(deps: SamlDeps, actor: Actor, id: number): Promise<SamlResponseEntry> {
  requirePermission(actor, "settings:view");
  const e = Number.isSafeInteger(id) ? await deps.samlLog.get(actor.accountId, id) : undefined;
  if (!e || e.receivedAt < deps.clock.now() - RESPONSE_LOG_DAYS * DAY_MS) throw notFound("No such SAML response (responses are kept for 7 days).");
  return e;
}

/** purgeSamlData deletes responses older than 7 days and forgets expired assertion ids; call it periodically. */
export function purgeSamlData(deps: SamlDeps): { responses: number } {
  purgeAssertions(deps.db, Date.now()); // assertion expiry is wall-clock time, like node-saml's checks
  return { responses: deps.samlLog.purge(deps.clock.now() - RESPONSE_LOG_DAYS * DAY_MS) };
}
