import { Hono, type MiddlewareHandler } from "hono";
import { accountProfile } from "../accounts/account-setup.ts";
import { auditActor } from "../accounts/actor.ts";
import { getUser } from "../accounts/users.ts";
import { beginEnrolment, confirmEnrolment, remainingRecoveryCodes, removeMfa } from "../auth/mfa.ts";
import { changeOwnPassword } from "../auth/password-change.ts";
import { describePolicy } from "../auth/password-policy.ts";
import { securityPolicy } from "../auth/policy.ts";
import type { AppContext, AppEnv } from "../http/context.ts";
import { actorOf, signedIn } from "../http/middleware/guards.ts";
import { AppError } from "../shared/errors.ts";
import type { AdminDeps } from "./deps.ts";
import { Csrf, Field, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

const WHY: Record<string, string> = {
  first_sign_in: "Your organisation asks you to choose a new password at your first sign-in.",
  expired: "Your password has expired. Choose a new one to continue.",
  required: "An administrator asked you to choose a new password.",
};

/** restrictionGate keeps a user with a pending password change or MFA enrolment on those pages. */
export function restrictionGate(): MiddlewareHandler<AppEnv> {
  const open = /^\/(account\/(password|mfa)(\/.*)?|signout|static\/.*)$/;
  return async function restrictionGate(c, next) {
    const s = c.get("session");
    if (!s) return next();
    const path = new URL(c.req.url).pathname;
    if (open.test(path)) return next();
    const target = s.restrictions.changePassword ? "/account/password" : s.restrictions.enrolMfa ? "/account/mfa" : null;
    if (!target) return next();
    if (path.startsWith("/api/")) throw new AppError("forbidden", target === "/account/password" ? "Change your password first." : "Set up two-factor authentication first.");
    return seeOther(c, target);
  };
}

function PasswordForm({ c, hint, errors, why }: { c: AppContext; hint: string; errors: Record<string, string>; why?: string }) {
  return (
    <section class="card narrow">
      <h1>Change your password</h1>
      {why && <Notice>{why}</Notice>}
      {c.req.query("done") && <Notice>Your password was changed. Your other sessions were ended.</Notice>}
      {Object.keys(errors).length > 0 && <Notice kind="error">Please correct the highlighted fields.</Notice>}
      <form method="post" action="/account/password">
        <Csrf c={c} />
        <Field name="current" label="Current password" type="password" error={errors.current} autocomplete="current-password" required />
        <Field name="password" label="New password" type="password" error={errors.password} autocomplete="new-password" hint={hint} required />
        <Field name="confirm" label="Repeat the new password" type="password" error={errors.confirm} autocomplete="new-password" required />
        <div class="actions"><button type="submit">Change password</button></div>
      </form>
    </section>
  );
}

/** accountRoutes: the signed-in user's own security pages (password, two-factor authentication). */
export function accountRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const a = deps.auth;

  const passwordPage = (c: AppContext, errors: Record<string, string> = {}) => {
    const s = c.get("session")!;
    const hint = describePolicy(securityPolicy(a, s.actor.accountId, s.actor.userId).password);
    return page(c, "Change your password", <PasswordForm c={c} hint={hint} errors={errors} why={s.restrictions.changePassword ? WHY[s.restrictions.changePassword] : undefined} />, Object.keys(errors).length ? 400 : 200);
  };
  app.get("/password", signedIn(), (c) => passwordPage(c));
  app.post("/password", signedIn(), async (c) => {
    const body = await readForm(c);
    const s = c.get("session")!;
    try {
      await changeOwnPassword(a, { ...auditActor(s.actor), accountId: s.actor.accountId, userId: s.actor.userId }, s.id, { current: formText(body, "current"), password: formText(body, "password"), confirm: formText(body, "confirm") });
    } catch (e) {
      if (e instanceof AppError && e.code === "invalid_input") return passwordPage(c, e.fields);
      throw e;
    }
    return seeOther(c, "/account/password?done=1");
  });

  const mfaPage = async (c: AppContext, error?: string, codes?: string[]) => {
    const actor = actorOf(c);
    const s = c.get("session")!;
    const user = await getUser(a, actor, actor.userId);
    if (codes)
      return page(
        c,
        "Recovery codes",
        <section class="card narrow">
          <h1>Two-factor authentication is on</h1>
          <Notice>Save these recovery codes somewhere safe. Each works once if you lose your authenticator. They are shown only now.</Notice>
          <ul data-testid="recovery-codes">{codes.map((code) => <li><code>{code}</code></li>)}</ul>
          <p><a class="button" href="/admin">Continue</a></p>
        </section>,
      );
    if (user.totpEnabled) {
      const required = securityPolicy(a, actor.accountId, actor.userId).mfaRequired;
      return page(
        c,
        "Two-factor authentication",
        <section class="card narrow">
          <h1>Two-factor authentication</h1>
          <p><span class="badge ok">On</span> {remainingRecoveryCodes(a, user)} recovery code(s) left.</p>
          {required ? (
            <p class="hint">Your organisation requires two-factor authentication.</p>
          ) : (
            <form method="post" action="/account/mfa/disable" hx-confirm="Turn off two-factor authentication?">
              <Csrf c={c} />
              <button class="danger" type="submit">Turn off</button>
            </form>
          )}
        </section>,
      );
    }
    const account = accountProfile(a, actor);
    const e = await beginEnrolment(a, user, `Conclave (${account.name})`);
    return page(
      c,
      "Set up two-factor authentication",
      <section class="card narrow">
        <h1>Set up two-factor authentication</h1>
        {s.restrictions.enrolMfa && <Notice>Your organisation requires two-factor authentication. Set it up to continue.</Notice>}
        {error && <Notice kind="error">{error}</Notice>}
        <ol>
          <li>Scan this code with an authenticator app (or enter the key by hand).</li>
          <li>Enter the 6-digit code the app shows.</li>
        </ol>
        <p><img src={e.qrSvgDataUrl} alt="QR code for your authenticator app" width="200" height="200" /></p>
        <p>Key: <code data-testid="totp-secret">{e.secret}</code></p>
        <form method="post" action="/account/mfa">
          <Csrf c={c} />
          <Field name="code" label="Code from the app" autocomplete="one-time-code" required />
          <div class="actions"><button type="submit">Turn on</button></div>
        </form>
      </section>,
      error ? 400 : 200,
    );
  };
  app.get("/mfa", signedIn(), (c) => mfaPage(c));
  app.post("/mfa", signedIn(), async (c) => {
    const actor = actorOf(c);
    const body = await readForm(c);
    const user = await getUser(a, actor, actor.userId);
    const codes = await confirmEnrolment(a, user, formText(body, "code"), auditActor(actor));
    if (!codes) return mfaPage(c, "That code is not correct. Check the time on your phone and try the next code.");
    return mfaPage(c, undefined, codes);
  });
  app.post("/mfa/disable", signedIn(), async (c) => {
    const actor = actorOf(c);
    if (securityPolicy(a, actor.accountId, actor.userId).mfaRequired) throw new AppError("forbidden", "Your organisation requires two-factor authentication.");
    removeMfa(a, await getUser(a, actor, actor.userId), auditActor(actor), "user.mfa_disable");
    return seeOther(c, "/account/mfa");
  });
  return app;
}
