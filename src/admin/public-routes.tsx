import { Hono } from "hono";
import { createAccountWithOwner } from "../accounts/account-setup.ts";
import { createSession } from "../auth/sessions.ts";
import { checkToken, consumeToken, setupNeeded } from "../auth/setup-token.ts";
import { activate, activationTarget, signIn } from "../auth/signin.ts";
import { endSession } from "../auth/sessions.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { requestMeta } from "../http/context.ts";
import { clearCookie, LINK_COOKIE, MFA_COOKIE, readCookie, SESSION_COOKIE, writeCookie } from "../http/cookies.ts";
import { rateLimitPosts } from "../http/middleware/rate-limit.ts";
import { AppError } from "../shared/errors.ts";
import { describePolicy } from "../auth/password-policy.ts";
import type { AdminDeps } from "./deps.ts";
import { startSession } from "./session-start.ts";
import { Csrf, Field, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

export const LINK_REASONS: Record<string, string> = {
  unknown: "This link is not valid. Check that you copied all of it.",
  expired: "This link has expired.",
  used: "This link has already been used; it works only once.",
};

/** safeNext keeps post-sign-in redirects on this site. */
export function safeNext(next: string): string {
  return /^\/(?![/\\])[\w\-/.?=&%]*$/.test(next) ? next : "/admin";
}


/**
 * A one-time link (setup, activation) arrives as ?token=…; we move the token into a
 * short-lived cookie and redirect to the clean URL so it does not stay in history or logs.
 */
export function takeLinkToken(c: AppContext, path: string): Response | null {
  const token = c.req.query("token");
  if (token === undefined) return null;
  writeCookie(c, LINK_COOKIE, token.slice(0, 100), 3600);
  return seeOther(c, path);
}

function SetupForm({ c, values, errors }: { c: AppContext; values: Record<string, string>; errors: Record<string, string> }) {
  return (
    <section class="card narrow">
      <h1>Set up Conclave</h1>
      <p>Create your organisation and its Owner. The Owner holds every privilege in the account.</p>
      {Object.keys(errors).length > 0 && <Notice kind="error">Please correct the highlighted fields.</Notice>}
      <form method="post" action="/setup">
        <Csrf c={c} />
        <Field name="organisation" label="Organisation name" value={values.organisation} error={errors.organisation} required />
        <Field name="ownerName" label="Your name" value={values.ownerName} error={errors.ownerName} autocomplete="name" required />
        <Field name="ownerEmail" label="Your e-mail address" type="email" value={values.ownerEmail} error={errors.ownerEmail} autocomplete="email" required />
        <Field name="password" label="Password" type="password" error={errors.password} autocomplete="new-password" hint={describePolicy()} required />
        <Field name="confirm" label="Repeat the password" type="password" error={errors.confirm} autocomplete="new-password" required />
        <div class="actions">
          <button type="submit">Create organisation</button>
        </div>
      </form>
    </section>
  );
}

function SignInForm({ c, email, next, error }: { c: AppContext; email: string; next: string; error?: string }) {
  return (
    <section class="card narrow">
      <h1>Sign in</h1>
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action="/signin">
        <Csrf c={c} />
        <input type="hidden" name="next" value={next} />
        <Field name="email" label="E-mail address" type="email" value={email} autocomplete="username" required />
        <Field name="password" label="Password" type="password" autocomplete="current-password" required />
        <div class="actions">
          <button type="submit">Sign in</button>
          <a href="/signin/forgot">Forgot your password?</a>
          <a href="/signin/sso">Sign in with SSO</a>
        </div>
      </form>
      <p class="hint">Invited to a meeting? <a href="/join">Join it with the meeting ID</a> — no account needed.</p>
    </section>
  );
}

function ActivateForm({ c, email, organisation, values, errors }: { c: AppContext; email: string; organisation: string; values: Record<string, string>; errors: Record<string, string> }) {
  return (
    <section class="card narrow">
      <h1>Activate your account</h1>
      <p>
        You were invited to <strong>{organisation}</strong> as <strong>{email}</strong>. Choose your name and password.
      </p>
      {Object.keys(errors).length > 0 && <Notice kind="error">Please correct the highlighted fields.</Notice>}
      <form method="post" action="/activate">
        <Csrf c={c} />
        <Field name="name" label="Your name" value={values.name} error={errors.name} autocomplete="name" required />
        <Field name="password" label="Password" type="password" error={errors.password} autocomplete="new-password" hint={describePolicy()} required />
        <Field name="confirm" label="Repeat the password" type="password" error={errors.confirm} autocomplete="new-password" required />
        <div class="actions">
          <button type="submit">Activate</button>
        </div>
      </form>
    </section>
  );
}

export function LinkProblem({ title, reason }: { title: string; reason: string }) {
  return (
    <section class="card narrow">
      <h1>{title}</h1>
      <Notice kind="error">{reason}</Notice>
    </section>
  );
}

/** publicRoutes: start page, first-run setup, sign-in/out and invitation activation. */
export function publicRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { auth } = deps;

  app.get("/", (c) => {
    if (c.get("session")) return seeOther(c, "/admin");
    if (setupNeeded(auth.db))
      return page(c, "Setup pending", <LinkProblem title="Conclave is not set up yet" reason="Open the one-time setup URL printed by `conclave serve` on the server's console." />);
    return seeOther(c, "/signin");
  });

  app.get("/setup", (c) => {
    if (!setupNeeded(auth.db)) throw new AppError("not_found", "Setup is already complete. Sign in instead.");
    const moved = takeLinkToken(c, "/setup");
    if (moved) return moved;
    const t = checkToken(auth.db, auth.clock, "setup", readCookie(c, LINK_COOKIE) ?? "");
    if (!t.ok) return page(c, "Setup link", <LinkProblem title="Setup link not valid" reason={`${LINK_REASONS[t.reason]} Restart the server to print a new setup URL.`} />, 404);
    return page(c, "Set up Conclave", <SetupForm c={c} values={{}} errors={{}} />);
  });

  app.post("/setup", rateLimitPosts(deps.signInLimiter, "setup"), async (c) => {
    if (!setupNeeded(auth.db)) throw new AppError("not_found", "Setup is already complete. Sign in instead.");
    const token = readCookie(c, LINK_COOKIE) ?? "";
    const t = checkToken(auth.db, auth.clock, "setup", token);
    if (!t.ok) return page(c, "Setup link", <LinkProblem title="Setup link not valid" reason={LINK_REASONS[t.reason]!} />, 404);
    const body = await readForm(c);
    const values = { organisation: formText(body, "organisation"), ownerName: formText(body, "ownerName"), ownerEmail: formText(body, "ownerEmail") };
    const meta = requestMeta(c);
    try {
      const { accountId, ownerId } = await createAccountWithOwner(
        auth,
        { ...values, password: formText(body, "password"), confirm: formText(body, "confirm") },
        { label: `setup (${values.ownerEmail})`, ...meta },
        () => {
          if (!consumeToken(auth.db, auth.clock, token)) throw new AppError("conflict", "This setup link has just been used.");
        },
      );
      const s = createSession(auth, { id: ownerId, accountId }, meta);
      startSession(c, s.cookie, s.expiresAt, deps);
      return seeOther(c, "/admin?welcome=1");
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return page(c, "Set up Conclave", <SetupForm c={c} values={values} errors={e.fields} />, 400);
      throw e;
    }
  });

  // The plain sign-in page is the busiest page: render it once and fill in each request's CSRF token.
  let signinTemplate: { html: string; marker: string } | null = null;
  app.get("/signin", async (c) => {
    if (c.get("session")) return seeOther(c, "/admin");
    const next = safeNext(c.req.query("next") ?? "/admin");
    if (next !== "/admin") return page(c, "Sign in", <SignInForm c={c} email="" next={next} />);
    if (!signinTemplate) {
      const res = page(c, "Sign in", <SignInForm c={c} email="" next={next} />);
      signinTemplate = { html: (await res.text()).replaceAll(c.get("csrfToken"), "\u0000csrf\u0000"), marker: "\u0000csrf\u0000" };
    }
    return c.html(signinTemplate.html.replaceAll(signinTemplate.marker, c.get("csrfToken")));
  });

  app.post("/signin", rateLimitPosts(deps.signInLimiter, "signin"), async (c) => {
    const body = await readForm(c);
    const email = formText(body, "email").trim();
    const next = safeNext(formText(body, "next") || "/admin");
    const r = await signIn(auth, email, formText(body, "password"), requestMeta(c));
    if (r.kind === "refused") return page(c, "Sign in", <SignInForm c={c} email={email} next={next} error={r.message} />, 400);
    if (r.kind === "mfa") {
      writeCookie(c, MFA_COOKIE, r.pendingToken, 300);
      return seeOther(c, `/signin/mfa?next=${encodeURIComponent(next)}`);
    }
    startSession(c, r.session.cookie, r.session.expiresAt, deps);
    return seeOther(c, next);
  });

  app.post("/signout", (c) => {
    const cookie = readCookie(c, SESSION_COOKIE);
    const s = c.get("session");
    if (cookie) endSession(auth, cookie);
    if (s) auth.audit.record({ accountId: s.actor.accountId, userId: s.actor.userId, label: s.actor.label, ...requestMeta(c) }, { action: "signout", targetType: "user", targetId: s.actor.userId });
    clearCookie(c, SESSION_COOKIE);
    return seeOther(c, "/signin");
  });

  app.get("/activate", async (c) => {
    const moved = takeLinkToken(c, "/activate");
    if (moved) return moved;
    const t = await activationTarget(auth, readCookie(c, LINK_COOKIE) ?? "");
    if (!t.ok) return page(c, "Invitation", <LinkProblem title="Invitation link not valid" reason={`${LINK_REASONS[t.reason] ?? ""} Ask your administrator to send a new invitation.`} />, 404);
    return page(c, "Activate your account", <ActivateForm c={c} email={t.user.email} organisation={t.organisation} values={{ name: t.user.name }} errors={{}} />);
  });

  app.post("/activate", rateLimitPosts(deps.signInLimiter, "activate"), async (c) => {
    const token = readCookie(c, LINK_COOKIE) ?? "";
    const t = await activationTarget(auth, token);
    if (!t.ok) return page(c, "Invitation", <LinkProblem title="Invitation link not valid" reason={LINK_REASONS[t.reason] ?? ""} />, 404);
    const body = await readForm(c);
    const values = { name: formText(body, "name") };
    try {
      const r = await activate(auth, token, { name: values.name, password: formText(body, "password"), confirm: formText(body, "confirm") }, requestMeta(c));
      startSession(c, r.session.cookie, r.session.expiresAt, deps);
      return seeOther(c, "/admin?activated=1");
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input" && Object.keys(e.fields).length)
        return page(c, "Activate your account", <ActivateForm c={c} email={t.user.email} organisation={t.organisation} values={values} errors={e.fields} />, 400);
      throw e;
    }
  });

  return app;
}
