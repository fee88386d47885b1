import { notFound } from "../shared/errors.ts";
import { newId } from "../shared/ids.ts";
import { deleteGroup, getGroup, getGroupByName, insertGroup, listGroups, memberIdsOfGroup, updateGroup, type GroupRow } from "../storage/accounts-repo.ts";
import { deleteSettingsOfScope } from "../storage/settings-repo.ts";
import { auditActor, requirePermission, type Actor } from "./actor.ts";
import type { AccountsDeps } from "./deps.ts";
import { checkName, cleanText, throwIfErrors } from "./validate.ts";

/** GroupInput is the group form. */
export interface GroupInput {
  name: string;
  description: string;
}

/** listGroupsOf lists the actor's account's groups (needed by user forms too, so no permission). */
export function listGroupsOf(deps: AccountsDeps, actor: Actor): GroupRow[] {
  return listGroups(deps.db, actor.accountId);
}

/** getGroupWithMembers returns a group and its member ids. */
export function getGroupWithMembers(deps: AccountsDeps, actor: Actor, id: string): GroupRow & { memberIds: string[] } {
  requirePermission(actor, "groups:view");
  const g = getGroup(deps.db, actor.accountId, id);
  if (!g) throw notFound("No such group.");
  return { ...g, memberIds: memberIdsOfGroup(deps.db, actor.accountId, id) };
}

function validate(deps: AccountsDeps, actor: Actor, input: GroupInput, selfId: string | null): GroupInput {
  const name = cleanText(input.name);
  const description = cleanText(input.description).slice(0, 300);
  const errors = checkName("name", name, 80);
  const clash = name ? getGroupByName(deps.db, actor.accountId, name) : undefined;
  if (clash && clash.id !== selfId) errors.name = "A group with this name already exists.";
  throwIfErrors(errors);
  return { name, description };
}

/** createGroup adds a group. */
export function createGroup(deps: AccountsDeps, actor: Actor, input: GroupInput): string {
  requirePermission(actor, "groups:edit");
  const v = validate(deps, actor, input, null);
  const id = newId();
  deps.db.$client.transaction(() => {
    insertGroup(deps.db, { id, accountId: actor.accountId, name: v.name, description: v.description, createdAt: deps.clock.now() });
    deps.audit.record(auditActor(actor), { action: "group.create", targetType: "group", targetId: id, after: v });
  }).immediate();
  return id;
}

/** editGroup renames or re-describes a group. */
export function editGroup(deps: AccountsDeps, actor: Actor, id: string, input: GroupInput): void {
  requirePermission(actor, "groups:edit");
  const before = getGroupWithMembers(deps, actor, id);
  const v = validate(deps, actor, input, id);
  deps.db.$client.transaction(() => {
    updateGroup(deps.db, actor.accountId, id, v);
    deps.audit.record(auditActor(actor), { action: "group.update", targetType: "group", targetId: id, before: { name: before.name, description: before.description }, after: v });
  }).immediate();
}

/** removeGroup deletes a group, its memberships and its settings. */
export function removeGroup(deps: AccountsDeps, actor: Actor, id: string): void {
  requirePermission(actor, "groups:edit");
  const g = getGroupWithMembers(deps, actor, id);
  deps.db.$client.transaction(() => {
    deleteSettingsOfScope(deps.db, actor.accountId, id);
    deleteGroup(deps.db, actor.accountId, id);
    deps.audit.record(auditActor(actor), { action: "group.delete", targetType: "group", targetId: id, before: { name: g.name, members: g.memberIds.length } });
  }).immediate();
}

export type { GroupRow } from "../storage/accounts-repo.ts";
