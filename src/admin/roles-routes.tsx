import { Hono } from "hono";
import { can } from "../accounts/actor.ts";
import { ALL_PERMISSIONS, permissionLabel, type Permission } from "../accounts/permissions.ts";
import { createRole, editRole, getRoleView, listRoleViews, removeRole, type RoleView } from "../accounts/roles.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Csrf, Field, formList, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

interface RoleValues {
  name: string;
  description: string;
  permissions: string[];
}

function RoleForm({ c, action, values, errors, fixedName, submit }: { c: AppContext; action: string; values: RoleValues; errors: Record<string, string>; fixedName?: boolean; submit: string }) {
  const actor = actorOf(c);
  return (
    <form method="post" action={action}>
      <Csrf c={c} />
      {Object.keys(errors).length > 0 && <Notice kind="error">{Object.values(errors).join(" ")}</Notice>}
      {fixedName ? <input type="hidden" name="name" value={values.name} /> : <Field name="name" label="Name" value={values.name} error={errors.name} required />}
      <Field name="description" label="Description" value={values.description} error={errors.description} />
      <fieldset class="checks">
        <legend>Permissions</legend>
        {ALL_PERMISSIONS.map((p) => (
          <label>
            <input type="checkbox" name="permissions" value={p} checked={values.permissions.includes(p)} disabled={!actor.permissions.has(p)} /> {permissionLabel(p)}
          </label>
        ))}
        {errors.permissions && <p class="field-error" role="alert">{errors.permissions}</p>}
        <p class="hint">You can grant only permissions you hold yourself.</p>
      </fieldset>
      <div class="actions"><button type="submit">{submit}</button></div>
    </form>
  );
}

function PermList({ perms }: { perms: Permission[] }) {
  if (!perms.length) return <span class="muted">none</span>;
  return <span>{perms.map(permissionLabel).join(", ")}</span>;
}

/** rolesRoutes: list roles; Owner (or anyone holding roles:edit) creates and edits roles. */
export function rolesRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const a = deps.auth;

  const listPage = (c: AppContext, values: RoleValues = { name: "", description: "", permissions: [] }, errors: Record<string, string> = {}) => {
    const actor = actorOf(c);
    const roles = listRoleViews(a, actor);
    return page(
      c,
      "Roles",
      <>
        <section class="card">
          <h1>Roles</h1>
          {c.req.query("done") && <Notice>Done.</Notice>}
          <table>
            <thead><tr><th>Role</th><th>Permissions</th><th>Users</th></tr></thead>
            <tbody>
              {roles.map((r: RoleView) => (
                <tr>
                  <td><a href={`/admin/roles/${r.id}`}>{r.name}</a>{!r.editable && <span class="badge">fixed</span>}</td>
                  <td>{r.kind === "owner" ? "All privileges" : <PermList perms={r.permissions} />}</td>
                  <td>{r.memberCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        {can(actor, "roles:edit") && (
          <section class="card">
            <h2>New custom role</h2>
            <RoleForm c={c} action="/admin/roles" values={values} errors={errors} submit="Create role" />
          </section>
        )}
      </>,
      Object.keys(errors).length ? 400 : 200,
    );
  };

  app.get("/", allow("roles:view"), (c) => listPage(c));
  app.post("/", allow("roles:edit"), async (c) => {
    const body = await readForm(c);
    const values = { name: formText(body, "name"), description: formText(body, "description"), permissions: formList(body, "permissions") };
    try {
      const id = createRole(a, actorOf(c), values);
      return seeOther(c, `/admin/roles/${id}?done=1`);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return listPage(c, values, e.fields);
      throw e;
    }
  });

  const rolePage = (c: AppContext, id: string, values?: RoleValues, errors: Record<string, string> = {}, status: 200 | 400 | 403 = 200) => {
    const actor = actorOf(c);
    const r = getRoleView(a, actor, id);
    const canEdit = can(actor, "roles:edit") && r.editable && r.id !== actor.roleId;
    return page(
      c,
      r.name,
      <section class="card">
        <h1>Role: {r.name}</h1>
        {c.req.query("done") && <Notice>Saved.</Notice>}
        <p>{r.description}</p>
        <p>{r.memberCount} user(s) hold this role.</p>
        {canEdit ? (
          <>
            <RoleForm c={c} action={`/admin/roles/${r.id}`} values={values ?? r} errors={errors} fixedName={r.kind === "admin"} submit="Save" />
            {r.kind === "custom" && (
              <form method="post" action={`/admin/roles/${r.id}/delete`} hx-confirm={`Delete role ${r.name}?`}>
                <Csrf c={c} />
                <div class="actions"><button class="danger" type="submit">Delete role</button></div>
              </form>
            )}
          </>
        ) : (
          <p>Permissions: {r.kind === "owner" ? "All privileges (fixed)" : <PermList perms={r.permissions} />}</p>
        )}
      </section>,
      status,
    );
  };

  app.get("/:id", allow("roles:view"), (c) => rolePage(c, c.req.param("id")));
  app.post("/:id", allow("roles:edit"), async (c) => {
    const id = c.req.param("id");
    const body = await readForm(c);
    const values = { name: formText(body, "name"), description: formText(body, "description"), permissions: formList(body, "permissions") };
    try {
      editRole(a, actorOf(c), id, values);
      return seeOther(c, `/admin/roles/${id}?done=1`);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return rolePage(c, id, values, e.fields, 400);
      throw e;
    }
  });
  app.post("/:id/delete", allow("roles:edit"), (c) => {
    removeRole(a, actorOf(c), c.req.param("id"));
    return seeOther(c, "/admin/roles?done=deleted");
  });
  return app;
}
