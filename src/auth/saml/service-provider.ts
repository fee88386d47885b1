import { X509Certificate } from "node:crypto";
import { SAML, ValidateInResponseTo, generateServiceProviderMetadata } from "@node-saml/node-saml";
import { notFound } from "../../shared/errors.ts";
import { getAccount } from "../../storage/accounts-repo.ts";
import { spUrls, type SamlDeps } from "./deps.ts";
import type { IdpConfig } from "./idp-config.ts";
import { loadIdpConfig } from "./idp-config.ts";
import { REQUEST_TTL_MS } from "./request-cache.ts";
import { safeReturnPath } from "./return-path.ts";

/** CLOCK_SKEW_MS is the clock difference tolerated between the IdP and this server. */
export const CLOCK_SKEW_MS = 60_000;

const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/**
 * samlFor builds node-saml for one account: the IdP certificates are the only trusted keys
 * (KeyInfo in a response is ignored), assertions must be signed, the audience is the SP entity
 * id, InResponseTo is checked whenever a response carries one, and requests are signed with
 * RSA-SHA256. A response signature is optional, but pass `responseSigned` when the Response
 * carries one: node-saml then requires it to verify (otherwise it would skip a bad one).
 */
export function samlFor(deps: SamlDeps, config: IdpConfig, opts: { responseSigned?: boolean } = {}): SAML {
  const urls = spUrls(deps.baseUrl, config.accountId);
  const keys = deps.spKeys();
  return new SAML({
    idpCert: config.certificates,
    issuer: urls.entityId,
    audience: urls.entityId,
    callbackUrl: urls.acsUrl,
    entryPoint: config.ssoUrl,
    idpIssuer: config.entityId,
    privateKey: keys.keyPem,
    publicCert: keys.certPem,
    signatureAlgorithm: "sha256",
    digestAlgorithm: "sha256",
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: opts.responseSigned === true,
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    cacheProvider: deps.requests.forAccount(config.accountId),
    // Ask for no particular NameID format or authentication context: IdPs that enforce MFA
    // answer "exact PasswordProtectedTransport" requests with an error.
    identifierFormat: null,
    disableRequestedAuthnContext: true,
  });
}

/** spMetadataXml renders the SP metadata of an existing account (404 for unknown ids). */
export function spMetadataXml(deps: SamlDeps, accountId: string): string {
  if (!getAccount(deps.db, accountId)) throw notFound("There is no page at this address.");
  const urls = spUrls(deps.baseUrl, accountId);
  const keys = deps.spKeys();
  return generateServiceProviderMetadata({
    issuer: urls.entityId,
    callbackUrl: urls.acsUrl,
    privateKey: keys.keyPem,
    publicCerts: keys.certPem,
    signatureAlgorithm: "sha256",
    digestAlgorithm: "sha256",
    wantAssertionsSigned: true,
    identifierFormat: EMAIL_FORMAT,
  });
}

/** spCertificateFingerprint is the SHA-256 fingerprint of the SP signing certificate (shown to admins). */
export function spCertificateFingerprint(deps: SamlDeps): string {
  return new X509Certificate(deps.spKeys().certPem).fingerprint256;
}

/** LoginStart is where to send the browser: the IdP, or an explanation why not. */
export type LoginStart = { ok: true; url: string } | { ok: false; reason: "disabled" };

/**
 * startLogin builds the signed HTTP-Redirect AuthnRequest URL for an account and remembers the
 * request id; RelayState carries only a local return path. Unknown accounts are not found.
 */
export async function startLogin(deps: SamlDeps, accountId: string, returnPath: string): Promise<LoginStart> {
  const account = getAccount(deps.db, accountId);
  if (!account) throw notFound("There is no page at this address.");
  const config = loadIdpConfig(deps, accountId);
  if (!config?.enabled || account.status !== "active") return { ok: false, reason: "disabled" };
  const url = await samlFor(deps, config).getAuthorizeUrlAsync(safeReturnPath(returnPath), undefined, {});
  return { ok: true, url };
}
