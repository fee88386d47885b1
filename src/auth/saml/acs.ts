import type { AuditActor } from "../../audit/audit-log.ts";
import { notFound } from "../../shared/errors.ts";
import { getAccount } from "../../storage/accounts-repo.ts";
import type { UserRecord } from "../../storage/users-repo.ts";
import { createSession, type NewSession } from "../sessions.ts";
import type { SamlDeps } from "./deps.ts";
import { SAML_FAILURES, type SamlFailure, type SamlFailureCode } from "./failures.ts";
import { loadIdpConfig } from "./idp-config.ts";
import { provisionSamlUser } from "./provision.ts";
import { RESPONSE_LOG_DAYS } from "./response-log.ts";
import { safeReturnPath } from "./return-path.ts";
import { decodeSamlResponse, verifySamlResponse } from "./verify-response.ts";

/** AcsInput is the POSTed form of the HTTP-POST binding. */
export interface AcsInput {
  samlResponse: string;
  relayState: string;
  /** Set when the HTTP layer refused to read an oversized body (its size in bytes, if known). */
  oversizedBody?: number;
}

/** AcsResult is a new session and where to go, or a refusal with a message for the error page. */
export type AcsResult =
  | { ok: true; session: NewSession; user: UserRecord; created: boolean; returnPath: string }
  | { ok: false; code: SamlFailureCode; message: string; status: 400 | 403 };

/** RequestMeta is where the POST came from. */
export interface RequestMeta {
  ip: string;
  userAgent: string;
}

const label = (entityId: string | null) => (entityId ? `SAML sign-in (${entityId.slice(0, 200)})` : "SAML sign-in");

async function logResponse(deps: SamlDeps, accountId: string, xml: string, verdict: "accepted" | "rejected", reason: string, ip: string): Promise<void> {
  const now = deps.clock.now();
  deps.samlLog.purge(now - RESPONSE_LOG_DAYS * 86_400_000, accountId);
  await deps.samlLog.add({ accountId, receivedAt: now, xml, verdict, reason, ip });
}

/**
 * consumeSamlResponse handles a POST to an account's ACS: SSO must be enabled, the response
 * must pass every check in verifySamlResponse, and the named user must belong to this account.
 * Every response is logged (sealed) with its verdict; every outcome is audited; a session is
 * created only on success. An unknown account id is not found (audited without an account).
 */
export async function consumeSamlResponse(deps: SamlDeps, accountId: string, input: AcsInput, meta: RequestMeta): Promise<AcsResult> {
  const account = getAccount(deps.db, accountId);
  if (!account) {
    deps.audit.record({ accountId: null, userId: null, label: label(null), ...meta }, { action: "signin.failure", detail: { method: "saml", reason: "unknown_account" } });
    throw notFound("There is no page at this address.");
  }
  const config = loadIdpConfig(deps, accountId);
  const actor: AuditActor = { accountId, userId: null, label: label(config?.entityId ?? null), ...meta };

  const refuse = async (failure: SamlFailure, xml: string, extra: { email?: string; user?: UserRecord } = {}): Promise<AcsResult> => {
    await logResponse(deps, accountId, xml, "rejected", failure.detail ? `${failure.code}: ${failure.detail}` : failure.code, meta.ip);
    const sameAccountUser = extra.user && extra.user.accountId === accountId ? extra.user : undefined;
    deps.audit.record(actor, {
      action: "signin.failure",
      targetType: sameAccountUser ? "user" : undefined,
      targetId: sameAccountUser?.id,
      detail: { method: "saml", reason: failure.code, ...(failure.detail ? { detail: failure.detail } : {}), ...(extra.email ? { email: extra.email } : {}) },
    });
    if (failure.code === "other_account" && extra.user) {
      // The user's own organisation learns that a foreign IdP asserted their identity.
      deps.audit.record(
        { accountId: extra.user.accountId, userId: null, label: label(config?.entityId ?? null), ...meta },
        { action: "signin.failure", targetType: "user", targetId: extra.user.id, detail: { method: "saml", reason: "other_account", assertedByAccount: accountId } },
      );
    }
    const f = SAML_FAILURES[failure.code];
    return { ok: false, code: failure.code, message: f.text, status: f.status };
  };

  if (input.oversizedBody !== undefined) return refuse({ code: "too_large", detail: `request body of ${input.oversizedBody || "unknown"} bytes` }, "(not stored: request body too large)");
  if (!config || !config.enabled || account.status !== "active") {
    const d = decodeSamlResponse(input.samlResponse);
    return refuse({ code: "disabled", detail: !config ? "no identity provider configured" : !config.enabled ? "SSO switched off" : "account suspended" }, d.xml);
  }
  const v = await verifySamlResponse(deps, config, input.samlResponse);
  if (!v.ok) return refuse(v.failure, v.xml);
  const p = await provisionSamlUser(deps, config, v.assertion, actor);
  if (!p.ok) return refuse(p.failure, v.xml, { email: p.email, user: p.user });

  const user = p.user;
  const session = createSession(deps, user, meta);
  deps.users.update(accountId, user.id, { lastSignInAt: deps.clock.now() });
  deps.audit.record(
    { ...meta, accountId, userId: user.id, label: `${user.name} <${user.email}>` },
    { action: "signin.success", targetType: "user", targetId: user.id, detail: { method: "saml", idp: config.entityId, assertionId: v.assertion.assertionId, jit: p.created } },
  );
  await logResponse(deps, accountId, v.xml, "accepted", p.created ? "accepted (user created)" : "accepted", meta.ip);
  return { ok: true, session, user, created: p.created, returnPath: safeReturnPath(input.relayState) };
}
