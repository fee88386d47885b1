import type { Hono } from "hono";
import type { AppEnv } from "../http/context.ts";
import { accountRoutes, restrictionGate } from "./account-routes.tsx";
import { auditRoutes } from "./audit-routes.tsx";
import { keysRoutes } from "./keys-routes.tsx";
import { cmkRoutes } from "./cmk-routes.tsx";
import { signinStepsRoutes } from "./signin-steps-routes.tsx";
import { dashboardRoutes } from "./dashboard-routes.tsx";
import type { AdminDeps } from "./deps.ts";
import { groupsRoutes } from "./groups-routes.tsx";
import { publicRoutes } from "./public-routes.tsx";
import { rolesRoutes } from "./roles-routes.tsx";
import { samlRoutes, ssoSignInRoutes } from "./saml-routes.tsx";
import { settingsRoutes } from "./settings-routes.tsx";
import { ssoRoutes } from "./sso-routes.tsx";
import { usersRoutes } from "./users-routes.tsx";
import { meetingsRoutes } from "./meetings-routes.tsx";
import { meetingsAdminRoutes } from "./meetings-admin-routes.tsx";
import { joinRoutes } from "./join-routes.tsx";

export type { AdminDeps } from "./deps.ts";

/** mountPages attaches every page area to the app. */
export function mountPages(app: Hono<AppEnv>, deps: AdminDeps): void {
  app.use(restrictionGate());
  app.route("/", publicRoutes(deps));
  app.route("/", signinStepsRoutes(deps));
  app.route("/account", accountRoutes(deps));
  app.route("/admin", dashboardRoutes(deps));
  app.route("/admin/users", usersRoutes(deps));
  app.route("/admin/groups", groupsRoutes(deps));
  app.route("/admin/roles", rolesRoutes(deps));
  app.route("/admin/settings", settingsRoutes(deps));
  app.route("/admin/audit", auditRoutes(deps));
  app.route("/admin/meetings", meetingsAdminRoutes(deps));
  app.route("/admin/keys", keysRoutes(deps));
  app.route("/admin/security/cmk", cmkRoutes(deps));
  app.route("/admin/sso", ssoRoutes(deps));
  app.route("/meetings", meetingsRoutes(deps));
  app.route("/", joinRoutes(deps));
  app.route("/saml", samlRoutes(deps));
  app.route("/signin/sso", ssoSignInRoutes(deps));
}
