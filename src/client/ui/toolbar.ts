/** The meeting toolbar: own media, hand, panels, host controls, leave. */
import { button, h, setToggle } from "../dom.ts";

/** ToolbarActions are what the buttons do. */
export interface ToolbarActions {
  toggleMic(): void;
  toggleCamera(): void;
  toggleScreen(): void;
  toggleHand(): void;
  togglePanel(which: "participants" | "chat"): void;
  muteAll(): void;
  toggleLock(): void;
  endForAll(): void;
  leave(): void;
}

/** ToolbarState is what the buttons show. */
export interface ToolbarState {
  micOn: boolean;
  cameraOn: boolean;
  sharing: boolean;
  canShare: boolean;
  hand: boolean;
  host: boolean;
  locked: boolean;
  participantsOpen: boolean;
  chatOpen: boolean;
  unread: number;
}

/** Toolbar renders the meeting's control bar. */
export class Toolbar {
  readonly el: HTMLElement;
  private readonly mic: HTMLButtonElement;
  private readonly camera: HTMLButtonElement;
  private readonly screen: HTMLButtonElement;
  private readonly hand: HTMLButtonElement;
  private readonly people: HTMLButtonElement;
  private readonly chat: HTMLButtonElement;
  private readonly hostGroup: HTMLElement;
  private readonly lock: HTMLButtonElement;

  constructor(a: ToolbarActions) {
    this.mic = button("Mute", () => a.toggleMic(), { pressed: false, attrs: { "data-control": "mic" } });
    this.camera = button("Stop video", () => a.toggleCamera(), { pressed: false, attrs: { "data-control": "camera" } });
    this.screen = button("Share screen", () => a.toggleScreen(), { pressed: false, attrs: { "data-control": "screen" } });
    this.hand = button("Raise hand", () => a.toggleHand(), { pressed: false, attrs: { "data-control": "hand" } });
    this.people = button("Participants", () => a.togglePanel("participants"), { class: "secondary", attrs: { "aria-controls": "panel-participants", "aria-expanded": "true" } });
    this.chat = button("Chat", () => a.togglePanel("chat"), { class: "secondary", attrs: { "aria-controls": "panel-chat", "aria-expanded": "true" } });
    this.lock = button("Lock meeting", () => a.toggleLock(), { pressed: false, class: "secondary" });
    this.hostGroup = h(
      "div",
      { class: "group host-controls", attrs: { role: "group", "aria-label": "Host controls", hidden: true } },
      button("Mute all", () => a.muteAll(), { class: "secondary" }),
      this.lock,
      button("End for all", () => a.endForAll(), { class: "danger" }),
    );
    this.el = h(
      "nav",
      { class: "toolbar", attrs: { "aria-label": "Meeting controls" } },
      h("div", { class: "group", attrs: { role: "group", "aria-label": "Your media" } }, this.mic, this.camera, this.screen, this.hand),
      h("div", { class: "group", attrs: { role: "group", "aria-label": "Panels" } }, this.people, this.chat),
      this.hostGroup,
      button("Leave", () => a.leave(), { class: "danger leave" }),
    );
  }

  /** focus puts the keyboard focus on the first control (on entering the meeting). */
  focus(): void {
    this.mic.focus();
  }

  /** render shows the current state on the buttons. */
  render(s: ToolbarState): void {
    setToggle(this.mic, !s.micOn, "Mute");
    this.mic.title = s.micOn ? "Your microphone is on" : "You are muted";
    setToggle(this.camera, !s.cameraOn, "Stop video");
    this.camera.title = s.cameraOn ? "Your camera is on" : "Your camera is off";
    setToggle(this.screen, s.sharing, "Share screen");
    this.screen.disabled = !s.canShare && !s.sharing;
    this.screen.title = this.screen.disabled ? "Only hosts can share their screen in this meeting" : "";
    setToggle(this.hand, s.hand, "Raise hand");
    this.people.setAttribute("aria-expanded", String(s.participantsOpen));
    this.chat.setAttribute("aria-expanded", String(s.chatOpen));
    this.chat.textContent = s.unread > 0 && !s.chatOpen ? `Chat (${s.unread} new)` : "Chat";
    this.hostGroup.hidden = !s.host;
    setToggle(this.lock, s.locked, "Lock meeting");
  }
}
