import { Hono } from "hono";
import { can } from "../accounts/actor.ts";
import { createGroup, editGroup, getGroupWithMembers, listGroupsOf, removeGroup } from "../accounts/groups.ts";
import { listUsers } from "../accounts/users.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Csrf, Field, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

function GroupForm({ c, action, values, errors, submit }: { c: AppContext; action: string; values: { name: string; description: string }; errors: Record<string, string>; submit: string }) {
  return (
    <form method="post" action={action}>
      <Csrf c={c} />
      {Object.keys(errors).length > 0 && <Notice kind="error">Please correct the highlighted fields.</Notice>}
      <Field name="name" label="Name" value={values.name} error={errors.name} required />
      <Field name="description" label="Description" value={values.description} error={errors.description} />
      <div class="actions"><button type="submit">{submit}</button></div>
    </form>
  );
}

/** groupsRoutes: list, create, view (members), edit, delete. Members are set on each user's page. */
export function groupsRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const a = deps.auth;

  const listPage = (c: AppContext, values = { name: "", description: "" }, errors: Record<string, string> = {}) => {
    const actor = actorOf(c);
    const groups = listGroupsOf(a, actor);
    return page(
      c,
      "Groups",
      <>
        <section class="card">
          <h1>Groups</h1>
          {c.req.query("done") && <Notice>Done.</Notice>}
          <table>
            <thead><tr><th>Name</th><th>Description</th></tr></thead>
            <tbody>
              {groups.map((g) => (
                <tr><td><a href={`/admin/groups/${g.id}`}>{g.name}</a></td><td>{g.description}</td></tr>
              ))}
            </tbody>
          </table>
          {groups.length === 0 && <p class="muted">No groups yet.</p>}
        </section>
        {can(actor, "groups:edit") && (
          <section class="card">
            <h2>New group</h2>
            <GroupForm c={c} action="/admin/groups" values={values} errors={errors} submit="Create group" />
          </section>
        )}
      </>,
      Object.keys(errors).length ? 400 : 200,
    );
  };

  app.get("/", allow("groups:view"), (c) => listPage(c));
  app.post("/", allow("groups:edit"), async (c) => {
    const body = await readForm(c);
    const values = { name: formText(body, "name"), description: formText(body, "description") };
    try {
      const id = createGroup(a, actorOf(c), values);
      return seeOther(c, `/admin/groups/${id}?done=1`);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return listPage(c, values, e.fields);
      throw e;
    }
  });

  const groupPage = async (c: AppContext, id: string, values?: { name: string; description: string }, errors: Record<string, string> = {}) => {
    const actor = actorOf(c);
    const g = getGroupWithMembers(a, actor, id);
    const members = can(actor, "users:view") ? (await listUsers(a, actor)).filter((u) => g.memberIds.includes(u.id)) : [];
    return page(
      c,
      g.name,
      <>
        <section class="card">
          <h1>Group: {g.name}</h1>
          {c.req.query("done") && <Notice>Saved.</Notice>}
          <p>{g.description}</p>
          <h2>Members ({g.memberIds.length})</h2>
          <ul>
            {members.map((u) => (
              <li><a href={`/admin/users/${u.id}`}>{u.name}</a> ({u.email})</li>
            ))}
          </ul>
          <p class="hint">Add or remove members from each user's page.</p>
          <p><a href={`/admin/settings/group/${g.id}`}>Settings for this group</a></p>
        </section>
        {can(actor, "groups:edit") && (
          <section class="card">
            <h2>Edit group</h2>
            <GroupForm c={c} action={`/admin/groups/${g.id}`} values={values ?? g} errors={errors} submit="Save" />
            <form method="post" action={`/admin/groups/${g.id}/delete`} hx-confirm={`Delete group ${g.name}?`}>
              <Csrf c={c} />
              <div class="actions"><button class="danger" type="submit">Delete group</button></div>
            </form>
          </section>
        )}
      </>,
      Object.keys(errors).length ? 400 : 200,
    );
  };

  app.get("/:id", allow("groups:view"), (c) => groupPage(c, c.req.param("id")));
  app.post("/:id", allow("groups:edit"), async (c) => {
    const id = c.req.param("id");
    const body = await readForm(c);
    const values = { name: formText(body, "name"), description: formText(body, "description") };
    try {
      editGroup(a, actorOf(c), id, values);
      return seeOther(c, `/admin/groups/${id}?done=1`);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return groupPage(c, id, values, e.fields);
      throw e;
    }
  });
  app.post("/:id/delete", allow("groups:edit"), (c) => {
    removeGroup(a, actorOf(c), c.req.param("id"));
    return seeOther(c, "/admin/groups?done=deleted");
  });
  return app;
}
