import type { Hono } from "hono";
import type { AppEnv } from "../http/context.ts";
import { auditRoutes } from "./audit-routes.tsx";
import { dashboardRoutes } from "./dashboard-routes.tsx";
import type { AdminDeps } from "./deps.ts";
import { groupsRoutes } from "./groups-routes.tsx";
import { publicRoutes } from "./public-routes.tsx";
import { rolesRoutes } from "./roles-routes.tsx";
import { settingsRoutes } from "./settings-routes.tsx";
import { usersRoutes } from "./users-routes.tsx";

export type { AdminDeps } from "./deps.ts";

/** mountPages attaches every page area to the app. */
export function mountPages(app: Hono<AppEnv>, deps: AdminDeps): void {
  app.route("/", publicRoutes(deps));
  app.route("/admin", dashboardRoutes(deps));
  app.route("/admin/users", usersRoutes(deps));
  app.route("/admin/groups", groupsRoutes(deps));
  app.route("/admin/roles", rolesRoutes(deps));
  app.route("/admin/settings", settingsRoutes(deps));
  app.route("/admin/audit", auditRoutes(deps));
}
