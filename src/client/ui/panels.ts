/** The side panels: participants (with the waiting room and host controls for hosts) and chat. */
import { MAX_CHAT_CHARS, type ClientMessage, type ParticipantInfo } from "../../shared/signaling.ts";
import { button, h, nameEl } from "../dom.ts";
import { isHost, type ChatEntry, type MeetingState } from "../state.ts";
import { checkChatInput, clockTime } from "../text.ts";

type Send = (m: ClientMessage) => void;

function roleLabel(p: ParticipantInfo): string {
  return p.role === "host" ? "Host" : p.role === "cohost" ? "Co-host" : "";
}

/** ParticipantsPanel lists who is in (and, for hosts, who is waiting) with per-person host actions. */
export class ParticipantsPanel {
  readonly el: HTMLElement;
  private readonly count: HTMLElement;
  private readonly waitingBox: HTMLElement;
  private readonly list: HTMLElement;

  constructor(
    private readonly send: Send,
    private readonly confirm: (question: string) => boolean,
  ) {
    this.count = h("span", { class: "count" });
    this.waitingBox = h("section", { class: "waiting-list", attrs: { "aria-label": "Waiting room", hidden: true } });
    this.list = h("ul", { class: "people" });
    this.el = h("aside", { class: "panel participants", id: "panel-participants", attrs: { "aria-labelledby": "participants-title" } }, h("h2", { id: "participants-title" }, "Participants ", this.count), this.waitingBox, this.list);
  }

  /** render redraws the lists from the state. */
  render(s: MeetingState): void {
    const host = isHost(s);
    const everyone = s.self ? [s.self, ...s.participants] : s.participants;
    this.count.textContent = `(${everyone.length})`;

    this.waitingBox.hidden = !host || s.waiting.length === 0;
    if (this.waitingBox.hidden) this.waitingBox.replaceChildren();
    else {
      const items = s.waiting.map((w) =>
        h(
          "li",
          { attrs: { "data-waiting-id": w.id } },
          nameEl(w.name),
          w.internal ? h("span", { class: "badge", text: "Member" }) : null,
          h("span", { class: "row-actions" }, button("Admit", () => this.send({ type: "host.admit", participantId: w.id }), { attrs: { "aria-label": `Admit ${w.name}` } }), button("Deny", () => this.send({ type: "host.deny", participantId: w.id }), { class: "secondary", attrs: { "aria-label": `Deny ${w.name}` } })),
        ),
      );
      this.waitingBox.replaceChildren(h("h3", { text: `Waiting room (${s.waiting.length})` }), h("ul", {}, ...items));
      if (s.waiting.length > 1) this.waitingBox.append(button("Admit all", () => this.send({ type: "host.admitAll" })));
    }

    // Raised hands first, in join order otherwise.
    const ordered = [...everyone].sort((a, b) => Number(b.hand) - Number(a.hand));
    this.list.replaceChildren(...ordered.map((p) => this.row(p, s, host)));
  }

  private row(p: ParticipantInfo, s: MeetingState, host: boolean): HTMLElement {
    const self = p.id === s.self?.id;
    const state = [p.mic ? "mic on" : "muted", p.camera ? "camera on" : "camera off", p.screen ? "sharing screen" : ""].filter(Boolean).join(", ");
    const actions: HTMLElement[] = [];
    if (host && !self && p.role !== "host") {
      if (p.mic) actions.push(button("Mute", () => this.send({ type: "host.mute", participantId: p.id }), { class: "secondary", attrs: { "aria-label": `Mute ${p.name}` } }));
      if (p.camera) actions.push(button("Stop video", () => this.send({ type: "host.stopVideo", participantId: p.id }), { class: "secondary", attrs: { "aria-label": `Stop ${p.name}'s video` } }));
      if (s.self?.role === "host") {
        const co = p.role === "cohost";
        actions.push(button(co ? "Remove co-host" : "Make co-host", () => this.send({ type: "host.cohost", participantId: p.id, cohost: !co }), { class: "secondary", attrs: { "aria-label": `${co ? "Remove co-host role from" : "Make co-host:"} ${p.name}` } }));
      }
      actions.push(
        button(
          "Remove",
          () => {
            if (this.confirm(`Remove ${p.name} from the meeting? They will not be able to rejoin.`)) this.send({ type: "host.remove", participantId: p.id });
          },
          { class: "danger", attrs: { "aria-label": `Remove ${p.name}` } },
        ),
      );
    }
    return h(
      "li",
      { attrs: { "data-participant-id": p.id, "data-hand": String(p.hand), "data-mic": String(p.mic) } },
      h("span", { class: "who" }, nameEl(p.name), self ? " (you)" : "", roleLabel(p) ? h("span", { class: "badge", text: roleLabel(p) }) : null, p.hand ? h("span", { class: "hand", text: "✋", attrs: { role: "img", "aria-label": "hand raised" } }) : null),
      h("span", { class: "state", text: state }),
      actions.length ? h("span", { class: "row-actions" }, ...actions) : null,
    );
  }
}

/** ChatPanel shows the chat log (a live region) and the message box. */
export class ChatPanel {
  readonly el: HTMLElement;
  private readonly log: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly error: HTMLElement;
  private lastId: string | null = null;

  constructor(send: Send) {
    this.log = h("ol", { class: "chat-log", attrs: { role: "log", "aria-live": "polite", "aria-label": "Chat messages" } });
    this.input = h("textarea", { id: "chat-input", attrs: { rows: "2", maxlength: String(MAX_CHAT_CHARS), "aria-describedby": "chat-error", autocomplete: "off" } });
    this.error = h("p", { class: "field-error", id: "chat-error", attrs: { hidden: true } });
    const form = h(
      "form",
      { class: "chat-form", attrs: { novalidate: true } },
      h("label", { attrs: { for: "chat-input" }, text: "Message everyone" }),
      this.input,
      this.error,
      h("button", { attrs: { type: "submit" }, text: "Send" }),
    );
    const submit = (): void => {
      const c = checkChatInput(this.input.value);
      this.error.hidden = c.ok || c.error === null;
      if (!c.ok) {
        this.error.textContent = c.error ?? "";
        return;
      }
      send({ type: "chat.send", text: c.text });
      this.input.value = "";
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submit();
    });
    // Enter sends, Shift+Enter adds a line.
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    this.el = h("aside", { class: "panel chat", id: "panel-chat", attrs: { "aria-labelledby": "chat-title" } }, h("h2", { id: "chat-title", text: "Chat" }), this.log, form);
  }

  /** render appends the chat entries not shown yet. */
  render(chat: ChatEntry[]): void {
    const from = this.lastId === null ? 0 : chat.findIndex((c) => c.id === this.lastId) + 1;
    if (from === 0 && this.lastId !== null) this.log.replaceChildren();
    for (const c of chat.slice(from)) {
      this.log.append(
        h(
          "li",
          { class: c.mine ? "mine" : "", attrs: { "data-chat-id": c.id } },
          h("span", { class: "meta" }, nameEl(c.mine ? "You" : c.fromName), " ", h("time", { attrs: { datetime: new Date(c.at).toISOString() }, text: clockTime(c.at) })),
          h("bdi", { class: "text", attrs: { dir: "auto" }, text: c.text }),
        ),
      );
    }
    while (this.log.childElementCount > 500) this.log.firstElementChild?.remove();
    this.lastId = chat.length ? chat[chat.length - 1]!.id : null;
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** focus moves the keyboard focus to the message box. */
  focus(): void {
    this.input.focus();
  }
}
