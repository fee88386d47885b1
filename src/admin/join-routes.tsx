import { Hono } from "hono";
import { clientIp, type AppContext, type AppEnv } from "../http/context.ts";
import { readCookie, writeCookie } from "../http/cookies.ts";
import { formatMeetingNumber, parseMeetingNumber } from "../meetings/codes.ts";
import { guestIdentity, joinAccess, PASS_TTL_MS, tryLinkToken, tryPasscode, type Visitor } from "../meetings/join.ts";
import { validateDisplayName } from "../meetings/names.ts";
import { AppError, notFound } from "../shared/errors.ts";
import { randomToken } from "../shared/ids.ts";
import type { AdminDeps } from "./deps.ts";
import { MeetingShell } from "./meeting-shell.tsx";
import { Csrf, formText, Notice, page, readForm, seeOther } from "./ui.tsx";

/** JOIN_COOKIE is a browser's join id: a guest's identity, and what its passes are bound to. */
export const JOIN_COOKIE = "__Host-conclave_join";
/** PASSES_COOKIE holds the signed list of meetings whose passcode this browser passed. */
export const PASSES_COOKIE = "__Host-conclave_passes";

const WRONG = "The meeting ID or passcode is not correct. Check your invitation and try again.";

/** JoinForm asks for the meeting ID and passcode. The failure page never echoes what was typed. */
function JoinForm({ c, number, error, notice }: { c: AppContext; number?: string; error?: string; notice?: string }) {
  return (
    <section class="card narrow">
      <h1>Join a meeting</h1>
      {notice && <Notice>{notice}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action="/join">
        <Csrf c={c} />
        <label for="f-number">Meeting ID</label>
        <input id="f-number" name="number" type="text" inputmode="numeric" autocomplete="off" value={number ?? ""} required />
        <label for="f-passcode">Passcode</label>
        <input id="f-passcode" name="passcode" type="password" autocomplete="off" />
        <p class="hint">The passcode is in your invitation. Joining with the invitation's link needs no passcode.</p>
        <div class="actions"><button type="submit">Join</button></div>
      </form>
    </section>
  );
}

/** joinRoutes: the public join form, join links, the meeting page shell and join tokens. */
export function joinRoutes(deps: AdminDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const mm = deps.meetings;
  const source = (c: AppContext) => clientIp(c) || "local";
  const joinCookie = (c: AppContext, create: boolean): string | undefined => {
    let v = readCookie(c, JOIN_COOKIE);
    if (v && !/^[A-Za-z0-9_-]{32}$/.test(v)) v = undefined;
    if (!v && create) {
      v = randomToken(24);
      writeCookie(c, JOIN_COOKIE, v, PASS_TTL_MS / 1000);
    }
    return v;
  };
  const visitor = async (c: AppContext): Promise<Visitor> => {
    const actor = c.get("session")?.actor ?? null;
    const cookie = joinCookie(c, false);
    const user = actor ? await mm.deps.accounts.users.get(actor.accountId, actor.userId) : undefined;
    const passes = readCookie(c, PASSES_COOKIE);
    return { actor, email: user?.email ?? null, passed: (id) => mm.passes.has(cookie, passes, id) };
  };
  const grantPass = (c: AppContext, meetingId: string): void => {
    const id = joinCookie(c, true)!;
    writeCookie(c, PASSES_COOKIE, mm.passes.grant(id, readCookie(c, PASSES_COOKIE), meetingId), PASS_TTL_MS / 1000);
  };
  const limited = (c: AppContext, message: string) => {
    c.get("log").warn("join attempt budget exhausted", { source: source(c) });
    return page(c, "Join a meeting", <JoinForm c={c} error={message} />, 429);
  };

  app.get("/join", (c) => page(c, "Join a meeting", <JoinForm c={c} />));
  app.get("/j", (c) => seeOther(c, "/join"));
  app.post("/join", async (c) => {
    const body = await readForm(c);
    const attempt = tryPasscode(mm.join, source(c), formText(body, "number").slice(0, 40), formText(body, "passcode").slice(0, 100));
    if (attempt.ok) {
      grantPass(c, attempt.meeting.id);
      return seeOther(c, `/j/${attempt.meeting.number}`);
    }
    if (attempt.limited) return limited(c, attempt.message);
    return page(c, "Join a meeting", <JoinForm c={c} error={WRONG} />, 400);
  });

  app.get("/j/:number", async (c) => {
    const number = c.req.param("number");
    if (!parseMeetingNumber(number) || parseMeetingNumber(number) !== number) throw notFound("There is no page at this address.");
    const pwd = c.req.query("pwd");
    if (pwd !== undefined) {
      // The link's token leaves the address bar at once: remembered server-side for this browser, then a redirect.
      const attempt = tryLinkToken(mm.join, source(c), number, pwd);
      if (!attempt.ok) return attempt.limited ? limited(c, attempt.message) : seeOther(c, `/j/${number}?link=invalid`);
      grantPass(c, attempt.meeting.id);
      return seeOther(c, `/j/${number}`);
    }
    const v = await visitor(c);
    const access = joinAccess(mm.join, number, v);
    if (access.show === "form") {
      const notice = c.req.query("link") === "invalid" ? "This invitation link is not valid (the meeting may have been deleted or changed). Enter the meeting ID and passcode instead." : undefined;
      return page(c, "Join a meeting", <JoinForm c={c} number={formatMeetingNumber(number)} notice={notice} />);
    }
    if (access.show === "signin") return seeOther(c, `/signin?next=${encodeURIComponent(`/j/${number}`)}`);
    if (access.show === "refused") throw new AppError("forbidden", access.message);
    joinCookie(c, true);
    const m = await mm.deps.repo.get(access.meeting.accountId, access.meeting.id);
    if (!m) throw notFound("There is no page at this address.");
    const user = v.actor ? await mm.deps.accounts.users.get(v.actor.accountId, v.actor.userId) : undefined;
    return c.html(MeetingShell({ c, number, topic: m.topic, displayName: user?.name ?? "", nameEditable: !user, host: access.host }));
  });

  app.post("/j/:number/token", async (c) => {
    const number = c.req.param("number");
    const fail = (status: 400 | 401 | 403 | 404, error: string) => c.json({ error }, status);
    if (!parseMeetingNumber(number)) return fail(404, "There is no meeting with this ID.");
    const v = await visitor(c);
    const access = joinAccess(mm.join, number, v);
    if (access.show === "form") return fail(403, "Enter the meeting passcode first: open the join link again or join by meeting ID.");
    if (access.show === "signin") return fail(401, "Only signed-in users can join this meeting. Sign in, then join again.");
    if (access.show === "refused") return fail(403, access.message);
    let body: Record<string, unknown> = {};
    const type = c.req.header("content-type") ?? "";
    try {
      body = type.startsWith("application/json") ? ((await c.req.json()) as Record<string, unknown>) ?? {} : await readForm(c);
    } catch {
      return fail(400, "The request body is not valid JSON. Send {\"name\": \"Your name\"}.");
    }
    if (typeof body !== "object" || Array.isArray(body)) return fail(400, "The request body must be a JSON object such as {\"name\": \"Your name\"}.");
    const user = v.actor ? await mm.deps.accounts.users.get(v.actor.accountId, v.actor.userId) : undefined;
    let name: string;
    if (user) name = user.name;
    else {
      const checked = validateDisplayName(body.name);
      if ("error" in checked) return fail(400, checked.error);
      name = checked.name;
    }
    const cookie = joinCookie(c, true)!;
    const token = await mm.live.issueJoinToken({
      meetingId: access.meeting.id, accountId: access.meeting.accountId, displayName: name, userId: v.actor?.userId ?? null,
      internal: access.internal, host: access.host, ip: clientIp(c), device: (c.req.header("user-agent") ?? "").slice(0, 300),
      identity: v.actor ? `user:${v.actor.userId}` : guestIdentity(cookie),
      domain: user ? user.email.split("@").pop()!.toLowerCase() : null,
    });
    return c.json({ token });
  });
  return app;
}
