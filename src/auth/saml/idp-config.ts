import { auditActor, requirePermission, type Actor } from "../../accounts/actor.ts";
import { cleanText } from "../../accounts/validate.ts";
import { AppError, invalid } from "../../shared/errors.ts";
import { getGroupByName, getRoleByName } from "../../storage/accounts-repo.ts";
import { findSamlIdpByEntityId, getSamlIdp, setSamlIdpEnabled, upsertSamlIdp, type SamlIdpRow } from "../../storage/saml-repo.ts";
import { MAX_CERTIFICATES, fingerprints, inspectCertificate, splitCertificates, type CertInfo } from "./certificates.ts";
import type { SamlDeps } from "./deps.ts";
import { parseIdpMetadata } from "./idp-metadata.ts";

/** AttributeMapping says which assertion attributes carry the user's details. */
export interface AttributeMapping {
  /** E-mail attribute name; "" = the NameID when it is an e-mail address, else "email"/"mail". */
  email: string;
  /** Display-name attribute; "" = "displayName", then "name". */
  name: string;
  /** Group attribute; "" = no group mapping. */
  groups: string;
  /** Attribute value → Conclave group name. */
  groupMap: Record<string, string>;
  /** Role attribute; "" = no role mapping (new users are Members). */
  role: string;
  /** Attribute value → Conclave role name (never Owner). */
  roleMap: Record<string, string>;
}

/** IdpConfig is an account's identity provider as the domain sees it. */
export interface IdpConfig {
  accountId: string;
  entityId: string;
  ssoUrl: string;
  certificates: string[];
  mapping: AttributeMapping;
  enabled: boolean;
  updatedAt: number;
}

/** EMPTY_MAPPING is the mapping of a new configuration. */
export const EMPTY_MAPPING: AttributeMapping = { email: "", name: "", groups: "", groupMap: {}, role: "", roleMap: {} };

const MAX_MAP_LINES = 100;

function toMapping(json: string): AttributeMapping {
  let raw: Partial<AttributeMapping> = {};
  try {
    raw = JSON.parse(json) as Partial<AttributeMapping>;
  } catch {
    raw = {};
  }
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const map = (v: unknown): Record<string, string> =>
    v && typeof v === "object" ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string")) : {};
  return { email: str(raw.email), name: str(raw.name), groups: str(raw.groups), groupMap: map(raw.groupMap), role: str(raw.role), roleMap: map(raw.roleMap) };
}

function fromRow(r: SamlIdpRow): IdpConfig {
  return { accountId: r.accountId, entityId: r.entityId, ssoUrl: r.ssoUrl, certificates: splitCertificates(r.certificates), mapping: toMapping(r.attributeMap), enabled: r.enabled, updatedAt: r.updatedAt };
}

/** loadIdpConfig returns an account's IdP configuration without a permission check (sign-in paths). */
export function loadIdpConfig(deps: SamlDeps, accountId: string): IdpConfig | null {
  const r = getSamlIdp(deps.db, accountId);
  return r ? fromRow(r) : null;
}

/** SsoView is the configuration page's data: the configuration (if any) and its certificates' details. */
export interface SsoView {
  config: IdpConfig | null;
  certificates: CertInfo[];
}

/** viewSsoConfig returns the actor's account's SSO configuration (settings:view). */
export function viewSsoConfig(deps: SamlDeps, actor: Actor): SsoView {
  requirePermission(actor, "settings:view");
  const config = loadIdpConfig(deps, actor.accountId);
  const certificates = (config?.certificates ?? []).flatMap((p) => {
    const r = inspectCertificate(p);
    return r.ok ? [r.info] : [];
  });
  return { config, certificates };
}

/** IdpInput is the configuration form: metadata XML (upload or paste) or manual fields, plus the mapping. */
export interface IdpInput {
  metadataXml: string;
  entityId: string;
  ssoUrl: string;
  certificates: string;
  emailAttribute: string;
  nameAttribute: string;
  groupsAttribute: string;
  groupMap: string;
  roleAttribute: string;
  roleMap: string;
}

/** parseValueMap reads "attribute value = Conclave name" lines; returns the map or a problem. */
export function parseValueMap(text: string): { map: Record<string, string> } | { problem: string } {
  const map: Record<string, string> = {};
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length > MAX_MAP_LINES) return { problem: `At most ${MAX_MAP_LINES} lines.` };
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq < 1) return { problem: `“${line.slice(0, 60)}” needs the form: attribute value = name.` };
    const value = line.slice(0, eq).trim();
    const name = cleanText(line.slice(eq + 1));
    if (!value || !name) return { problem: `“${line.slice(0, 60)}” needs a value on both sides of “=”.` };
    if (value.length > 200 || name.length > 100) return { problem: `“${line.slice(0, 60)}” is too long.` };
    map[value] = name;
  }
  return { map };
}

/** formatValueMap renders a map back into form lines. */
export function formatValueMap(map: Record<string, string>): string {
  return Object.entries(map).map(([v, n]) => `${v} = ${n}`).join("\n");
}

/** checkSsoUrl tells why an IdP SSO URL is unusable, or returns null. */
export function checkSsoUrl(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "Enter the full URL, starting with https://.";
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) return "The SSO URL must use https:// (plain http is allowed only for 127.0.0.1 and localhost).";
  if (u.username || u.password) return "The SSO URL must not contain a user name or password.";
  if (raw.length > 2048) return "The SSO URL is too long.";
  return null;
}

const ATTR_NAME = /^[^\s<>"'&]{1,256}$/;

function auditView(c: Pick<IdpConfig, "entityId" | "ssoUrl" | "certificates" | "mapping" | "enabled">): Record<string, unknown> {
  return { entityId: c.entityId, ssoUrl: c.ssoUrl, certificates: fingerprints(c.certificates), mapping: c.mapping, enabled: c.enabled };
}

/**
 * configureIdp validates and stores the account's IdP (settings:edit). Metadata, when given,
 * supplies entity id, SSO URL and certificates; otherwise the manual fields do. Nothing is
 * stored when any field is wrong (AppError invalid_input with per-field messages).
 */
export function configureIdp(deps: SamlDeps, actor: Actor, input: IdpInput): IdpConfig {
  requirePermission(actor, "settings:edit");
  const errors: Record<string, string> = {};
  let entityId = input.entityId.trim();
  let ssoUrl = input.ssoUrl.trim();
  let pems = splitCertificates(input.certificates);
  if (input.metadataXml.trim()) {
    const m = parseIdpMetadata(input.metadataXml);
    if (!m.ok) errors.metadata = m.problem;
    else ({ entityId, ssoUrl, certificates: pems } = m.idp);
  }
  if (!errors.metadata) {
    if (!entityId) errors.entityId = "Required (the IdP's entity id or issuer, often a URL).";
    else if (entityId.length > 1024 || /[\s\u0000-\u001f]/.test(entityId)) errors.entityId = "An entity id is at most 1024 characters without spaces.";
    else {
      const owner = findSamlIdpByEntityId(deps.db, entityId);
      if (owner && owner.accountId !== actor.accountId) errors.entityId = "Another organisation on this server already uses this identity provider entity id. Each organisation needs its own IdP application.";
    }
    const urlProblem = ssoUrl ? checkSsoUrl(ssoUrl) : "Required (the IdP's single sign-on URL for the HTTP-Redirect binding).";
    if (urlProblem) errors.ssoUrl = urlProblem;
    if (!pems.length) errors.certificates = "Paste the IdP's signing certificate (PEM).";
    else if (pems.length > MAX_CERTIFICATES) errors.certificates = `At most ${MAX_CERTIFICATES} certificates.`;
    else {
      const bad = pems.map((p, i) => [i, inspectCertificate(p)] as const).find(([, r]) => !r.ok);
      if (bad && !bad[1].ok) errors.certificates = `Certificate ${bad[0] + 1} ${bad[1].problem}.`;
    }
    if (errors.entityId || errors.ssoUrl || errors.certificates) {
      if (input.metadataXml.trim()) errors.metadata = [errors.entityId, errors.ssoUrl, errors.certificates].filter(Boolean).join(" ");
    }
  }
  const mapping: AttributeMapping = { ...EMPTY_MAPPING };
  const attr = (field: keyof IdpInput, key: "email" | "name" | "groups" | "role") => {
    const v = input[field].trim();
    if (v && !ATTR_NAME.test(v)) errors[field] = "An attribute name is 1–256 characters without spaces, quotes or angle brackets.";
    mapping[key] = v;
  };
  attr("emailAttribute", "email");
  attr("nameAttribute", "name");
  attr("groupsAttribute", "groups");
  attr("roleAttribute", "role");
  const groupMap = parseValueMap(input.groupMap);
  if ("problem" in groupMap) errors.groupMap = groupMap.problem;
  else {
    const unknown = [...new Set(Object.values(groupMap.map))].filter((n) => !getGroupByName(deps.db, actor.accountId, n));
    if (unknown.length) errors.groupMap = `No group is named ${unknown.map((n) => `“${n}”`).join(", ")}. Create the groups first.`;
    else if (Object.keys(groupMap.map).length && !mapping.groups) errors.groupsAttribute = "Name the attribute that carries the groups.";
    mapping.groupMap = groupMap.map;
  }
  const roleMap = parseValueMap(input.roleMap);
  if ("problem" in roleMap) errors.roleMap = roleMap.problem;
  else {
    for (const n of new Set(Object.values(roleMap.map))) {
      const role = getRoleByName(deps.db, actor.accountId, n);
      if (!role) errors.roleMap = `No role is named “${n}”.`;
      else if (role.kind === "owner") errors.roleMap = "Single sign-on cannot grant the Owner role.";
    }
    if (!errors.roleMap && Object.keys(roleMap.map).length && !mapping.role) errors.roleAttribute = "Name the attribute that carries the role.";
    mapping.roleMap = roleMap.map;
  }
  if (Object.keys(errors).length) throw invalid(errors);

  const before = loadIdpConfig(deps, actor.accountId);
  const now = deps.clock.now();
  const config: IdpConfig = { accountId: actor.accountId, entityId, ssoUrl, certificates: pems, mapping, enabled: before?.enabled ?? false, updatedAt: now };
  deps.db.$client.transaction(() => {
    upsertSamlIdp(deps.db, { accountId: actor.accountId, entityId, ssoUrl, certificates: pems.join(""), attributeMap: JSON.stringify(mapping), enabled: config.enabled, updatedAt: now });
    deps.audit.record(auditActor(actor), {
      action: "sso.configure",
      targetType: "saml_idp",
      targetId: actor.accountId,
      detail: { via: input.metadataXml.trim() ? "metadata" : "manual" },
      before: before ? auditView(before) : null,
      after: auditView(config),
    });
  }).immediate();
  return config;
}

/** setSsoEnabled switches SAML sign-in on or off for the actor's account (settings:edit). */
export function setSsoEnabled(deps: SamlDeps, actor: Actor, enabled: boolean): void {
  requirePermission(actor, "settings:edit");
  const current = loadIdpConfig(deps, actor.accountId);
  if (!current) throw new AppError("conflict", "Configure the identity provider before enabling single sign-on.");
  if (current.enabled === enabled) return;
  deps.db.$client.transaction(() => {
    setSamlIdpEnabled(deps.db, actor.accountId, enabled, deps.clock.now());
    deps.audit.record(auditActor(actor), {
      action: enabled ? "sso.enable" : "sso.disable",
      targetType: "saml_idp",
      targetId: actor.accountId,
      before: { enabled: current.enabled },
      after: { enabled },
    });
  }).immediate();
}
