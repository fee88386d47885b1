import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AppError } from "../shared/errors.ts";
import { auditRows, createTestApp, type TestApp } from "../../tests/helpers/test-app.ts";
import type { Actor } from "./actor.ts";
import { createGroup, removeGroup } from "./groups.ts";
import { ALL_PERMISSIONS, effectivePermissions, type Permission } from "./permissions.ts";
import { changeSetting, effectiveForUser, resolveSettings, viewSettings, type Scope } from "./settings.ts";
import { inviteUser, updateUser } from "./users.ts";

let t: TestApp;
let owner: Actor;
let accountId: string;

function actorFor(userId: string, roleKind: Actor["roleKind"], perms: readonly Permission[] = ALL_PERMISSIONS): Actor {
  return { accountId, userId, label: userId, roleId: "", roleKind, permissions: roleKind === "custom" ? new Set(perms) : effectivePermissions(roleKind, perms), ip: "192.0.2.1", userAgent: "test" };
}

async function newUser(email: string, groupIds: string[] = []): Promise<string> {
  const r = await inviteUser(t.auth, owner, { email, name: email.split("@")[0]!, roleId: "", groupIds }, { baseUrl: "https://conclave.test", organisation: "Org" });
  return r.user.id;
}

const set = (actor: Actor, scope: Scope, key: string, raw: string, locked = false) => changeSetting(t.auth, actor, scope, { key, raw, inherit: false, locked });
const clear = (actor: Actor, scope: Scope, key: string) => changeSetting(t.auth, actor, scope, { key, raw: "", inherit: true, locked: false });

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

beforeAll(async () => {
  t = await createTestApp();
  const o = await t.setup();
  accountId = o.accountId;
  owner = actorFor(o.userId, "owner");
  owner.roleId = t.roleId(accountId, "Owner");
});
afterAll(() => t.cleanup());

describe("resolveSettings", () => {
  test("with nothing stored, every setting has its default from 'Default'", async () => {
    const u = await newUser("plain@a.example");
    const eff = resolveSettings(t.auth, accountId, { level: "user", userId: u });
    expect(eff["meeting.waiting_room"]).toEqual({ key: "meeting.waiting_room", value: true, source: { level: "default", name: "Default" }, lockedBy: null, own: null });
    expect(eff["security.session_idle_minutes"].value).toBe(120);
  });

  test("account → group → user: the lowest level that sets a value wins", async () => {
    const g = createGroup(t.auth, owner, { name: "Layered", description: "" });
    const u = await newUser("layered@a.example", [g]);
    const key = "meeting.join_before_host";
    const at = () => effectiveForUser(t.auth, accountId, u, key);
    const src = () => resolveSettings(t.auth, accountId, { level: "user", userId: u })[key].source.name;
    expect([at(), src()]).toEqual([false, "Default"]);
    await set(owner, { level: "account" }, key, "true");
    expect([at(), src()]).toEqual([true, "Account"]);
    await set(owner, { level: "group", groupId: g }, key, "false");
    expect([at(), src()]).toEqual([false, "Group “Layered”"]);
    await set(owner, { level: "user", userId: u }, key, "true");
    expect([at(), src()]).toEqual([true, "User"]);
    await clear(owner, { level: "user", userId: u }, key);
    expect([at(), src()]).toEqual([false, "Group “Layered”"]);
    await clear(owner, { level: "group", groupId: g }, key);
    await clear(owner, { level: "account" }, key);
    expect([at(), src()]).toEqual([false, "Default"]);
  });

  test("an account lock overrides values stored below it and refuses changes at group and user level", async () => {
    const g = createGroup(t.auth, owner, { name: "Under Lock", description: "" });
    const u = await newUser("locked@a.example", [g]);
    const key = "meeting.passcode_required";
    await set(owner, { level: "group", groupId: g }, key, "false");
    await set(owner, { level: "user", userId: u }, key, "false");
    await set(owner, { level: "account" }, key, "true", true);
    const eff = resolveSettings(t.auth, accountId, { level: "user", userId: u })[key];
    expect(eff).toMatchObject({ value: true, source: { name: "Account" }, lockedBy: { level: "account", name: "Account" }, own: { value: false, locked: false } });
    expect(resolveSettings(t.auth, accountId, { level: "group", groupId: g })[key].lockedBy).toEqual({ level: "account", name: "Account" });
    expect(resolveSettings(t.auth, accountId, { level: "account" })[key].lockedBy).toBeNull();

    const audit = t.count("audit_log");
    for (const scope of [{ level: "group", groupId: g }, { level: "user", userId: u }] as Scope[]) {
      const e = await refusal(set(owner, scope, key, "false"));
      expect(e.code).toBe("conflict");
      expect(e.message).toBe("“Require a passcode” is locked by the account and cannot be changed here.");
      expect(e.fields[key]).toBe("Locked by Account.");
      // clearing the value below the lock is refused too
      expect((await refusal(clear(owner, scope, key))).code).toBe("conflict");
    }
    expect(t.count("audit_log")).toBe(audit);
    // unlocking lets the lower values through again
    await set(owner, { level: "account" }, key, "true", false);
    expect(effectiveForUser(t.auth, accountId, u, key)).toBe(false);
  });

  test("a group lock refuses the user-level change and names the group", async () => {
    const g = createGroup(t.auth, owner, { name: "Strict", description: "" });
    const u = await newUser("strict@a.example", [g]);
    const key = "meeting.mute_on_entry";
    await set(owner, { level: "group", groupId: g }, key, "true", true);
    const e = await refusal(set(owner, { level: "user", userId: u }, key, "false"));
    expect(e.code).toBe("conflict");
    expect(e.message).toContain("locked by Group “Strict”");
    expect(effectiveForUser(t.auth, accountId, u, key)).toBe(true);
    // the account level is above the group and stays changeable
    await set(owner, { level: "account" }, key, "false");
    expect(effectiveForUser(t.auth, accountId, u, key)).toBe(true);
  });

  test("two groups setting the same key: a locked one wins, otherwise the first by name", async () => {
    const alpha = createGroup(t.auth, owner, { name: "Alpha", description: "" });
    const beta = createGroup(t.auth, owner, { name: "Beta", description: "" });
    const u = await newUser("both@a.example", [beta, alpha]);
    const key = "meeting.screen_share";
    const eff = () => resolveSettings(t.auth, accountId, { level: "user", userId: u })[key];
    await set(owner, { level: "group", groupId: beta }, key, "all");
    await set(owner, { level: "group", groupId: alpha }, key, "host");
    expect(eff()).toMatchObject({ value: "host", source: { name: "Group “Alpha”" }, lockedBy: null });
    await set(owner, { level: "group", groupId: beta }, key, "all", true);
    expect(eff()).toMatchObject({ value: "all", source: { name: "Group “Beta”" }, lockedBy: { level: "group", name: "Group “Beta”" } });
    await set(owner, { level: "group", groupId: alpha }, key, "host", true);
    expect(eff()).toMatchObject({ value: "host", source: { name: "Group “Alpha”" } });
  });

  test("deleting a group drops its values, so members fall back", async () => {
    const g = createGroup(t.auth, owner, { name: "Doomed", description: "" });
    const u = await newUser("doomed@a.example", [g]);
    await set(owner, { level: "group", groupId: g }, "sip.encryption_required", "false", true);
    expect(effectiveForUser(t.auth, accountId, u, "sip.encryption_required")).toBe(false);
    removeGroup(t.auth, owner, g);
    expect(effectiveForUser(t.auth, accountId, u, "sip.encryption_required")).toBe(true);
    expect(t.db.$client.query("SELECT count(*) AS n FROM settings WHERE scope_id = ?").get(g)).toEqual({ n: 0 });
  });

  test("leaving a group drops that group's lock for the user", async () => {
    const g = createGroup(t.auth, owner, { name: "Leavable", description: "" });
    const u = await newUser("leaver@a.example", [g]);
    await set(owner, { level: "group", groupId: g }, "meeting.authenticated_only", "true", true);
    expect(resolveSettings(t.auth, accountId, { level: "user", userId: u })["meeting.authenticated_only"].lockedBy).not.toBeNull();
    await updateUser(t.auth, owner, u, { name: "leaver", roleId: "", groupIds: [] });
    expect(resolveSettings(t.auth, accountId, { level: "user", userId: u })["meeting.authenticated_only"]).toMatchObject({ value: false, lockedBy: null });
  });
});

describe("changeSetting", () => {
  const badValues: [string, string, RegExp][] = [
    ["meeting.waiting_room", "maybe", /must be on or off/],
    ["security.session_idle_minutes", "5", /must be between 10 and 120/],
    ["security.session_idle_minutes", "121", /must be between 10 and 120/],
    ["security.session_idle_minutes", "ten", /whole number/],
    ["security.session_idle_minutes", "-20", /whole number/],
    ["meeting.screen_share", "everyone", /must be one of: host, all/],
  ];
  for (const [key, raw, msg] of badValues) {
    test(`refuses ${key} = "${raw}" with a message naming the setting`, async () => {
      const e = await refusal(set(owner, { level: "account" }, key, raw));
      expect(e.code).toBe("invalid_input");
      expect(e.fields[key]).toMatch(msg);
    });
  }

  test("refuses unknown keys, including inherited object properties", async () => {
    for (const key of ["nope", "toString", "__proto__", "constructor"]) {
      const e = await refusal(set(owner, { level: "account" }, key, "true"));
      expect(e.fields).toEqual({ key: "Unknown setting." });
    }
  });

  test("refuses a lock at user level", async () => {
    const u = await newUser("userlock@a.example");
    const e = await refusal(set(owner, { level: "user", userId: u }, "meeting.waiting_room", "true", true));
    expect(e.code).toBe("invalid_input");
    expect(e.fields["meeting.waiting_room"]).toContain("only at account or group level");
  });

  test("audits each change with scope, key, before and after; a no-op writes nothing", async () => {
    const lastEntry = () => auditRows(t, "1 = 1").pop()!;
    const key = "meeting.waiting_room";
    await set(owner, { level: "account" }, key, "false");
    const first = t.db.$client.query("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1").get() as Record<string, string>;
    expect(first).toMatchObject({ action: "setting.update", target_type: "settings.account", target_id: accountId, actor_id: owner.userId, ip: "192.0.2.1" });
    expect(lastEntry().details).toEqual({ key, before: "inherit", after: { value: false, locked: false } });
    const n = t.count("audit_log");
    await set(owner, { level: "account" }, key, "false");
    expect(t.count("audit_log")).toBe(n);
    await set(owner, { level: "account" }, key, "false", true);
    const lock = lastEntry().details;
    expect(lock).toEqual({ key, before: { value: false, locked: false }, after: { value: false, locked: true } });
    await clear(owner, { level: "account" }, key);
    const cleared = lastEntry().details;
    expect(cleared).toEqual({ key, before: { value: false, locked: true }, after: "inherit" });
  });

  test("a member may change their own user-level settings but nobody else's, and never the account's", async () => {
    const self = await newUser("self@a.example");
    const other = await newUser("other@a.example");
    const me = actorFor(self, "member");
    await set(me, { level: "user", userId: self }, "meeting.mute_on_entry", "true");
    expect(effectiveForUser(t.auth, accountId, self, "meeting.mute_on_entry")).toBe(true);
    expect((await refusal(set(me, { level: "user", userId: other }, "meeting.mute_on_entry", "true"))).code).toBe("forbidden");
    expect((await refusal(set(me, { level: "account" }, "meeting.mute_on_entry", "true"))).code).toBe("forbidden");
    expect((await refusal(viewSettings(t.auth, me, { level: "account" }))).code).toBe("forbidden");
    expect((await viewSettings(t.auth, me, { level: "user", userId: self }))["meeting.mute_on_entry"].value).toBe(true);
  });

  test("settings:view without settings:edit can look but not change", async () => {
    const viewer = actorFor(owner.userId, "custom", ["settings:view"]);
    expect((await viewSettings(t.auth, viewer, { level: "account" }))["meeting.waiting_room"]).toBeTruthy();
    expect((await refusal(set(viewer, { level: "account" }, "meeting.waiting_room", "true"))).code).toBe("forbidden");
  });

  test("unknown or foreign scopes are not found", async () => {
    const foreign = await t.createAccount({ organisation: "Other Org", email: "owner@other.example" });
    for (const scope of [{ level: "group", groupId: "nope" }, { level: "user", userId: "nope" }, { level: "user", userId: foreign.userId }] as Scope[]) {
      expect((await refusal(viewSettings(t.auth, owner, scope))).code).toBe("not_found");
      expect((await refusal(set(owner, scope, "meeting.waiting_room", "true"))).code).toBe("not_found");
    }
    expect(t.count("settings", foreign.accountId)).toBe(0);
  });
});
