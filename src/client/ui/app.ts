/** The meeting app: lays out the screens and keeps them in line with the session. */
import type { ClientConfig } from "../config.ts";
import { formatMeetingNumber } from "../config.ts";
import { h, nameEl } from "../dom.ts";
import { Session, type LocalState } from "../session.ts";
import { pickSpeaker, type SpeakerTracker } from "../speaker.ts";
import { isHost, type MeetingState } from "../state.ts";
import type { RemoteTrack } from "../subscriber.ts";
import { ChatPanel, ParticipantsPanel } from "./panels.ts";
import { PrejoinView } from "./prejoin.ts";
import { Banner, EndedScreen, Notifier, WaitingScreen } from "./screens.ts";
import { Stage } from "./stage.ts";
import { Toolbar } from "./toolbar.ts";

/** startApp renders the meeting client into the root element. */
export function startApp(root: HTMLElement, cfg: ClientConfig): void {
  const confirmFn = (q: string): boolean => window.confirm(q);
  let participantsOpen = window.matchMedia("(min-width: 900px)").matches;
  let chatOpen = participantsOpen;
  let unread = 0;
  let seenChat = 0;
  let speaker: SpeakerTracker = { current: null, lastHeard: 0 };

  const notifier = new Notifier();
  const banner = new Banner();
  const stage = new Stage(() => {
    performance.mark("conclave:first-remote-frame");
    try {
      const m = performance.measure("conclave:join-to-first-frame", "conclave:join-click", "conclave:first-remote-frame");
      console.info(`conclave: first remote video frame ${Math.round(m.duration)} ms after Join`);
    } catch {
      // no join mark (rejoined after a reload)
    }
  });

  const session: Session = new Session(cfg, {
    changed: (s, local, remote) => render(s, local, remote),
    notice: (n) => {
      if (n.kind === "chat" && !chatOpen) unread++;
      notifier.notify(n, chatOpen);
    },
    banner: (t) => banner.set(t),
    joinFailed: (error, tracks) => {
      prejoin.reopen(error, tracks);
    },
    fatal: (message) => {
      ended.render("error", message);
      show("ended");
    },
  });

  const participants = new ParticipantsPanel((m) => session.act(m), confirmFn);
  const chat = new ChatPanel((m) => session.act(m));
  const toolbar = new Toolbar({
    toggleMic: () => void session.setMic(!session.local.micOn),
    toggleCamera: () => void session.setCamera(!session.local.cameraOn),
    toggleScreen: () => void session.setScreen(session.local.screen === null),
    toggleHand: () => session.setHand(!(session.state.self?.hand ?? false)),
    togglePanel: (which) => {
      if (which === "chat") {
        chatOpen = !chatOpen;
        if (chatOpen) {
          unread = 0;
          chat.focus();
        }
      } else participantsOpen = !participantsOpen;
      render(session.state, session.local, session.remote);
    },
    muteAll: () => session.act({ type: "host.muteAll" }),
    toggleLock: () => session.act({ type: "host.lock", locked: !(session.state.meeting?.locked ?? false) }),
    endForAll: () => {
      if (confirmFn("End the meeting for everyone?")) session.act({ type: "host.end" });
    },
    leave: () => session.leave(),
  });

  const prejoin = new PrejoinView(cfg, (r) => {
    performance.clearMarks("conclave:join-click");
    performance.mark("conclave:join-click");
    stage.resumeAudio();
    void session.join(r);
  });
  const waiting = new WaitingScreen(() => session.leave());
  const ended = new EndedScreen();
  const side = h("div", { class: "side" }, participants.el, chat.el);
  const meeting = h("section", { class: "meeting", attrs: { "aria-label": "Meeting", hidden: true } }, banner.el, h("div", { class: "meeting-body" }, stage.el, side), toolbar.el);
  const header = h("header", { class: "meeting-header" }, h("span", { class: "topic" }, nameEl(cfg.topic || "Meeting", "topic-name")), cfg.meetingNumber ? h("span", { class: "number muted", text: `Meeting ID ${formatMeetingNumber(cfg.meetingNumber)}` }) : null);

  root.classList.add("conclave-app");
  for (const n of Array.from(root.children)) if (n.tagName !== "NOSCRIPT") n.remove();
  root.append(header, prejoin.el, waiting.el, meeting, ended.el, notifier.el);
  document.title = `${cfg.topic || "Meeting"} · Conclave`;

  function show(which: "prejoin" | "waiting" | "meeting" | "ended"): void {
    prejoin.el.hidden = which !== "prejoin";
    waiting.el.hidden = which !== "waiting";
    meeting.hidden = which !== "meeting";
    ended.el.hidden = which !== "ended";
    root.dataset.screen = which;
  }

  let lastPhase = "";
  function render(s: MeetingState, local: LocalState, remote: RemoteTrack[]): void {
    root.dataset.phase = s.phase;
    if (s.phase !== lastPhase) {
      lastPhase = s.phase;
      if (s.phase === "prejoin" || s.phase === "connecting") show("prejoin");
      else if (s.phase === "waiting") {
        show("waiting");
        waiting.focus();
      }
      else if (s.phase === "ended") {
        stage.clear();
        ended.render(s.ended?.reason ?? "ended", s.ended?.message ?? "");
        show("ended");
        return;
      } else if (meeting.hidden) {
        show("meeting");
        toolbar.focus();
      }
    }
    if (s.phase === "waiting" && s.waitingReason) waiting.render(s.waitingReason);
    if (s.phase !== "in" && s.phase !== "reconnecting") return;
    if (s.chat.length !== seenChat) {
      seenChat = s.chat.length;
      chat.render(s.chat);
    }
    stage.render(s.self, { camera: local.cameraOn ? local.camera : null, screen: local.screen }, s.participants, remote);
    stage.setSpeaker(s.speakerAt !== 0 ? s.speaker : speaker.current, s.self?.id ?? null);
    participants.render(s);
    participants.el.hidden = !participantsOpen;
    chat.el.hidden = !chatOpen;
    side.hidden = !participantsOpen && !chatOpen;
    const canShare = s.meeting?.screenShare !== "host" || isHost(s);
    toolbar.render({ micOn: local.micOn && local.mic !== null, cameraOn: local.cameraOn && local.camera !== null, sharing: local.screen !== null, canShare, hand: s.self?.hand ?? false, host: isHost(s), locked: s.meeting?.locked ?? false, participantsOpen, chatOpen, unread });
  }

  // Active speaker from audio levels until the server says who speaks (it sends changes only).
  setInterval(() => {
    const s = session.state;
    if (s.phase !== "in" || s.speakerAt !== 0) return;
    const levels = new Map<string, number>();
    for (const r of session.remote) {
      if (r.source !== "mic") continue;
      const src = r.receiver.getSynchronizationSources?.()[0];
      if (src && typeof src.audioLevel === "number" && performance.timeOrigin + performance.now() - src.timestamp < 1000) levels.set(r.participantId, src.audioLevel);
      else levels.set(r.participantId, 0);
    }
    const next = pickSpeaker(speaker, levels, Date.now());
    if (next.current !== speaker.current) stage.setSpeaker(next.current, s.self?.id ?? null);
    speaker = next;
  }, 400);

  show("prejoin");
  void prejoin.start();
}
