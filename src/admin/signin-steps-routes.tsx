import { Hono } from "hono";
import { completePasswordReset, requestPasswordReset, resetTarget } from "../auth/password-change.ts";
import { describePolicy } from "../auth/password-policy.ts";
import { securityPolicy } from "../auth/policy.ts";
import { completeMfa, pendingMfaUser } from "../auth/signin.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { requestMeta } from "../http/context.ts";
import { clearCookie, LINK_COOKIE, MFA_COOKIE, readCookie } from "../http/cookies.ts";
import { rateLimitPosts } from "../http/middleware/rate-limit.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { LINK_REASONS, LinkProblem, safeNext, takeLinkToken } from "./public-routes.tsx";
import { startSession } from "./session-start.ts";
import { Csrf, Field, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

function MfaForm({ c, next, error }: { c: AppContext; next: string; error?: string }) {
  return (
    <section class="card narrow">
      <h1>Two-factor authentication</h1>
      <p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action="/signin/mfa">
        <Csrf c={c} />
        <input type="hidden" name="next" value={next} />
        <Field name="code" label="Code" autocomplete="one-time-code" required />
        <div class="actions"><button type="submit">Verify</button></div>
      </form>
    </section>
  );
}

function ForgotForm({ c, sent }: { c: AppContext; sent: boolean }) {
  return (
    <section class="card narrow">
      <h1>Reset your password</h1>
      {sent ? (
        <Notice>If an active account uses that address, we have e-mailed it a link. The link works once, for one hour.</Notice>
      ) : (
        <form method="post" action="/signin/forgot">
          <Csrf c={c} />
          <Field name="email" label="E-mail address" type="email" autocomplete="username" required />
          <div class="actions"><button type="submit">Send a reset link</button></div>
        </form>
      )}
    </section>
  );
}

function ResetForm({ c, email, hint, errors }: { c: AppContext; email: string; hint: string; errors: Record<string, string> }) {
  return (
    <section class="card narrow">
      <h1>Choose a new password</h1>
      <p>For {email}.</p>
      {Object.keys(errors).length > 0 && <Notice kind="error">Please correct the highlighted fields.</Notice>}
      <form method="post" action="/reset">
        <Csrf c={c} />
        <Field name="password" label="New password" type="password" error={errors.password} autocomplete="new-password" hint={hint} required />
        <Field name="confirm" label="Repeat the new password" type="password" error={errors.confirm} autocomplete="new-password" required />
        <div class="actions"><button type="submit">Set password</button></div>
      </form>
    </section>
  );
}

/** signinStepsRoutes: the second-factor step, "forgot password" and the reset link. */
export function signinStepsRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = deps.auth;

  app.get("/signin/mfa", async (c) => {
    const user = await pendingMfaUser(auth, readCookie(c, MFA_COOKIE) ?? "");
    if (!user) return seeOther(c, "/signin");
    return page(c, "Two-factor authentication", <MfaForm c={c} next={safeNext(c.req.query("next") ?? "/admin")} />);
  });

  app.post("/signin/mfa", rateLimitPosts(deps.signInLimiter, "mfa"), async (c) => {
    const body = await readForm(c);
    const next = safeNext(formText(body, "next") || "/admin");
    const r = await completeMfa(auth, readCookie(c, MFA_COOKIE) ?? "", formText(body, "code"), requestMeta(c));
    if (r.kind === "refused") return page(c, "Two-factor authentication", <MfaForm c={c} next={next} error={r.message} />, 400);
    if (r.kind !== "session") return seeOther(c, "/signin");
    clearCookie(c, MFA_COOKIE);
    startSession(c, r.session.cookie, r.session.expiresAt, deps);
    return seeOther(c, next);
  });

  app.get("/signin/forgot", (c) => page(c, "Reset your password", <ForgotForm c={c} sent={false} />));
  app.post("/signin/forgot", rateLimitPosts(deps.signInLimiter, "forgot"), async (c) => {
    const body = await readForm(c);
    await requestPasswordReset(auth, formText(body, "email").trim(), deps.baseUrl, requestMeta(c));
    return page(c, "Reset your password", <ForgotForm c={c} sent />);
  });

  app.get("/reset", async (c) => {
    const moved = takeLinkToken(c, "/reset");
    if (moved) return moved;
    const t = await resetTarget(auth, readCookie(c, LINK_COOKIE) ?? "");
    if (!t.ok) return page(c, "Reset link", <LinkProblem title="Reset link not valid" reason={`${LINK_REASONS[t.reason] ?? ""} Ask for a new one from the sign-in page.`} />, 404);
    const hint = describePolicy(securityPolicy(auth, t.user.accountId, t.user.id).password);
    return page(c, "Choose a new password", <ResetForm c={c} email={t.user.email} hint={hint} errors={{}} />);
  });

  app.post("/reset", rateLimitPosts(deps.signInLimiter, "reset"), async (c) => {
    const token = readCookie(c, LINK_COOKIE) ?? "";
    const t = await resetTarget(auth, token);
    if (!t.ok) return page(c, "Reset link", <LinkProblem title="Reset link not valid" reason={LINK_REASONS[t.reason] ?? ""} />, 404);
    const body = await readForm(c);
    try {
      await completePasswordReset(auth, token, formText(body, "password"), formText(body, "confirm"), requestMeta(c));
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input" && Object.keys(e.fields).length) {
        const hint = describePolicy(securityPolicy(auth, t.user.accountId, t.user.id).password);
        return page(c, "Choose a new password", <ResetForm c={c} email={t.user.email} hint={hint} errors={e.fields} />, 400);
      }
      throw e;
    }
    clearCookie(c, LINK_COOKIE);
    return page(c, "Password changed", <section class="card narrow"><h1>Password changed</h1><Notice>Your password was changed and your other sessions were ended.</Notice><p><a class="button" href="/signin">Sign in</a></p></section>);
  });
  return app;
}
