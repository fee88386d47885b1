/** What the client tells people, in one place: end reasons, waiting reasons, server errors. */
import type { EndReason, ErrorCode } from "../shared/signaling.ts";

const END_TEXT: Record<EndReason, string> = {
  removed: "The host removed you from this meeting. You cannot rejoin it.",
  ended: "The host ended the meeting for everyone.",
  denied: "The host did not let you in to this meeting.",
  locked: "The meeting is locked: nobody new can join right now.",
  left: "You left the meeting.",
  replaced: "You joined this meeting from another window or device, so this one was disconnected.",
  keys_unavailable: "The meeting had to stop because the organisation's encryption keys are unavailable.",
};

/** endTitle is the heading of the screen shown after the meeting ends for this participant. */
export function endTitle(reason: EndReason): string {
  switch (reason) {
    case "removed":
      return "You were removed from the meeting";
    case "ended":
      return "The meeting has ended";
    case "denied":
      return "You were not admitted";
    case "locked":
      return "The meeting is locked";
    case "left":
      return "You left the meeting";
    case "replaced":
      return "Joined elsewhere";
    case "keys_unavailable":
      return "The meeting was stopped";
  }
}

/** endText explains why the meeting ended for this participant: the server's own words when it sent some, ours otherwise. */
export function endText(reason: EndReason, serverMessage: string): string {
  const theirs = serverMessage.trim();
  return theirs === "" ? END_TEXT[reason] : theirs;
}

/** waitingText explains why the participant is waiting. */
export function waitingText(reason: "waiting_room" | "host_absent"): string {
  return reason === "waiting_room"
    ? "You are in the waiting room. The host will let you in soon."
    : "The meeting has not started yet. You will join automatically when the host arrives.";
}

/** errorText is a short message for an error the server reported (its own message is preferred when present). */
export function errorText(code: ErrorCode, message: string): string {
  if (message.trim() !== "") return message;
  switch (code) {
    case "not_allowed":
      return "You are not allowed to do that.";
    case "rate_limited":
      return "Slow down: too many messages.";
    case "media_failed":
      return "Your audio or video could not be set up.";
    case "bad_token":
      return "Your join link has expired; please join again.";
    default:
      return "Something went wrong.";
  }
}
