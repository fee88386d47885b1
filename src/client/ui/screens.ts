/** The simple screens (waiting, ended), the reconnection banner and the notification live region. */
import type { EndReason } from "../../shared/signaling.ts";
import { button, h } from "../dom.ts";
import type { Notice } from "../state.ts";
import { endText, endTitle, waitingText } from "../wording.ts";

/** WaitingScreen tells the participant they are waiting to be let in. */
export class WaitingScreen {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;

  constructor(leave: () => void) {
    this.text = h("p", { attrs: { role: "status" } });
    this.el = h("section", { class: "waiting card narrow", attrs: { "aria-labelledby": "waiting-title", hidden: true } }, h("h1", { id: "waiting-title", text: "Waiting to join", attrs: { tabindex: "-1" } }), this.text, h("div", { class: "actions" }, button("Leave", leave, { class: "secondary" })));
  }

  /** render shows why the participant waits. */
  render(reason: "waiting_room" | "host_absent"): void {
    this.text.textContent = waitingText(reason);
  }

  /** focus moves the keyboard focus to the heading (the screen replaced the one that had it). */
  focus(): void {
    this.el.querySelector<HTMLElement>("h1")?.focus();
  }
}

/** EndedScreen tells why the meeting is over for this participant. */
export class EndedScreen {
  readonly el: HTMLElement;
  private readonly title: HTMLElement;
  private readonly text: HTMLElement;
  private readonly actions: HTMLElement;

  constructor() {
    this.title = h("h1", { id: "ended-title", attrs: { tabindex: "-1" } });
    this.text = h("p", { class: "ended-reason" });
    this.actions = h("div", { class: "actions" });
    this.el = h("section", { class: "ended card narrow", attrs: { "aria-labelledby": "ended-title", hidden: true } }, this.title, this.text, this.actions);
  }

  /** render shows the reason and what the participant can do now. */
  render(reason: EndReason | "error", message: string): void {
    this.el.dataset.reason = reason;
    this.title.textContent = reason === "error" ? "Could not stay in the meeting" : endTitle(reason);
    this.text.textContent = reason === "error" ? message : endText(reason, message);
    const canRejoin = reason === "left" || reason === "replaced" || reason === "error" || reason === "keys_unavailable" || reason === "locked";
    this.actions.replaceChildren(canRejoin ? button("Rejoin", () => location.reload()) : h("a", { class: "button secondary", attrs: { href: "/" }, text: "Close" }));
    this.title.focus();
  }
}

/** Notifier shows short notices and announces them through a polite live region. */
export class Notifier {
  readonly el: HTMLElement;
  private readonly live: HTMLElement;
  private readonly urgent: HTMLElement;

  constructor() {
    this.live = h("div", { class: "visually-hidden", attrs: { role: "status", "aria-live": "polite" } });
    this.urgent = h("div", { class: "visually-hidden", attrs: { role: "alert" } });
    this.el = h("div", { class: "toasts" }, this.live, this.urgent);
  }

  /** notify shows a notice for a few seconds; chat is announced by the chat log itself unless the panel is closed. */
  notify(n: Notice, chatVisible: boolean): void {
    if (n.kind === "chat" && chatVisible) return;
    const region = n.kind === "alert" ? this.urgent : this.live;
    region.textContent = n.text;
    const toast = h("p", { class: `toast ${n.kind}`, attrs: { "aria-hidden": "true" }, text: n.text });
    this.el.append(toast);
    setTimeout(() => toast.remove(), n.kind === "alert" ? 8000 : 4000);
    while (this.el.querySelectorAll(".toast").length > 4) this.el.querySelector(".toast")?.remove();
  }
}

/** Banner is the "reconnecting" bar over the meeting. */
export class Banner {
  readonly el: HTMLElement;

  constructor() {
    this.el = h("p", { class: "banner", attrs: { role: "status", hidden: true } });
  }

  /** set shows a message, or hides the banner for null. */
  set(text: string | null): void {
    this.el.hidden = text === null;
    this.el.textContent = text ?? "";
  }
}
