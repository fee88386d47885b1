/**
 * The meetings module as the composition root builds it: scheduling deps for the pages, the
 * join checks (budgets shared with SIP later), and the live side for the signalling server.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { AccountsDeps } from "../accounts/deps.ts";
import type { Logger } from "../shared/logger.ts";
import type { MeetingsRepo } from "../storage/meetings-repo.ts";
import { createJoinGuard, type JoinGuard } from "./join-guard.ts";
import { createJoinPasses, type JoinDeps, type JoinPasses } from "./join.ts";
import { createJoinTokens } from "./join-tokens.ts";
import { createMeetingsLive, type MeetingsGate, type MeetingsLiveService } from "./live.ts";
import type { MeetingsDeps } from "./meetings.ts";

export { createJoinGuard } from "./join-guard.ts";

/** processMac is an HMAC under a random key that lives as long as the process. */
function processMac(): (data: string) => string {
  const key = randomBytes(32);
  return (data) => createHmac("sha256", key).update(data).digest("base64url");
}

/** MeetingsModule is everything the server needs from the meetings domain. */
export interface MeetingsModule {
  /** deps for the scheduling functions in meetings.ts (pages) */
  deps: MeetingsDeps;
  /** deps for the join checks in join.ts */
  join: JoinDeps;
  /** the attempt budgets; a SIP gateway must use this same instance */
  guard: JoinGuard;
  passes: JoinPasses;
  /** MeetingsLive for the signalling server */
  live: MeetingsLiveService;
}

/** MeetingsOptions is what the composition root passes in. */
export interface MeetingsOptions {
  accounts: AccountsDeps;
  repo: MeetingsRepo;
  log: Logger;
  baseUrl: string;
  meetingsAllowed?: MeetingsGate;
  /** mac signs join passes; give it a key that survives restarts (the codec's blind index). Default: a per-process key. */
  mac?: (data: string) => string;
}

/** createMeetings builds the meetings module. */
export function createMeetings(o: MeetingsOptions): MeetingsModule {
  const clock = o.accounts.clock;
  const guard = createJoinGuard(clock);
  const live = createMeetingsLive({ accounts: o.accounts, repo: o.repo, tokens: createJoinTokens(clock), log: o.log, meetingsAllowed: o.meetingsAllowed });
  const deps: MeetingsDeps = {
    accounts: o.accounts,
    repo: o.repo,
    log: o.log,
    baseUrl: o.baseUrl,
    onChanged: (accountId, meetingId) => void live.refresh(accountId, meetingId).catch((err: unknown) => o.log.error("live meeting not refreshed", { error: err })),
    onDeleted: (accountId, meetingId) => void live.endMeeting(accountId, meetingId, "ended", "The host deleted this meeting."),
  };
  return { deps, join: { accounts: o.accounts, repo: o.repo, guard }, guard, passes: createJoinPasses(clock, o.mac ?? processMac()), live };
}
