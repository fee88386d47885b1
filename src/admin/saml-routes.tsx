import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { consumeSamlResponse } from "../auth/saml/acs.ts";
import { findSsoAccount } from "../auth/saml/discovery.ts";
import { SAML_FAILURES, type SamlFailureCode } from "../auth/saml/failures.ts";
import { safeReturnPath } from "../auth/saml/return-path.ts";
import { spMetadataXml, startLogin } from "../auth/saml/service-provider.ts";
import { MAX_RESPONSE_BASE64 } from "../auth/saml/verify-response.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { requestMeta } from "../http/context.ts";
import { rateLimitPosts } from "../http/middleware/rate-limit.ts";
import type { AdminDeps } from "./deps.ts";
import { startSession } from "./session-start.ts";
import { Csrf, Field, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

/** MAX_ACS_BODY allows a 256 KB SAMLResponse after URL-encoding, plus RelayState. */
const MAX_ACS_BODY = Math.ceil(MAX_RESPONSE_BASE64 * 1.2) + 4096;

function SsoProblem({ code, message }: { code: SamlFailureCode; message: string }) {
  return (
    <section class="card narrow">
      <h1>Single sign-on failed</h1>
      <Notice kind="error">{message}</Notice>
      <p>You were not signed in. An administrator of your organisation can see the details in the SAML response log.</p>
      <p class="hint">
        Reason code: <code data-testid="saml-reason">{code}</code>
      </p>
      <p>
        <a href="/signin/sso">Try single sign-on again</a> · <a href="/signin">Sign in with a password</a>
      </p>
    </section>
  );
}

/** samlRoutes: the public SAML endpoints of each account: SP metadata, SP-initiated login, and the ACS. */
export function samlRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const s = deps.saml;

  app.get("/:accountId/metadata", (c) => {
    const xml = spMetadataXml(s, c.req.param("accountId"));
    return c.body(xml, 200, { "Content-Type": "application/samlmetadata+xml; charset=utf-8" });
  });

  app.get("/:accountId/login", async (c) => {
    const r = await startLogin(s, c.req.param("accountId"), c.req.query("next") ?? "/admin");
    if (!r.ok) return page(c, "Single sign-on", <SsoProblem code="disabled" message={SAML_FAILURES.disabled.text} />, 403);
    return c.redirect(r.url, 302);
  });

  const acs = async (c: AppContext, oversizedBody?: number): Promise<Response> => {
    const accountId = c.req.param("accountId") ?? "";
    let samlResponse = "";
    let relayState = "";
    if (oversizedBody === undefined) {
      const body = await readForm(c);
      samlResponse = formText(body, "SAMLResponse");
      relayState = formText(body, "RelayState");
    }
    const r = await consumeSamlResponse(s, accountId, { samlResponse, relayState, oversizedBody }, requestMeta(c));
    if (!r.ok) return page(c, "Single sign-on failed", <SsoProblem code={r.code} message={r.message} />, r.status);
    startSession(c, r.session.cookie, r.session.expiresAt, deps);
    return seeOther(c, r.returnPath);
  };
  // A cross-site POST from the IdP: exempt from the CSRF check (see http/middleware/csrf.ts).
  app.post(
    "/:accountId/acs",
    rateLimitPosts(deps.signInLimiter, "saml-acs"),
    bodyLimit({ maxSize: MAX_ACS_BODY, onError: (c) => acs(c as AppContext, Number(c.req.header("content-length")) || 0) }),
    (c) => acs(c),
  );
  return app;
}

function SsoStartForm({ c, email, next, error }: { c: AppContext; email: string; next: string; error?: string }) {
  return (
    <section class="card narrow">
      <h1>Sign in with single sign-on</h1>
      {error && <Notice kind="error">{error}</Notice>}
      <p>Enter your work e-mail address; you will continue at your organisation's identity provider.</p>
      <form method="post" action="/signin/sso">
        <Csrf c={c} />
        <input type="hidden" name="next" value={next} />
        <Field name="email" label="Work e-mail address" type="email" value={email} autocomplete="username" required />
        <div class="actions">
          <button type="submit">Continue</button>
          <a href="/signin">Sign in with a password instead</a>
        </div>
      </form>
    </section>
  );
}

/** ssoSignInRoutes: /signin/sso asks for the work e-mail and sends the browser on to its account's SP-initiated login. */
export function ssoSignInRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => {
    if (c.get("session")) return seeOther(c, "/admin");
    return page(c, "Single sign-on", <SsoStartForm c={c} email="" next={safeReturnPath(c.req.query("next"))} />);
  });
  app.post("/", rateLimitPosts(deps.signInLimiter, "signin-sso"), async (c) => {
    const body = await readForm(c);
    const email = formText(body, "email").trim().slice(0, 254);
    const next = safeReturnPath(formText(body, "next"));
    const accountId = await findSsoAccount(deps.saml, email);
    if (!accountId)
      return page(c, "Single sign-on", <SsoStartForm c={c} email={email} next={next} error="Single sign-on is not set up for this address. Sign in with your password, or ask your administrator." />, 400);
    // Not a redirect: the page CSP's form-action 'self' also covers redirects that follow a
    // form submission, so a 303 towards the IdP would be blocked. A Refresh navigation is not.
    const target = `/saml/${encodeURIComponent(accountId)}/login?next=${encodeURIComponent(next)}`;
    c.header("Refresh", `0; url=${target}`);
    return page(
      c,
      "Single sign-on",
      <section class="card narrow">
        <h1>Continuing to your identity provider…</h1>
        <p>
          <a class="button" href={target} data-testid="sso-continue">Continue</a>
        </p>
      </section>,
    );
  });
  return app;
}
