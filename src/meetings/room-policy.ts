/**
 * Admission rules of a live room, as pure functions: who is refused, who waits (and why),
 * who goes straight in. The room applies them on every join and again whenever the meeting's
 * settings or the host's presence change.
 */
import type { EndReason } from "../shared/signaling.ts";
import type { JoinGrant } from "./live-types.ts";

/** RoomPolicy is the subset of a meeting's effective settings the live room enforces. */
export interface RoomPolicy {
  waitingRoom: boolean;
  joinBeforeHost: boolean;
  authenticatedOnly: boolean;
  /** lower-case e-mail domains; empty = any */
  allowedDomains: string[];
  /** internal (authenticated members of the account) skip the waiting room */
  internalBypassWaitingRoom: boolean;
  muteOnEntry: boolean;
  screenShare: "host" | "all";
}

/** DEFAULT_POLICY is the product default (matches the settings catalogue defaults). */
export const DEFAULT_POLICY: RoomPolicy = {
  waitingRoom: true,
  joinBeforeHost: false,
  authenticatedOnly: false,
  allowedDomains: [],
  internalBypassWaitingRoom: false,
  muteOnEntry: false,
  screenShare: "host",
};

/** Admission is where a (non-host) joiner goes under the current policy. */
export type Admission = { to: "refused"; reason: EndReason; message: string } | { to: "waiting"; reason: "waiting_room" | "host_absent" } | { to: "in" };

/** REFUSALS are the user-facing messages of each refusal. */
export const MESSAGES = {
  authenticated: "This meeting is only for signed-in users. Sign in to your organisation's account, then join again.",
  domain: "This meeting admits only users of certain e-mail domains, and your account is not one of them.",
  locked: "The host has locked this meeting: nobody new can join.",
  removed: "You were removed from this meeting by the host and cannot rejoin it.",
  ended: "The meeting has ended.",
  endedByHost: "The host ended the meeting for everyone.",
  denied: "The host did not admit you to this meeting.",
  replaced: "You joined this meeting from another window or device.",
  left: "You left the meeting.",
} as const;

/** domainAllowed tells whether a grant passes the allowed-domains rule (hosts always do). */
export function domainAllowed(policy: RoomPolicy, grant: Pick<JoinGrant, "host"> & { domain?: string | null }): boolean {
  if (grant.host || policy.allowedDomains.length === 0) return true;
  const d = (grant.domain ?? "").toLowerCase();
  return d !== "" && policy.allowedDomains.includes(d);
}

/** admissionOf decides where a non-host joiner goes; `hostPresent` = a host or co-host is in the room. */
export function admissionOf(policy: RoomPolicy, grant: Pick<JoinGrant, "host" | "userId" | "internal"> & { domain?: string | null }, hostPresent: boolean): Admission {
  if (grant.host) return { to: "in" };
  if (policy.authenticatedOnly && !grant.userId) return { to: "refused", reason: "denied", message: MESSAGES.authenticated };
  if (!domainAllowed(policy, grant)) return { to: "refused", reason: "denied", message: MESSAGES.domain };
  if (!hostPresent && !policy.joinBeforeHost) return { to: "waiting", reason: "host_absent" };
  if (policy.waitingRoom && !(grant.internal && policy.internalBypassWaitingRoom)) return { to: "waiting", reason: "waiting_room" };
  return { to: "in" };
}
