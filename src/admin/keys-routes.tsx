import { Hono } from "hono";
import { requirePermission } from "../accounts/actor.ts";
import type { AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import type { AdminDeps } from "./deps.ts";
import { fmtTime, page } from "./ui.tsx";

/** keysRoutes: the account's encryption keys — where the server key lives and each data key's state. */
export function keysRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", allow("account:view"), (c) => {
    const actor = actorOf(c);
    requirePermission(actor, "account:view");
    const rows = deps.keys.accountKeys(actor.accountId);
    const kp = deps.keyProvider;
    return page(
      c,
      "Encryption keys",
      <section class="card">
        <h1>Encryption keys</h1>
        <p>
          Server key (KEK): <strong>{kp.provider}</strong>{" "}
          {kp.hsmGrade ? <span class="badge ok">HSM-grade</span> : <span class="badge warn">not HSM-grade</span>}
        </p>
        <p class="hint">{kp.note}</p>
        <p class="hint">
          Each kind of data has its own data key (DEK), stored only wrapped by the server key. Retired keys still decrypt older content; a key is retired long
          before it has sealed 2^32 values.
        </p>
        <p>
          Your organisation can wrap its data keys with a key of its own (HSM or cloud KMS): <a href="/admin/security/cmk">Customer managed key</a>.
        </p>
        <table>
          <thead><tr><th>Data</th><th>Version</th><th>Status</th><th>Wrapped by</th><th>Values sealed (reserved)</th><th>Created</th></tr></thead>
          <tbody>
            {rows.map((k) => (
              <tr>
                <td>{k.dataClass}</td>
                <td>{k.version}</td>
                <td><span class={k.status === "active" ? "badge ok" : k.status === "destroyed" ? "badge bad" : "badge"}>{k.status}</span></td>
                <td><code>{k.wrappedBy}</code></td>
                <td>{k.invocations}</td>
                <td>{fmtTime(k.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>,
    );
  });
  return app;
}
