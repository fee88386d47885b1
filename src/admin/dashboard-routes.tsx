import { Hono } from "hono";
import { accountProfile, renameAccount } from "../accounts/account-setup.ts";
import { can } from "../accounts/actor.ts";
import { listUsers } from "../accounts/users.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, allow, signedIn } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Csrf, Field, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

/** dashboardRoutes: the admin home with account facts and the key-provider notice. */
export function dashboardRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const a = deps.auth;
  const home = async (c: AppContext, nameError?: string) => {
    const actor = actorOf(c);
    const account = accountProfile(a, actor);
    const users = can(actor, "users:view") ? await listUsers(a, actor) : null;
    return page(
      c,
      "Dashboard",
      <>
        <section class="card">
          <h1>{account.name}</h1>
          {c.req.query("welcome") && <Notice>Your organisation is ready. Invite your colleagues from the Users page.</Notice>}
          {c.req.query("activated") && <Notice>Your account is active.</Notice>}
          <p>Signed in as {actor.label}.</p>
          {users && (
            <p>
              {users.filter((u) => u.status === "active").length} active, {users.filter((u) => u.status === "invited").length} invited,{" "}
              {users.filter((u) => u.status === "deactivated").length} deactivated users.
            </p>
          )}
        </section>
        {can(actor, "account:view") && (
          <section class="card">
            <h2>Encryption keys</h2>
            <p>
              Server key provider: <strong>{deps.keyProvider.provider}</strong>{" "}
              {deps.keyProvider.hsmGrade ? <span class="badge ok">HSM-grade</span> : <span class="badge warn">not HSM-grade</span>}
            </p>
            <p class="hint">{deps.keyProvider.note}</p>
            <p><a href="/admin/keys">Data keys of this account</a></p>
          </section>
        )}
        {can(actor, "account:edit") && (
          <section class="card">
            <h2>Organisation</h2>
            <form method="post" action="/admin/account">
              <Csrf c={c} />
              <Field name="name" label="Organisation name" value={account.name} error={nameError} required />
              <div class="actions"><button type="submit">Rename</button></div>
            </form>
          </section>
        )}
      </>,
      nameError ? 400 : 200,
    );
  };
  app.get("/", signedIn(), (c) => home(c));
  app.post("/account", allow("account:edit"), async (c) => {
    const body = await readForm(c);
    try {
      renameAccount(a, actorOf(c), formText(body, "name"));
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return home(c, e.fields.name);
      throw e;
    }
    return seeOther(c, "/admin");
  });
  return app;
}
