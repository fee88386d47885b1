import { AppError, invalid, notFound } from "../shared/errors.ts";
import { getGroup, groupIdsOfUser, groupsByIds } from "../storage/accounts-repo.ts";
import { deleteSetting, settingsFor, upsertSetting, type SettingLevel, type SettingRow } from "../storage/settings-repo.ts";
import { auditActor, requirePermission, type Actor } from "./actor.ts";
import type { AccountsDeps } from "./deps.ts";
import { SETTINGS, isSettingKey, parseSettingValue, settingAllowedAt, type SettingKey, type SettingValue } from "./setting-definitions.ts";

/**
 * The settings hierarchy: default → account → group(s) → user. A value locked at the account
 * or a group level cannot be changed below it. When a user is in several groups that set the
 * same key, a locked group value wins over an unlocked one, then groups are taken by name.
 */

/** Source says where an effective value came from. */
export interface Source {
  level: "default" | SettingLevel;
  name: string;
}

/** Effective is a setting's resolved value at some scope. */
export interface Effective {
  key: SettingKey;
  value: SettingValue;
  source: Source;
  /** Set when a level above the scope locks the value (it cannot be changed at the scope). */
  lockedBy: Source | null;
  /** The value stored at this very scope, if any, and whether it is locked there. */
  own: { value: SettingValue; locked: boolean } | null;
}

/** Scope names one level of the hierarchy. */
export type Scope = { level: "account" } | { level: "group"; groupId: string } | { level: "user"; userId: string };

interface Layer {
  level: SettingLevel;
  name: string;
  scopeId: string;
}

function layersFor(deps: AccountsDeps, accountId: string, scope: Scope): Layer[] {
  const layers: Layer[] = [{ level: "account", name: "Account", scopeId: accountId }];
  const groupIds = scope.level === "group" ? [scope.groupId] : scope.level === "user" ? groupIdsOfUser(deps.db, accountId, scope.userId) : [];
  for (const g of groupsByIds(deps.db, accountId, groupIds)) layers.push({ level: "group", name: `Group “${g.name}”`, scopeId: g.id });
  if (scope.level === "user") layers.push({ level: "user", name: "User", scopeId: scope.userId });
  return layers;
}

function scopeIdOf(accountId: string, scope: Scope): string {
  return scope.level === "account" ? accountId : scope.level === "group" ? scope.groupId : scope.userId;
}

/** resolve computes every setting's effective value at a scope, without a permission check. */
export function resolveSettings(deps: AccountsDeps, accountId: string, scope: Scope): Record<SettingKey, Effective> {
  const layers = layersFor(deps, accountId, scope);
  const rows = settingsFor(deps.db, accountId, layers.filter((l) => l.level === "group").map((l) => l.scopeId), scope.level === "user" ? scope.userId : null);
  const selfId = scopeIdOf(accountId, scope);
  const at = (layer: Layer, key: string): SettingRow | undefined => rows.find((r) => r.level === layer.level && r.scopeId === layer.scopeId && r.key === key);
  const out = {} as Record<SettingKey, Effective>;
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    let value: SettingValue = SETTINGS[key].default;
    let source: Source = { level: "default", name: "Default" };
    let lockedBy: Source | null = null;
    let own: Effective["own"] = null;
    const account = layers[0]!;
    const groupLayers = layers.filter((l) => l.level === "group");
    const userLayer = layers.find((l) => l.level === "user");
    const take = (l: Layer, r: SettingRow): void => {
      value = JSON.parse(r.value) as SettingValue;
      source = { level: l.level, name: l.name };
    };
    const a = at(account, key);
    if (a) take(account, a);
    if (a?.locked && scope.level !== "account") lockedBy = { level: "account", name: "Account" };
    if (!lockedBy) {
      const set = groupLayers.map((l) => [l, at(l, key)] as const).filter((x): x is readonly [Layer, SettingRow] => x[1] !== undefined);
      const chosen = set.find(([, r]) => r.locked) ?? set[0];
      if (chosen) take(chosen[0], chosen[1]);
      if (chosen?.[1].locked && scope.level === "user") lockedBy = { level: "group", name: chosen[0].name };
    }
    if (!lockedBy && userLayer) {
      const u = at(userLayer, key);
      if (u) take(userLayer, u);
    }
    const mine = rows.find((r) => r.level === scope.level && r.scopeId === selfId && r.key === key);
    if (mine) own = { value: JSON.parse(mine.value) as SettingValue, locked: mine.locked };
    out[key] = { key, value, source, lockedBy, own };
  }
  return out;
}

/** effectiveForUser is what features call: a user's resolved setting value. */
export function effectiveForUser(deps: AccountsDeps, accountId: string, userId: string, key: SettingKey): SettingValue {
  return resolveSettings(deps, accountId, { level: "user", userId })[key].value;
}

/** checkScope returns a readable name for the scope, or throws not-found for a foreign or missing one. */
async function checkScope(deps: AccountsDeps, actor: Actor, scope: Scope): Promise<string> {
  if (scope.level === "group") {
    const g = getGroup(deps.db, actor.accountId, scope.groupId);
    if (!g) throw notFound("No such group.");
    return `group “${g.name}”`;
  }
  if (scope.level === "user") {
    const u = await deps.users.get(actor.accountId, scope.userId);
    if (!u) throw notFound("No such user.");
    return u.name;
  }
  return "the account";
}

/** scopeName names a scope for page titles (needs only the right to see its settings). */
export async function scopeName(deps: AccountsDeps, actor: Actor, scope: Scope): Promise<string> {
  if (!(scope.level === "user" && scope.userId === actor.userId)) requirePermission(actor, "settings:view");
  return checkScope(deps, actor, scope);
}

/** viewSettings returns the effective settings at a scope; users may always view their own. */
export async function viewSettings(deps: AccountsDeps, actor: Actor, scope: Scope): Promise<Record<SettingKey, Effective>> {
  if (!(scope.level === "user" && scope.userId === actor.userId)) requirePermission(actor, "settings:view");
  await checkScope(deps, actor, scope);
  return resolveSettings(deps, actor.accountId, scope);
}

/** SettingChange is one form submission for one key: a value, or inherit; and a lock flag. */
export interface SettingChange {
  key: string;
  inherit: boolean;
  raw: string;
  locked: boolean;
}

/** changeSetting stores (or clears) a value at a scope, refusing what a higher level locks. */
export async function changeSetting(deps: AccountsDeps, actor: Actor, scope: Scope, change: SettingChange): Promise<void> {
  if (!(scope.level === "user" && scope.userId === actor.userId)) requirePermission(actor, "settings:edit");
  await checkScope(deps, actor, scope);
  if (!isSettingKey(change.key)) throw invalid({ key: "Unknown setting." });
  const key = change.key;
  if (!settingAllowedAt(key, scope.level)) throw invalid({ [key]: `“${SETTINGS[key].label}” can be set only at ${(SETTINGS[key] as { levels?: readonly string[] }).levels?.join(" or ")} level.` });
  if (change.locked && scope.level === "user") throw invalid({ [key]: "Settings can be locked only at account or group level." });
  const current = resolveSettings(deps, actor.accountId, scope)[key];
  if (current.lockedBy) throw new AppError("conflict", `“${SETTINGS[key].label}” is locked by ${current.lockedBy.level === "account" ? "the account" : current.lockedBy.name} and cannot be changed here.`, { [key]: `Locked by ${current.lockedBy.name}.` });
  const scopeId = scopeIdOf(actor.accountId, scope);
  let value: SettingValue | null = null;
  if (!change.inherit) {
    const parsed = parseSettingValue(key, change.raw);
    if ("error" in parsed) throw invalid({ [key]: `${SETTINGS[key].label} ${parsed.error}.` });
    value = parsed.value;
  }
  if (current.own === null && value === null) return;
  if (current.own && value !== null && current.own.value === value && current.own.locked === change.locked) return;
  deps.db.$client.transaction(() => {
    if (value === null) deleteSetting(deps.db, actor.accountId, scope.level, scopeId, key);
    else upsertSetting(deps.db, { accountId: actor.accountId, level: scope.level, scopeId, key, value: JSON.stringify(value), locked: change.locked, updatedAt: deps.clock.now() });
    deps.audit.record(auditActor(actor), {
      action: "setting.update",
      targetType: `settings.${scope.level}`,
      targetId: scopeId,
      detail: { key },
      before: current.own ?? "inherit",
      after: value === null ? "inherit" : { value, locked: change.locked },
    });
  }).immediate();
}
