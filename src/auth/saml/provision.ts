import type { AccountsDeps } from "../../accounts/deps.ts";
import { checkEmail, cleanText } from "../../accounts/validate.ts";
import type { AuditActor } from "../../audit/audit-log.ts";
import { newId } from "../../shared/ids.ts";
import { getRole, getRoleByKind, getRoleByName, getGroupByName, groupIdsOfUser, groupsByIds, setUserGroups, type RoleRow } from "../../storage/accounts-repo.ts";
import { deleteUserSessions } from "../../storage/sessions-repo.ts";
import type { UserRecord } from "../../storage/users-repo.ts";
import { emailDomainAllowed, securityPolicy } from "../policy.ts";
import type { SamlDeps } from "./deps.ts";
import type { SamlFailure } from "./failures.ts";
import type { AttributeMapping, IdpConfig } from "./idp-config.ts";
import type { VerifiedAssertion } from "./verify-response.ts";

/** Common attribute names tried when the mapping leaves a field at its default. */
const DEFAULT_EMAIL_ATTRIBUTES = ["email", "mail", "urn:oid:0.9.2342.19200300.100.1.3", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"];
const DEFAULT_NAME_ATTRIBUTES = ["displayName", "name", "urn:oid:2.16.840.1.113730.3.1.241", "http://schemas.microsoft.com/identity/claims/displayname"];

/** SamlIdentity is who the assertion names, after the attribute mapping. */
export interface SamlIdentity {
  email: string;
  name: string;
  /** Group ids the mapping assigns (null when no group mapping is configured). */
  groupIds: string[] | null;
  /** Role the mapping assigns (null when none applies). */
  role: RoleRow | null;
}

function isEmail(v: string): boolean {
  return Object.keys(checkEmail("e", v)).length === 0;
}

function first(attrs: Record<string, string[]>, names: string[]): string {
  for (const n of names) {
    const v = attrs[n]?.find((x) => x.length > 0);
    if (v) return v;
  }
  return "";
}

/** mapIdentity applies an account's attribute mapping to a verified assertion. */
export function mapIdentity(deps: SamlDeps, accountId: string, mapping: AttributeMapping, a: VerifiedAssertion): SamlIdentity | null {
  const email = cleanText(mapping.email ? first(a.attributes, [mapping.email]) : isEmail(a.nameId) ? a.nameId : first(a.attributes, DEFAULT_EMAIL_ATTRIBUTES));
  if (!isEmail(email)) return null;
  let name = cleanText(first(a.attributes, mapping.name ? [mapping.name] : DEFAULT_NAME_ATTRIBUTES));
  if (!name) name = email.split("@")[0]!;
  name = [...name].slice(0, 100).join("");
  let groupIds: string[] | null = null;
  if (mapping.groups) {
    const names = new Set((a.attributes[mapping.groups] ?? []).map((v) => mapping.groupMap[v]).filter((n): n is string => !!n));
    groupIds = [...names].flatMap((n) => getGroupByName(deps.db, accountId, n)?.id ?? []);
  }
  let role: RoleRow | null = null;
  if (mapping.role) {
    const values = new Set(a.attributes[mapping.role] ?? []);
    // The first mapping line whose value the assertion carries wins.
    const hit = Object.entries(mapping.roleMap).find(([v]) => values.has(v));
    const r = hit ? getRoleByName(deps.db, accountId, hit[1]) : undefined;
    if (r && r.kind !== "owner") role = r;
  }
  return { email, name, groupIds, role };
}

/** allowedDomains reads the account's `sso.allowed_domains` setting (empty list = any domain). */
export function allowedDomains(deps: AccountsDeps, accountId: string): string[] {
  return securityPolicy(deps, accountId, null).allowedDomains.map((d) => d.toLowerCase());
}

/** domainAllowed tells whether an e-mail address may sign in to an account under its domain restriction. */
export function domainAllowed(deps: AccountsDeps, accountId: string, email: string): boolean {
  return emailDomainAllowed(email, allowedDomains(deps, accountId));
}

/** ProvisionResult is the signed-in user, or why nobody may sign in. */
export type ProvisionResult = { ok: true; user: UserRecord; created: boolean } | { ok: false; failure: SamlFailure; email?: string; user?: UserRecord };

/** groupsAfter keeps memberships the mapping does not manage and sets the ones it does. */
function groupsAfter(current: string[], mapping: AttributeMapping, deps: SamlDeps, accountId: string, mapped: string[]): string[] {
  const managed = new Set(Object.values(mapping.groupMap).flatMap((n) => getGroupByName(deps.db, accountId, n)?.id ?? []));
  return [...new Set([...current.filter((g) => !managed.has(g)), ...mapped])];
}

const groupNames = (deps: SamlDeps, accountId: string, ids: string[]): string[] => groupsByIds(deps.db, accountId, ids).map((g) => g.name).sort();

/**
 * provisionSamlUser finds or creates (just in time) the user an assertion names, in the
 * account whose IdP issued it. A user of another account, a deactivated user or a domain
 * outside `sso.allowed_domains` is refused. Existing users get the mapped role and groups
 * when a mapping is configured; nobody is ever made Owner, and the Owner's role never changes.
 */
export async function provisionSamlUser(deps: SamlDeps, config: IdpConfig, a: VerifiedAssertion, actor: AuditActor): Promise<ProvisionResult> {
  const accountId = config.accountId;
  const id = mapIdentity(deps, accountId, config.mapping, a);
  if (!id) return { ok: false, failure: { code: "no_email", detail: `NameID ${a.nameId.slice(0, 100)}` } };
  if (!domainAllowed(deps, accountId, id.email)) return { ok: false, failure: { code: "domain", detail: id.email }, email: id.email };
  const existing = await deps.users.findByEmail(id.email);
  if (existing && existing.accountId !== accountId) return { ok: false, failure: { code: "other_account", detail: id.email }, email: id.email, user: existing };
  if (existing?.status === "deactivated") return { ok: false, failure: { code: "deactivated", detail: id.email }, email: id.email, user: existing };
  const now = deps.clock.now();

  if (!existing) {
    const role = id.role ?? getRoleByKind(deps.db, accountId, "member")!;
    const groupIds = id.groupIds ?? [];
    const userId = newId();
    const prepared = await deps.users.prepare({ id: userId, accountId, roleId: role.id, email: id.email, name: id.name, status: "active", passwordHash: null, now });
    deps.db.$client.transaction(() => {
      deps.users.insert({ ...prepared, origin: "saml", activatedAt: now });
      setUserGroups(deps.db, accountId, userId, groupIds);
      deps.audit.record(actor, { action: "user.jit_create", targetType: "user", targetId: userId, after: { email: id.email, name: id.name, role: role.name, groups: groupNames(deps, accountId, groupIds), origin: "saml" } });
    }).immediate();
    return { ok: true, user: (await deps.users.get(accountId, userId))!, created: true };
  }

  const currentRole = getRole(deps.db, accountId, existing.roleId)!;
  const newRole = id.role && currentRole.kind !== "owner" && id.role.id !== currentRole.id ? id.role : currentRole;
  const currentGroups = groupIdsOfUser(deps.db, accountId, existing.id);
  const newGroups = id.groupIds === null ? currentGroups : groupsAfter(currentGroups, config.mapping, deps, accountId, id.groupIds);
  const groupsChanged = newGroups.length !== currentGroups.length || newGroups.some((g) => !currentGroups.includes(g));
  const activate = existing.status === "invited";
  if (newRole.id !== currentRole.id || groupsChanged || activate) {
    deps.db.$client.transaction(() => {
      if (newRole.id !== currentRole.id) {
        deps.users.update(accountId, existing.id, { roleId: newRole.id, updatedAt: now });
        deleteUserSessions(deps.db, accountId, existing.id); // privilege change: older sessions end
      }
      if (activate) deps.users.update(accountId, existing.id, { status: "active", activatedAt: now, updatedAt: now });
      if (groupsChanged) setUserGroups(deps.db, accountId, existing.id, newGroups);
      deps.audit.record(actor, {
        action: "user.jit_update",
        targetType: "user",
        targetId: existing.id,
        before: { role: currentRole.name, groups: groupNames(deps, accountId, currentGroups), status: existing.status },
        after: { role: newRole.name, groups: groupNames(deps, accountId, newGroups), status: "active" },
      });
    }).immediate();
  }
  return { ok: true, user: (await deps.users.get(accountId, existing.id))!, created: false };
}
