import type { SamlResponseLog } from "../../storage/saml-repo.ts";
import type { AuthDeps } from "../signin.ts";
import type { SamlRequestCache } from "./request-cache.ts";

/** SpKeyPair is the service provider's RSA signing key and certificate (PEM). */
export interface SpKeyPair {
  certPem: string;
  keyPem: string;
}

/** SamlDeps is what single sign-on needs from the composition root. */
export interface SamlDeps extends AuthDeps {
  /** External base URL (no trailing slash); SP entity id and ACS URL derive from it. */
  baseUrl: string;
  /** spKeys returns the SP signing pair (generated on first use, then read from the data directory). */
  spKeys(): SpKeyPair;
  /** Outstanding AuthnRequest ids (InResponseTo), in memory in this process. */
  requests: SamlRequestCache;
  /** Every SAML response received, sealed. */
  samlLog: SamlResponseLog;
}

/** SpUrls are the addresses an IdP admin copies into their console. */
export interface SpUrls {
  /** SP entity id; also where the SP metadata is served. */
  entityId: string;
  metadataUrl: string;
  acsUrl: string;
  loginUrl: string;
}

/** spUrls derives an account's SP addresses from the base URL. */
export function spUrls(baseUrl: string, accountId: string): SpUrls {
  const base = `${baseUrl}/saml/${encodeURIComponent(accountId)}`;
  return { entityId: `${base}/metadata`, metadataUrl: `${base}/metadata`, acsUrl: `${base}/acs`, loginUrl: `${base}/login` };
}
