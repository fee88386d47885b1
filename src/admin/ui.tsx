import type { Child } from "hono/jsx";
import type { Actor } from "../accounts/actor.ts";
import type { AppContext } from "../http/context.ts";
import { renderShell } from "../http/shell.tsx";

/** NAV lists the admin areas with the permission needed to see each. */
const NAV: { href: string; label: string; perm: string | null }[] = [
  { href: "/meetings", label: "Meetings", perm: null },
  { href: "/admin", label: "Dashboard", perm: null },
  { href: "/admin/users", label: "Users", perm: "users:view" },
  { href: "/admin/groups", label: "Groups", perm: "groups:view" },
  { href: "/admin/roles", label: "Roles", perm: "roles:view" },
  { href: "/admin/settings", label: "Settings", perm: "settings:view" },
  { href: "/admin/sso", label: "Single sign-on", perm: "settings:view" },
  { href: "/admin/meetings", label: "Account meetings", perm: "audit:view" },
  { href: "/admin/audit", label: "Operation log", perm: "audit:view" },
  { href: "/admin/keys", label: "Keys", perm: "account:view" },
  { href: "/admin/security/cmk", label: "Customer managed key", perm: "settings:view" },
];

function Nav({ actor, path, csrf }: { actor: Actor | null; path: string; csrf: string }) {
  if (!actor) return null;
  return (
    <>
      <nav aria-label="Admin">
        {NAV.filter((n) => n.perm === null || actor.permissions.has(n.perm as never)).map((n) => (
          <a href={n.href} aria-current={path === n.href || (n.href !== "/admin" && path.startsWith(n.href + "/")) ? "page" : undefined}>
            {n.label}
          </a>
        ))}
      </nav>
      <a href="/account/mfa" class="muted">{actor.label}</a>
      <form method="post" action="/signout">
        <input type="hidden" name="_csrf" value={csrf} />
        <button class="link" type="submit">
          Sign out
        </button>
      </form>
    </>
  );
}

/** page renders a full admin page (navigation for the signed-in user). */
export function page(c: AppContext, title: string, body: Child, status: 200 | 400 | 403 | 404 | 409 | 429 = 200): Response {
  const s = c.get("session");
  const html = renderShell(c, { title, body, nav: <Nav actor={s?.actor ?? null} path={new URL(c.req.url).pathname} csrf={c.get("csrfToken")} /> });
  return c.html(html, status);
}

/** Csrf is the hidden token field every form carries. */
export function Csrf({ c }: { c: AppContext }) {
  return <input type="hidden" name="_csrf" value={c.get("csrfToken")} />;
}

/** FieldProps describe one labelled input with its error. */
export interface FieldProps {
  name: string;
  label: string;
  type?: string;
  value?: string;
  error?: string;
  hint?: string;
  autocomplete?: string;
  required?: boolean;
}

/** Field renders a labelled input; an error sets aria-invalid and is announced. */
export function Field(p: FieldProps) {
  const id = `f-${p.name}`;
  return (
    <div>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? "text"}
        value={p.type === "password" ? "" : (p.value ?? "")}
        autocomplete={p.autocomplete}
        required={p.required}
        aria-invalid={p.error ? "true" : undefined}
        aria-describedby={p.error ? `${id}-err` : undefined}
      />
      {p.hint && <p class="hint">{p.hint}</p>}
      {p.error && (
        <p class="field-error" id={`${id}-err`} role="alert">
          {p.error}
        </p>
      )}
    </div>
  );
}

/** Notice shows a message box. */
export function Notice({ kind, children }: { kind?: "error" | "info"; children: Child }) {
  return (
    <div class={kind === "error" ? "notice error" : "notice"} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

/** formText reads one text field from a parsed body. */
export function formText(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (Array.isArray(v)) return typeof v[0] === "string" ? v[0] : "";
  return typeof v === "string" ? v : "";
}

/** formList reads a multi-valued field (checkboxes). */
export function formList(body: Record<string, unknown>, name: string): string[] {
  const v = body[name] ?? body[`${name}[]`];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return typeof v === "string" ? [v] : [];
}

/** readForm parses a urlencoded or multipart body, keeping repeated fields as arrays. */
export async function readForm(c: AppContext): Promise<Record<string, unknown>> {
  return (await c.req.parseBody({ all: true })) as Record<string, unknown>;
}

/** seeOther redirects after a successful POST (works for plain forms and boosted htmx). */
export function seeOther(c: AppContext, url: string): Response {
  return c.redirect(url, 303);
}

/** fmtTime renders a timestamp for tables (UTC, minute precision). */
export function fmtTime(ms: number | null | undefined): string {
  if (!ms) return "—";
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}
