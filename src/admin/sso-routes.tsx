import { Hono } from "hono";
import { can } from "../accounts/actor.ts";
import { spUrls } from "../auth/saml/deps.ts";
import { configureIdp, formatValueMap, setSsoEnabled, viewSsoConfig, type IdpInput, type SsoView } from "../auth/saml/idp-config.ts";
import { MAX_METADATA_BYTES } from "../auth/saml/idp-metadata.ts";
import { getSamlResponse, listSamlResponses, RESPONSE_LOG_DAYS } from "../auth/saml/response-log.ts";
import { spCertificateFingerprint } from "../auth/saml/service-provider.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, allow } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Csrf, Field, fmtTime, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

const FORM_FIELDS = ["metadata", "entityId", "ssoUrl", "certificates", "emailAttribute", "nameAttribute", "groupsAttribute", "groupMap", "roleAttribute", "roleMap"] as const;
type FormValues = Record<(typeof FORM_FIELDS)[number], string>;

function Area({ name, label, value, error, hint, rows }: { name: string; label: string; value: string; error?: string; hint?: string; rows?: number }) {
  const id = `f-${name}`;
  return (
    <div>
      <label for={id}>{label}</label>
      <textarea id={id} name={name} rows={rows ?? 4} spellcheck={false} aria-invalid={error ? "true" : undefined} aria-describedby={error ? `${id}-err` : undefined}>
        {value}
      </textarea>
      {hint && <p class="hint">{hint}</p>}
      {error && (
        <p class="field-error" id={`${id}-err`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function valuesOf(view: SsoView): FormValues {
  const c = view.config;
  return {
    metadata: "",
    entityId: c?.entityId ?? "",
    ssoUrl: c?.ssoUrl ?? "",
    certificates: c?.certificates.join("") ?? "",
    emailAttribute: c?.mapping.email ?? "",
    nameAttribute: c?.mapping.name ?? "",
    groupsAttribute: c?.mapping.groups ?? "",
    groupMap: c ? formatValueMap(c.mapping.groupMap) : "",
    roleAttribute: c?.mapping.role ?? "",
    roleMap: c ? formatValueMap(c.mapping.roleMap) : "",
  };
}

function SpDetails({ deps, accountId }: { deps: AdminDeps; accountId: string }) {
  const u = spUrls(deps.saml.baseUrl, accountId);
  const rows: [string, string, string][] = [
    ["Entity ID (Audience, Issuer, Client ID)", u.entityId, "sp-entity-id"],
    ["Assertion Consumer Service URL (HTTP-POST)", u.acsUrl, "sp-acs-url"],
    ["SP metadata URL", u.metadataUrl, "sp-metadata-url"],
    ["SP-initiated sign-in URL", u.loginUrl, "sp-login-url"],
  ];
  return (
    <section class="card">
      <h2>Service provider details</h2>
      <p class="hint">Enter these at your identity provider, or give it the metadata URL. Assertions must be signed (RSA-SHA256); the NameID should be the user's e-mail address.</p>
      <table>
        <tbody>
          {rows.map(([label, value, id]) => (
            <tr>
              <th scope="row">{label}</th>
              <td>
                <code class="copy" data-testid={id}>{value}</code>
              </td>
            </tr>
          ))}
          <tr>
            <th scope="row">SP signing certificate (SHA-256)</th>
            <td>
              <code class="copy">{spCertificateFingerprint(deps.saml)}</code>
            </td>
          </tr>
        </tbody>
      </table>
    </section>
  );
}

function StatusCard({ c, view, editable }: { c: AppContext; view: SsoView; editable: boolean }) {
  const cfg = view.config;
  return (
    <section class="card">
      <h1>Single sign-on (SAML 2.0)</h1>
      {c.req.query("saved") && <Notice>The identity provider configuration was saved.</Notice>}
      <p>
        Status:{" "}
        {!cfg ? <span class="badge" data-testid="sso-status">Not configured</span> : cfg.enabled ? <span class="badge ok" data-testid="sso-status">Enabled</span> : <span class="badge warn" data-testid="sso-status">Disabled</span>}
      </p>
      {cfg && editable && (
        <form method="post" action={cfg.enabled ? "/admin/sso/disable" : "/admin/sso/enable"}>
          <Csrf c={c} />
          <button type="submit" class={cfg.enabled ? "danger" : undefined}>
            {cfg.enabled ? "Disable single sign-on" : "Enable single sign-on"}
          </button>
        </form>
      )}
      <p class="hint">
        Users sign in at <a href="/signin/sso">/signin/sso</a>. Restrict allowed e-mail domains and switch off password sign-in (the Owner keeps an audited break-glass password sign-in) on the{" "}
        <a href="/admin/settings">Settings</a> page, section “Single sign-on”.
      </p>
      <p>
        <a href="/admin/sso/log">SAML response log</a> (last {RESPONSE_LOG_DAYS} days)
      </p>
      {view.certificates.length > 0 && (
        <>
          <h2>Trusted IdP signing certificates</h2>
          <table>
            <thead><tr><th>Subject</th><th>SHA-256 fingerprint</th><th>Valid until</th></tr></thead>
            <tbody>
              {view.certificates.map((ci) => (
                <tr>
                  <td>{ci.subject}</td>
                  <td><code class="copy">{ci.fingerprint}</code></td>
                  <td>{fmtTime(ci.validTo)}{ci.validTo < Date.now() && <> <span class="badge bad">expired</span></>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function IdpForm({ c, values, errors }: { c: AppContext; values: FormValues; errors: Record<string, string> }) {
  return (
    <section class="card">
      <h2>Identity provider</h2>
      {Object.keys(errors).length > 0 && <Notice kind="error">Nothing was saved. Please correct the highlighted fields.</Notice>}
      <form method="post" action="/admin/sso" enctype="multipart/form-data">
        <Csrf c={c} />
        <h3>Import metadata</h3>
        <div>
          <label for="f-metadataFile">Upload the IdP metadata file</label>
          <input id="f-metadataFile" name="metadataFile" type="file" accept=".xml,application/xml,text/xml,application/samlmetadata+xml" />
        </div>
        <Area name="metadata" label="…or paste the IdP metadata XML" value={values.metadata} error={errors.metadata} rows={6} hint="Metadata, when given, replaces the entity ID, SSO URL and certificates below." />
        <h3>Or enter the details by hand</h3>
        <Field name="entityId" label="IdP entity ID (issuer)" value={values.entityId} error={errors.entityId} />
        <Field name="ssoUrl" label="IdP single sign-on URL (HTTP-Redirect binding)" type="url" value={values.ssoUrl} error={errors.ssoUrl} hint="https:// required (http:// only for 127.0.0.1 or localhost)." />
        <Area name="certificates" label="IdP signing certificate(s), PEM" value={values.certificates} error={errors.certificates} rows={6} hint="Only these certificates are trusted; certificates inside responses are ignored. Paste two during a rollover." />
        <h3>Attribute mapping</h3>
        <Field name="emailAttribute" label="E-mail attribute" value={values.emailAttribute} error={errors.emailAttribute} hint="Empty: the NameID when it is an e-mail address, else “email” or “mail”." />
        <Field name="nameAttribute" label="Display-name attribute" value={values.nameAttribute} error={errors.nameAttribute} hint="Empty: “displayName”, then “name”; else the part of the e-mail before @." />
        <Field name="groupsAttribute" label="Group attribute (optional)" value={values.groupsAttribute} error={errors.groupsAttribute} />
        <Area name="groupMap" label="Group values → Conclave groups" value={values.groupMap} error={errors.groupMap} hint="One per line: attribute value = group name. Mapped groups are set at every sign-in; other memberships are kept." />
        <Field name="roleAttribute" label="Role attribute (optional)" value={values.roleAttribute} error={errors.roleAttribute} />
        <Area name="roleMap" label="Role values → Conclave roles" value={values.roleMap} error={errors.roleMap} hint="One per line: attribute value = role name; the first matching line wins. New users without a match are Members. Owner is never granted." />
        <div class="actions">
          <button type="submit">Save identity provider</button>
        </div>
      </form>
    </section>
  );
}

function ReadOnlyIdp({ view }: { view: SsoView }) {
  const cfg = view.config;
  if (!cfg) return <section class="card"><p>No identity provider is configured.</p></section>;
  return (
    <section class="card">
      <h2>Identity provider</h2>
      <p>Entity ID: <code>{cfg.entityId}</code></p>
      <p>SSO URL: <code>{cfg.ssoUrl}</code></p>
      <p>E-mail attribute: <code>{cfg.mapping.email || "(NameID / email)"}</code> · Name attribute: <code>{cfg.mapping.name || "(displayName / name)"}</code></p>
    </section>
  );
}

/** ssoRoutes: /admin/sso — the account's SAML configuration, enable switch, SP details and the response log. */
export function ssoRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const s = deps.saml;

  const render = (c: AppContext, values?: FormValues, errors: Record<string, string> = {}) => {
    const actor = actorOf(c);
    const view = viewSsoConfig(s, actor);
    const editable = can(actor, "settings:edit");
    return page(
      c,
      "Single sign-on",
      <>
        <StatusCard c={c} view={view} editable={editable} />
        <SpDetails deps={deps} accountId={actor.accountId} />
        {editable ? <IdpForm c={c} values={values ?? valuesOf(view)} errors={errors} /> : <ReadOnlyIdp view={view} />}
      </>,
      Object.keys(errors).length ? 400 : 200,
    );
  };

  app.get("/", allow("settings:view"), (c) => render(c));
  app.post("/", allow("settings:edit"), async (c) => {
    const body = await readForm(c);
    const values = Object.fromEntries(FORM_FIELDS.map((f) => [f, formText(body, f)])) as FormValues;
    const file = Array.isArray(body.metadataFile) ? body.metadataFile[0] : body.metadataFile;
    let metadataXml = values.metadata;
    if (file instanceof File && file.size > 0) {
      if (file.size > MAX_METADATA_BYTES) return render(c, values, { metadata: "The uploaded metadata file is larger than 1 MB." });
      metadataXml = await file.text();
    }
    const input: IdpInput = {
      metadataXml,
      entityId: values.entityId,
      ssoUrl: values.ssoUrl,
      certificates: values.certificates,
      emailAttribute: values.emailAttribute,
      nameAttribute: values.nameAttribute,
      groupsAttribute: values.groupsAttribute,
      groupMap: values.groupMap,
      roleAttribute: values.roleAttribute,
      roleMap: values.roleMap,
    };
    try {
      configureIdp(s, actorOf(c), input);
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return render(c, values, e.fields);
      throw e;
    }
    return seeOther(c, "/admin/sso?saved=1");
  });
  app.post("/enable", allow("settings:edit"), (c) => {
    setSsoEnabled(s, actorOf(c), true);
    return seeOther(c, "/admin/sso");
  });
  app.post("/disable", allow("settings:edit"), (c) => {
    setSsoEnabled(s, actorOf(c), false);
    return seeOther(c, "/admin/sso");
  });

  app.get("/log", allow("settings:view"), async (c) => {
    const rows = await listSamlResponses(s, actorOf(c));
    return page(
      c,
      "SAML response log",
      <section class="card">
        <h1>SAML response log</h1>
        <p class="hint">Every SAML response received in the last {RESPONSE_LOG_DAYS} days, with the verdict. Older responses are deleted. <a href="/admin/sso">Back to single sign-on</a></p>
        {rows.length === 0 ? (
          <p>No responses received.</p>
        ) : (
          <table>
            <thead><tr><th>Received</th><th>Verdict</th><th>Reason</th><th>Address</th><th></th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr class="saml-response">
                  <td>{fmtTime(r.receivedAt)}</td>
                  <td><span class={r.verdict === "accepted" ? "badge ok" : "badge bad"}>{r.verdict}</span></td>
                  <td>{r.reason}</td>
                  <td>{r.ip || "—"}</td>
                  <td><a href={`/admin/sso/log/${r.id}`}>XML</a></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>,
    );
  });
  app.get("/log/:id", allow("settings:view"), async (c) => {
    const id = c.req.param("id");
    const r = await getSamlResponse(s, actorOf(c), /^\d{1,16}$/.test(id) ? Number(id) : NaN);
    return page(
      c,
      "SAML response",
      <section class="card">
        <h1>SAML response</h1>
        <p>
          {fmtTime(r.receivedAt)} · <span class={r.verdict === "accepted" ? "badge ok" : "badge bad"}>{r.verdict}</span> · {r.reason} · {r.ip || "—"}
        </p>
        <pre class="details saml-xml">{r.xml}</pre>
        <p><a href="/admin/sso/log">Back to the log</a></p>
      </section>,
    );
  });
  return app;
}
