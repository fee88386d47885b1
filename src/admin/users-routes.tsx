import { Hono } from "hono";
import { accountProfile } from "../accounts/account-setup.ts";
import type { Actor } from "../accounts/actor.ts";
import { can } from "../accounts/actor.ts";
import { listGroupsOf, type GroupRow } from "../accounts/groups.ts";
import { rolesForAssignment } from "../accounts/roles.ts";
import {
  deactivateUser, deleteUser, getUser, inviteUser, listUsers, reactivateUser, resendInvitation, roleGrantable, updateUser,
  type InviteResult, type RoleRow, type UserRecord,
} from "../accounts/users.ts";
import { requirePasswordChange, resetUserMfa, sendPasswordReset, unlockUser } from "../auth/admin-actions.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Csrf, Field, fmtTime, formList, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

const STATUS_BADGE: Record<UserRecord["status"], string> = { active: "badge ok", invited: "badge warn", deactivated: "badge bad" };

function RoleSelect({ roles, actor, value, error }: { roles: RoleRow[]; actor: Actor; value: string; error?: string }) {
  return (
    <div>
      <label for="f-roleId">Role</label>
      <select id="f-roleId" name="roleId" aria-invalid={error ? "true" : undefined}>
        {roles.filter((r) => r.id === value || roleGrantable(actor, r)).map((r) => (
          <option value={r.id} selected={r.id === value}>
            {r.name}
          </option>
        ))}
      </select>
      {error && <p class="field-error" role="alert">{error}</p>}
    </div>
  );
}

function GroupChecks({ groups, selected, error }: { groups: GroupRow[]; selected: string[]; error?: string }) {
  if (!groups.length) return <p class="hint">No groups yet.</p>;
  return (
    <fieldset class="checks">
      <legend>Groups</legend>
      {groups.map((g) => (
        <label>
          <input type="checkbox" name="groupIds" value={g.id} checked={selected.includes(g.id)} /> {g.name}
        </label>
      ))}
      {error && <p class="field-error" role="alert">{error}</p>}
    </fieldset>
  );
}

function InviteForm({ c, roles, groups, values, errors }: { c: AppContext; roles: RoleRow[]; groups: GroupRow[]; values: { email: string; name: string; roleId: string; groupIds: string[] }; errors: Record<string, string> }) {
  const actor = actorOf(c);
  const member = roles.find((r) => r.kind === "member");
  return (
    <section class="card narrow">
      <h1>Invite a user</h1>
      {Object.keys(errors).length > 0 && <Notice kind="error">Please correct the highlighted fields.</Notice>}
      <form method="post" action="/admin/users/new">
        <Csrf c={c} />
        <Field name="email" label="E-mail address" type="email" value={values.email} error={errors.email} required />
        <Field name="name" label="Name" value={values.name} error={errors.name} required />
        <RoleSelect roles={roles} actor={actor} value={values.roleId || member?.id || ""} error={errors.roleId} />
        <GroupChecks groups={groups} selected={values.groupIds} error={errors.groupIds} />
        <div class="actions">
          <button type="submit">Send invitation</button>
          <a class="button secondary" href="/admin/users">Cancel</a>
        </div>
      </form>
    </section>
  );
}

function InviteSent({ r }: { r: InviteResult }) {
  return (
    <section class="card narrow">
      <h1>Invitation created</h1>
      {r.mailed ? (
        <Notice>An invitation was e-mailed to {r.user.email}. The link works once.</Notice>
      ) : (
        <Notice kind="error">
          No e-mail was sent (outgoing mail is not configured or failed). Give {r.user.email} this single-use activation link yourself:
          <p>
            <code class="copy">{r.activationUrl}</code>
          </p>
        </Notice>
      )}
      <div class="actions">
        <a class="button" href={`/admin/users/${r.user.id}`}>View user</a>
        <a class="button secondary" href="/admin/users">All users</a>
      </div>
    </section>
  );
}

/** usersRoutes: list, invite, view/edit, deactivate, reactivate, delete. */
export function usersRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const a = deps.auth;
  const ctx = (c: AppContext) => ({ baseUrl: deps.baseUrl, organisation: accountProfile(a, actorOf(c)).name });

  app.get("/", allow("users:view"), async (c) => {
    const actor = actorOf(c);
    const users = await listUsers(a, actor);
    const roles = new Map(rolesForAssignment(a, actor).map((r) => [r.id, r.name]));
    return page(
      c,
      "Users",
      <section class="card">
        <h1>Users</h1>
        {c.req.query("done") && <Notice>Done.</Notice>}
        {can(actor, "users:edit") && (
          <p>
            <a class="button" href="/admin/users/new">Invite a user</a>
          </p>
        )}
        <table>
          <thead>
            <tr><th>Name</th><th>E-mail</th><th>Role</th><th>Status</th><th>Last sign-in</th></tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr>
                <td><a href={`/admin/users/${u.id}`}>{u.name}</a></td>
                <td>{u.email}</td>
                <td>{roles.get(u.roleId)}</td>
                <td><span class={STATUS_BADGE[u.status]}>{u.status}</span></td>
                <td>{fmtTime(u.lastSignInAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>,
    );
  });

  app.get("/new", allow("users:edit"), (c) => {
    const actor = actorOf(c);
    return page(c, "Invite a user", <InviteForm c={c} roles={rolesForAssignment(a, actor)} groups={listGroupsOf(a, actor)} values={{ email: "", name: "", roleId: "", groupIds: [] }} errors={{}} />);
  });

  app.post("/new", allow("users:edit"), async (c) => {
    const actor = actorOf(c);
    const body = await readForm(c);
    const values = { email: formText(body, "email"), name: formText(body, "name"), roleId: formText(body, "roleId"), groupIds: formList(body, "groupIds") };
    try {
      const r = await inviteUser(a, actor, values, ctx(c));
      return page(c, "Invitation created", <InviteSent r={r} />);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input")
        return page(c, "Invite a user", <InviteForm c={c} roles={rolesForAssignment(a, actor)} groups={listGroupsOf(a, actor)} values={values} errors={e.fields} />, 400);
      throw e;
    }
  });

  const editPage = async (c: AppContext, id: string, values?: { name: string; roleId: string; groupIds: string[] }, errors: Record<string, string> = {}, error?: string) => {
    const actor = actorOf(c);
    const u = await getUser(a, actor, id);
    const roles = rolesForAssignment(a, actor);
    const v = values ?? { name: u.name, roleId: u.roleId, groupIds: u.groupIds };
    const editable = can(actor, "users:edit");
    const isOwner = roles.find((r) => r.id === u.roleId)?.kind === "owner";
    const post = (action: string, label: string, cls = "secondary", confirm?: string) => (
      <form method="post" action={`/admin/users/${u.id}/${action}`} hx-confirm={confirm}>
        <Csrf c={c} />
        <button class={cls} type="submit">{label}</button>
      </form>
    );
    return page(
      c,
      u.name,
      <>
        <section class="card">
          <h1>{u.name}</h1>
          {error && <Notice kind="error">{error}</Notice>}
          {c.req.query("done") && <Notice>Saved.</Notice>}
          <p>
            {u.email} · <span class={STATUS_BADGE[u.status]}>{u.status}</span> · created {fmtTime(u.createdAt)} · last sign-in {fmtTime(u.lastSignInAt)}
          </p>
          <p>
            Two-factor authentication: {u.totpEnabled ? <span class="badge ok">on</span> : <span class="badge">off</span>}
            {u.lockedUntil && u.lockedUntil > a.clock.now() && (
              <>
                {" "}· <span class="badge bad">locked until {fmtTime(u.lockedUntil)}</span>
              </>
            )}
            {u.origin === "saml" && <> · <span class="badge">single sign-on</span></>}
          </p>
          {editable ? (
            <form method="post" action={`/admin/users/${u.id}`}>
              <Csrf c={c} />
              <Field name="name" label="Name" value={v.name} error={errors.name} required />
              {isOwner ? <p>Role: Owner</p> : <RoleSelect roles={roles} actor={actor} value={v.roleId} error={errors.roleId} />}
              <GroupChecks groups={listGroupsOf(a, actor)} selected={v.groupIds} error={errors.groupIds} />
              <div class="actions"><button type="submit">Save</button></div>
            </form>
          ) : null}
          <p><a href={`/admin/settings/user/${u.id}`}>Settings for this user</a></p>
        </section>
        {editable && !isOwner && u.id !== actor.userId && (
          <section class="card">
            <h2>Account state</h2>
            <div class="actions">
              {u.lockedUntil && u.lockedUntil > a.clock.now() && post("unlock", "Unlock")}
              {u.totpEnabled && post("reset-mfa", "Reset two-factor authentication")}
              {u.status === "active" && u.passwordHash && post("send-reset", "Send a password reset link")}
              {u.status === "active" && u.passwordHash && !u.mustChangePassword && post("require-password-change", "Require a new password")}
              {u.status === "invited" && post("resend", "Send a new invitation")}
              {u.status !== "deactivated" ? post("deactivate", "Deactivate") : post("reactivate", "Reactivate")}
              {post("delete", "Delete user", "danger", `Delete ${u.name}? This cannot be undone.`)}
            </div>
          </section>
        )}
      </>,
      Object.keys(errors).length || error ? 400 : 200,
    );
  };

  app.get("/:id", allow("users:view"), (c) => editPage(c, c.req.param("id")));

  app.post("/:id", allow("users:edit"), async (c) => {
    const id = c.req.param("id");
    const body = await readForm(c);
    const values = { name: formText(body, "name"), roleId: formText(body, "roleId"), groupIds: formList(body, "groupIds") };
    try {
      await updateUser(a, actorOf(c), id, values);
      return seeOther(c, `/admin/users/${id}?done=1`);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return editPage(c, id, values, e.fields);
      throw e;
    }
  });

  const lifecycle = (fn: (actor: Actor, id: string) => Promise<unknown>, after: (id: string) => string) =>
    async (c: AppContext) => {
      const id = c.req.param("id")!;
      try {
        await fn(actorOf(c), id);
      } catch (e) {
        if (e instanceof AppError && e.code === "invalid_input") return editPage(c, id, undefined, {}, e.message);
        throw e;
      }
      return seeOther(c, after(id));
    };

  app.post("/:id/deactivate", allow("users:edit"), lifecycle((actor, id) => deactivateUser(a, actor, id), (id) => `/admin/users/${id}?done=1`));
  app.post("/:id/reactivate", allow("users:edit"), lifecycle((actor, id) => reactivateUser(a, actor, id), (id) => `/admin/users/${id}?done=1`));
  app.post("/:id/delete", allow("users:edit"), lifecycle((actor, id) => deleteUser(a, actor, id), () => "/admin/users?done=deleted"));
  app.post("/:id/unlock", allow("users:edit"), lifecycle((actor, id) => unlockUser(a, actor, id), (id) => `/admin/users/${id}?done=1`));
  app.post("/:id/reset-mfa", allow("users:edit"), lifecycle((actor, id) => resetUserMfa(a, actor, id), (id) => `/admin/users/${id}?done=1`));
  app.post("/:id/require-password-change", allow("users:edit"), lifecycle((actor, id) => requirePasswordChange(a, actor, id), (id) => `/admin/users/${id}?done=1`));
  app.post("/:id/send-reset", allow("users:edit"), async (c) => {
    const r = await sendPasswordReset(a, actorOf(c), c.req.param("id"), deps.baseUrl);
    return page(
      c,
      "Reset link",
      <section class="card narrow">
        <h1>Password reset link</h1>
        {r.mailed ? (
          <Notice>A reset link was e-mailed to {r.email}. It works once, for one hour.</Notice>
        ) : (
          <Notice kind="error">No e-mail was sent (outgoing mail is not configured or failed). Give {r.email} this single-use link yourself: <p><code class="copy">{r.url}</code></p></Notice>
        )}
        <p><a class="button secondary" href={`/admin/users/${c.req.param("id")}`}>Back to the user</a></p>
      </section>,
    );
  });
  app.post("/:id/resend", allow("users:edit"), async (c) => {
    const r = await resendInvitation(a, actorOf(c), c.req.param("id"), ctx(c));
    return page(c, "Invitation created", <InviteSent r={r} />);
  });

  return app;
}
