import { Hono } from "hono";
import { accountProfile } from "../accounts/account-setup.ts";
import { listGroupsOf } from "../accounts/groups.ts";
import { listRoleViews } from "../accounts/roles.ts";
import { getUser, listUsers, type UserRecord } from "../accounts/users.ts";
import { searchAudit } from "../audit/queries.ts";
import type { AuthDeps } from "../auth/signin.ts";
import type { AppEnv } from "../http/context.ts";
import { actorOf, allow, signedIn } from "../http/middleware/guards.ts";

/** userJson is the API shape of a user (never the password hash). */
function userJson(u: UserRecord) {
  return { id: u.id, email: u.email, name: u.name, roleId: u.roleId, status: u.status, createdAt: u.createdAt, lastSignInAt: u.lastSignInAt };
}

/** apiRoutes is the JSON API (session-authenticated; state changes need the CSRF header). */
export function apiRoutes(auth: AuthDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/me", signedIn(), async (c) => {
    const actor = actorOf(c);
    const me = await getUser(auth, actor, actor.userId);
    return c.json({ user: userJson(me), account: { id: actor.accountId, name: accountProfile(auth, actor).name }, permissions: [...actor.permissions] });
  });
  app.get("/users", allow("users:view"), async (c) => c.json({ users: (await listUsers(auth, actorOf(c))).map(userJson) }));
  app.get("/users/:id", allow("users:view"), async (c) => {
    const u = await getUser(auth, actorOf(c), c.req.param("id"));
    return c.json({ user: { ...userJson(u), groupIds: u.groupIds } });
  });
  app.get("/groups", allow("groups:view"), (c) => c.json({ groups: listGroupsOf(auth, actorOf(c)).map((g) => ({ id: g.id, name: g.name, description: g.description })) }));
  app.get("/roles", allow("roles:view"), (c) =>
    c.json({ roles: listRoleViews(auth, actorOf(c)).map((r) => ({ id: r.id, name: r.name, kind: r.kind, permissions: r.permissions, memberCount: r.memberCount })) }),
  );
  app.get("/audit", allow("audit:view"), async (c) => {
    const q = c.req.query();
    return c.json({ entries: await searchAudit(auth.audit, actorOf(c), q, 100) });
  });
  return app;
}
