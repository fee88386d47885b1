import { checkEmail, cleanText } from "../../accounts/validate.ts";
import { getSamlIdp, listEnabledSamlIdps } from "../../storage/saml-repo.ts";
import type { SamlDeps } from "./deps.ts";
import { allowedDomains } from "./provision.ts";

/**
 * findSsoAccount picks the account whose IdP should sign in an e-mail address ("home realm
 * discovery"): the account of an existing user with that address when SSO is enabled there;
 * otherwise, for an unknown address, the one SSO-enabled account whose allowed domains list
 * the address's domain (so the user can be created just in time). Null when there is none, or
 * when several accounts list the domain (ambiguous).
 */
export async function findSsoAccount(deps: SamlDeps, rawEmail: string): Promise<string | null> {
  const email = cleanText(rawEmail);
  if (Object.keys(checkEmail("email", email)).length) return null;
  const user = await deps.users.findByEmail(email);
  if (user) return getSamlIdp(deps.db, user.accountId)?.enabled ? user.accountId : null;
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  const candidates = listEnabledSamlIdps(deps.db).filter((idp) => allowedDomains(deps, idp.accountId).includes(domain));
  return candidates.length === 1 ? candidates[0]!.accountId : null;
}
