/**
 * Why a SAML response was refused: a stable code (stored in the response log and the audit
 * entry), an explanation for administrators, and the HTTP status of the error page.
 */
export const SAML_FAILURES = {
  too_large: { status: 400, text: "The SAML response is too large (more than 256 KB). Conclave refuses oversized messages." },
  malformed: { status: 400, text: "The SAML response is not valid base64-encoded XML." },
  doctype: { status: 400, text: "The SAML response contains a DOCTYPE or ENTITY declaration (a possible XML external entity attack). Such responses are refused." },
  not_response: { status: 400, text: "The message is not a SAML 2.0 Response." },
  destination: { status: 400, text: "The response is addressed to another URL: its Destination does not match this organisation's Assertion Consumer Service URL." },
  weak_algorithm: { status: 400, text: "The response is signed with an algorithm Conclave does not accept. Only RSA-SHA256 or RSA-SHA512 signatures with SHA-256/512 digests are accepted; SHA-1 and HMAC are refused. Change the signature algorithm at the identity provider." },
  issuer: { status: 400, text: "The response was issued by a different identity provider than the one configured for this organisation." },
  idp_error: { status: 400, text: "The identity provider reported that sign-in failed." },
  signature: { status: 400, text: "The assertion is not signed, or its signature does not verify with the identity provider certificate configured for this organisation. Make sure the IdP signs assertions and that the configured certificate is current." },
  wrapping: { status: 400, text: "The response has an unexpected structure (several assertions, signatures or duplicate IDs), which is how signature-wrapping attacks look. It was refused." },
  expired: { status: 400, text: "The assertion has expired. If this keeps happening, check that the clocks of the identity provider and this server are correct." },
  not_yet_valid: { status: 400, text: "The assertion is not valid yet. Check that the clocks of the identity provider and this server are correct." },
  audience: { status: 400, text: "The assertion is meant for another service: its Audience is not this organisation's SP entity id." },
  recipient: { status: 400, text: "The assertion's Recipient (or its bearer confirmation) does not match this organisation's Assertion Consumer Service URL." },
  in_response_to: { status: 400, text: "The response answers a sign-in request this server did not send, that expired or that was already answered. Start the sign-in again." },
  replay: { status: 400, text: "This assertion has already been used. Each sign-in assertion works once; start the sign-in again." },
  no_email: { status: 400, text: "The assertion carries no usable e-mail address. Map the e-mail attribute in the SSO settings, or have the IdP send the e-mail address as NameID." },
  disabled: { status: 403, text: "Single sign-on is not enabled for this organisation." },
  domain: { status: 403, text: "This e-mail domain is not allowed to sign in to this organisation." },
  other_account: { status: 403, text: "This e-mail address cannot sign in through this organisation's identity provider." },
  deactivated: { status: 403, text: "This user is deactivated. Ask an administrator of your organisation." },
  invalid: { status: 400, text: "The SAML response could not be validated." },
} as const satisfies Record<string, { status: 400 | 403; text: string }>;

/** SamlFailureCode is one reason a SAML response was refused. */
export type SamlFailureCode = keyof typeof SAML_FAILURES;

/** SamlFailure is a refused response: the code and, for the log, a technical detail. */
export interface SamlFailure {
  code: SamlFailureCode;
  detail?: string;
}

/** failureFromNodeSaml maps a node-saml error message to a failure code. */
export function failureFromNodeSaml(err: unknown): SamlFailure {
  const message = err instanceof Error ? err.message : String(err);
  const detail = message.slice(0, 300);
  const has = (s: string) => message.includes(s);
  if (err instanceof Error && err.name === "SamlStatusError") return { code: "idp_error", detail };
  if (has("multiple assertions") || has("Too many signatures") || has("more than one element") || has("Referenced node") || has("too many transforms") || has("multiple conditions") || has("Only 1 signed references"))
    return { code: "wrapping", detail };
  if (has("SAML provider returned")) return { code: "idp_error", detail };
  if (has("Invalid signature") || has("Invalid document signature") || has("Cannot obtain assertion") || has("signature")) return { code: "signature", detail };
  if (has("not yet valid")) return { code: "not_yet_valid", detail };
  if (has("expired") || has("No valid subject confirmation")) return { code: "expired", detail };
  if (has("udience")) return { code: "audience", detail };
  if (has("InResponseTo")) return { code: "in_response_to", detail };
  if (has("Not a valid XML") || has("XML")) return { code: "malformed", detail };
  return { code: "invalid", detail };
}
