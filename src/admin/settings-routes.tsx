import { Hono } from "hono";
import { can, type Actor } from "../accounts/actor.ts";
import { SETTINGS, settingAllowedAt, type SettingKey, type SettingSpec, type SettingValue } from "../accounts/setting-definitions.ts";
import { changeSetting, scopeName, viewSettings, type Effective, type Scope } from "../accounts/settings.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, signedIn } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Csrf, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

function show(spec: SettingSpec, v: SettingValue): string {
  if (spec.type === "bool") return v ? "On" : "Off";
  if (spec.type === "text" && v === "") return "(none)";
  return String(v);
}

function ValueControl({ k, spec, e }: { k: SettingKey; spec: SettingSpec; e: Effective }) {
  const own = e.own ? String(e.own.value) : "";
  const id = `v-${k}`;
  if (spec.type === "int" || spec.type === "text")
    return (
      <>
        <select name="mode" aria-label="Inherit or set">
          <option value="inherit" selected={!e.own}>Inherit</option>
          <option value="set" selected={!!e.own}>Set to</option>
        </select>
        {spec.type === "int" ? (
          <input id={id} aria-label={spec.label} type="number" name="value" min={spec.min} max={spec.max} value={own || String(e.value)} />
        ) : (
          <input id={id} aria-label={spec.label} type="text" name="value" maxlength={spec.maxLength} value={e.own ? own : String(e.value)} />
        )}
      </>
    );
  const options = spec.type === "bool" ? [["true", "On"], ["false", "Off"]] : spec.choices.map((c) => [c, c]);
  return (
    <select id={id} name="value" aria-label={spec.label}>
      <option value="" selected={!e.own}>Inherit</option>
      {options.map(([v, label]) => (
        <option value={v} selected={e.own !== null && own === v}>{label}</option>
      ))}
    </select>
  );
}

/** SettingRow is one swappable row: effective value, where it comes from, and the form to change it. */
function SettingRow({ c, path, scope, k, e, editable, error }: { c: AppContext; path: string; scope: Scope; k: SettingKey; e: Effective; editable: boolean; error?: string }) {
  const spec: SettingSpec = SETTINGS[k];
  return (
    <tr class="setting-row" id={`row-${k.replaceAll(".", "-")}`}>
      <td>
        <strong>{spec.label}</strong>
        <p class="hint">{spec.help}</p>
      </td>
      <td>
        <span data-testid={`effective-${k}`}>{show(spec, e.value)}</span>
        <p class="hint">from {e.source.name}{e.lockedBy ? ` · locked by ${e.lockedBy.name}` : ""}</p>
      </td>
      <td>
        {!settingAllowedAt(k, scope.level) ? (
          <span class="muted">Set at {spec.levels?.join(" or ")} level</span>
        ) : e.lockedBy ? (
          <span class="badge warn">Locked by {e.lockedBy.name}</span>
        ) : editable ? (
          <form method="post" action={path} hx-post={path} hx-target="closest tr" hx-swap="outerHTML">
            <Csrf c={c} />
            <input type="hidden" name="key" value={k} />
            <ValueControl k={k} spec={spec} e={e} />
            {scope.level !== "user" && (
              <label>
                <input type="checkbox" name="locked" value="1" checked={e.own?.locked ?? false} /> Lock
              </label>
            )}
            <button type="submit" class="secondary">Save</button>
          </form>
        ) : (
          <span class="muted">{e.own ? (e.own.locked ? "set here, locked" : "set here") : "inherited"}</span>
        )}
        {error && <p class="field-error" role="alert">{error}</p>}
      </td>
    </tr>
  );
}

async function scopeTitle(deps: AdminDeps, actor: Actor, scope: Scope): Promise<string> {
  if (scope.level === "account") return "Account settings";
  return `Settings of ${await scopeName(deps.auth, actor, scope)}`;
}

/** settingsRoutes shows and changes the settings hierarchy at account, group and user level. */
export function settingsRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const a = deps.auth;

  const scopeOf = (c: AppContext): { scope: Scope; path: string } => {
    const level = c.req.param("level");
    const id = c.req.param("id");
    if (!level) return { scope: { level: "account" }, path: "/admin/settings" };
    if (level === "group" && id) return { scope: { level: "group", groupId: id }, path: `/admin/settings/group/${id}` };
    if (level === "user" && id) return { scope: { level: "user", userId: id }, path: `/admin/settings/user/${id}` };
    throw new AppError("not_found", "There is no page at this address.");
  };

  const render = async (c: AppContext, rowErrors: Record<string, string> = {}, status: 200 | 400 | 409 = 200) => {
    const actor = actorOf(c);
    const { scope, path } = scopeOf(c);
    const eff = await viewSettings(a, actor, scope);
    const editable = can(actor, "settings:edit") || (scope.level === "user" && scope.userId === actor.userId);
    const sections = [...new Set(Object.values(SETTINGS).map((s) => s.section))];
    return page(
      c,
      await scopeTitle(deps, actor, scope),
      <section class="card">
        <h1>{await scopeTitle(deps, actor, scope)}</h1>
        {Object.keys(rowErrors).length > 0 && <Notice kind="error">{Object.values(rowErrors).join(" ")}</Notice>}
        <p class="hint">
          Values are inherited Default → Account → Group → User. A value locked at account or group level cannot be changed below it.
        </p>
        {sections.map((section) => (
          <>
            <h2>{section}</h2>
            <table>
              <thead><tr><th>Setting</th><th>Effective value</th><th>At this level</th></tr></thead>
              <tbody>
                {(Object.keys(SETTINGS) as SettingKey[]).filter((k) => SETTINGS[k].section === section).map((k) => (
                  <SettingRow c={c} path={path} scope={scope} k={k} e={eff[k]} editable={editable} error={rowErrors[k]} />
                ))}
              </tbody>
            </table>
          </>
        ))}
      </section>,
      status,
    );
  };

  const save = async (c: AppContext) => {
    const actor = actorOf(c);
    const { scope, path } = scopeOf(c);
    const body = await readForm(c);
    const key = formText(body, "key");
    const raw = formText(body, "value");
    const mode = formText(body, "mode");
    const change = { key, raw, inherit: mode ? mode === "inherit" : raw === "", locked: formText(body, "locked") === "1" };
    const htmx = c.req.header("hx-request") === "true";
    try {
      await changeSetting(a, actor, scope, change);
    } catch (e) {
      if (e instanceof AppError && (e.code === "invalid_input" || e.code === "conflict")) {
        const fieldErr = e.code === "conflict" ? e.message : (e.fields[key] ?? e.message);
        if (htmx && key in SETTINGS) {
          const eff = await viewSettings(a, actor, scope);
          return c.html(<SettingRow c={c} path={path} scope={scope} k={key as SettingKey} e={eff[key as SettingKey]} editable error={fieldErr} />, 200);
        }
        return render(c, { [key]: fieldErr }, e.code === "conflict" ? 409 : 400);
      }
      throw e;
    }
    if (htmx) {
      const eff = await viewSettings(a, actor, scope);
      return c.html(<SettingRow c={c} path={path} scope={scope} k={key as SettingKey} e={eff[key as SettingKey]} editable />);
    }
    return seeOther(c, path);
  };

  // Permission checks live in viewSettings/changeSetting: users may see and change their own user-level settings.
  app.get("/", signedIn(), (c) => render(c));
  app.post("/", signedIn(), save);
  app.get("/:level/:id", signedIn(), (c) => render(c));
  app.post("/:level/:id", signedIn(), save);
  return app;
}
