/**
 * A tiny DOM builder. Text always goes in through textContent (never innerHTML), so names and
 * chat from other people cannot become markup.
 */

type Child = Node | string | null | undefined | false;

/** Props are the attributes and handlers h() sets. */
export interface Props {
  class?: string;
  id?: string;
  text?: string;
  attrs?: Record<string, string | boolean | undefined>;
  on?: Partial<Record<keyof HTMLElementEventMap, (e: Event) => void>>;
}

/** h creates an element with attributes, listeners and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.id) el.id = props.id;
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    if (v === true) el.setAttribute(k, "");
    else if (typeof v === "string") el.setAttribute(k, v);
  }
  for (const [ev, fn] of Object.entries(props.on ?? {})) if (fn) el.addEventListener(ev, fn);
  if (props.text !== undefined) el.textContent = props.text;
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** nameEl wraps someone's name in <bdi dir="auto"> so right-to-left names cannot reorder the text around them. */
export function nameEl(name: string, cls = "name"): HTMLElement {
  return h("bdi", { class: cls, attrs: { dir: "auto" }, text: name });
}

/** button makes a <button type="button"> with a visible label and an optional toggle state. */
export function button(label: string, onClick: () => void, opts: { class?: string; pressed?: boolean; title?: string; attrs?: Record<string, string> } = {}): HTMLButtonElement {
  const b = h("button", { class: opts.class, text: label, attrs: { type: "button", ...(opts.title ? { title: opts.title } : {}), ...(opts.attrs ?? {}) }, on: { click: () => onClick() } });
  if (opts.pressed !== undefined) b.setAttribute("aria-pressed", String(opts.pressed));
  return b;
}

/** setToggle updates a toggle button's label and aria-pressed together. */
export function setToggle(b: HTMLButtonElement, pressed: boolean, label: string): void {
  b.setAttribute("aria-pressed", String(pressed));
  if (b.textContent !== label) b.textContent = label;
}

/** clear removes all children of an element. */
export function clear(el: Element): void {
  el.replaceChildren();
}

/** show hides or shows an element with the hidden attribute. */
export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}
