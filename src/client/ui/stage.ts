/**
 * The video grid: one tile per participant (camera or initials), a large tile per screen share,
 * the active speaker highlighted. Tiles persist across updates so playing video never restarts.
 */
import type { ParticipantInfo } from "../../shared/signaling.ts";
import { h, nameEl } from "../dom.ts";
import type { RemoteTrack } from "../subscriber.ts";
import { initials } from "../text.ts";

interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  avatar: HTMLElement;
  name: HTMLElement;
  mic: HTMLElement;
  hand: HTMLElement;
  track: MediaStreamTrack | null;
}

/** Stage renders the grid into its element. */
export class Stage {
  readonly el: HTMLElement;
  private readonly screens: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly audio: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly sounds = new Map<string, HTMLAudioElement>();
  private firstFrameSeen = false;

  constructor(private readonly onFirstRemoteFrame: () => void) {
    this.screens = h("div", { class: "screens" });
    this.grid = h("div", { class: "grid", attrs: { role: "list", "aria-label": "Participants' video" } });
    this.audio = h("div", { class: "audio-sinks", attrs: { "aria-hidden": "true" } });
    this.el = h("section", { class: "stage", attrs: { "aria-label": "Meeting video" } }, this.screens, this.grid, this.audio);
  }

  private tile(key: string, screen: boolean, mirrored: boolean): Tile {
    let t = this.tiles.get(key);
    if (t) return t;
    const video = h("video", { attrs: { autoplay: true, playsinline: true, muted: true } });
    video.muted = true;
    if (mirrored) video.classList.add("mirrored");
    const avatar = h("div", { class: "avatar", attrs: { "aria-hidden": "true" } });
    const name = h("span", { class: "tile-name" });
    const mic = h("span", { class: "tile-mic" });
    const hand = h("span", { class: "tile-hand", text: "✋ Hand raised", attrs: { hidden: true } });
    const el = h("figure", { class: screen ? "tile screen" : "tile", attrs: { role: screen ? "figure" : "listitem", "data-tile": key } }, video, avatar, h("figcaption", {}, name, mic, hand));
    video.addEventListener("loadeddata", () => {
      if (!this.firstFrameSeen && !mirrored && el.dataset.remote === "true") {
        this.firstFrameSeen = true;
        this.onFirstRemoteFrame();
      }
    });
    t = { el, video, avatar, name, mic, hand, track: null };
    this.tiles.set(key, t);
    (screen ? this.screens : this.grid).append(el);
    return t;
  }

  private label(t: Tile, p: ParticipantInfo, self: boolean, screen: boolean): void {
    const n = nameEl(p.name);
    t.name.replaceChildren(n, self ? " (you)" : "", screen ? "’s screen" : "");
    t.el.dataset.participantId = p.id;
    t.el.dataset.remote = String(!self);
    t.el.dataset.mic = String(p.mic);
    t.el.setAttribute("aria-label", `${self ? "You" : p.name}${screen ? ", screen share" : ""}${!screen && !p.mic ? ", muted" : ""}${!screen && p.hand ? ", hand raised" : ""}`);
    if (!screen) {
      t.mic.textContent = p.mic ? "" : "Muted";
      t.mic.hidden = p.mic;
      t.hand.hidden = !p.hand;
      t.avatar.textContent = initials(p.name);
    } else {
      t.mic.hidden = true;
    }
  }

  private attach(t: Tile, track: MediaStreamTrack | null, cameraOn: boolean): void {
    if (t.track !== track) {
      t.track = track;
      t.video.srcObject = track ? new MediaStream([track]) : null;
      if (track) void t.video.play().catch(() => {});
    }
    const showing = track !== null && cameraOn;
    t.el.classList.toggle("camera-off", !showing);
  }

  /** render brings the grid in line with the participants and the tracks that are flowing. */
  render(self: ParticipantInfo | null, local: { camera: MediaStreamTrack | null; screen: MediaStreamTrack | null }, others: ParticipantInfo[], remote: RemoteTrack[]): void {
    const keep = new Set<string>();
    const byKey = new Map(remote.map((r) => [`${r.participantId}:${r.source}`, r]));
    if (self) {
      const t = this.tile(`self:camera`, false, true);
      this.label(t, self, true, false);
      this.attach(t, local.camera, self.camera);
      keep.add("self:camera");
      if (local.screen) {
        const s = this.tile("self:screen", true, false);
        this.label(s, self, true, true);
        this.attach(s, local.screen, true);
        keep.add("self:screen");
      }
    }
    for (const p of others) {
      const key = `${p.id}:camera`;
      const t = this.tile(key, false, false);
      this.label(t, p, false, false);
      this.attach(t, byKey.get(key)?.track ?? null, p.camera);
      keep.add(key);
      const sk = `${p.id}:screen`;
      const screen = byKey.get(sk);
      if (screen) {
        const s = this.tile(sk, true, false);
        this.label(s, p, false, true);
        this.attach(s, screen.track, true);
        keep.add(sk);
      }
    }
    for (const [key, t] of this.tiles) {
      if (keep.has(key)) continue;
      t.video.srcObject = null;
      t.el.remove();
      this.tiles.delete(key);
    }
    this.grid.dataset.count = String(this.grid.childElementCount);
    this.screens.hidden = this.screens.childElementCount === 0;
    this.el.classList.toggle("has-screen", this.screens.childElementCount > 0);
    this.renderAudio(remote);
  }

  private renderAudio(remote: RemoteTrack[]): void {
    // Keyed by participant and track: the server reuses a freed slot (same track) for someone else.
    const mics = new Map(remote.filter((r) => r.source === "mic").map((r) => [`${r.participantId}|${r.track.id}`, r]));
    for (const [id, a] of this.sounds) {
      if (mics.has(id)) continue;
      a.srcObject = null;
      a.remove();
      this.sounds.delete(id);
    }
    for (const [id, r] of mics) {
      if (this.sounds.has(id)) continue;
      const a = h("audio", { attrs: { autoplay: true, "data-participant-id": r.participantId } });
      a.srcObject = new MediaStream([r.track]);
      void a.play().catch(() => {});
      this.audio.append(a);
      this.sounds.set(id, a);
    }
  }

  /** setSpeaker highlights the active speaker's tile. */
  setSpeaker(participantId: string | null, selfId: string | null): void {
    for (const [key, t] of this.tiles) {
      const id = key.startsWith("self:") ? selfId : key.slice(0, key.lastIndexOf(":"));
      t.el.classList.toggle("speaking", participantId !== null && id === participantId && key.endsWith(":camera"));
    }
  }

  /** resumeAudio retries playback after a user gesture (autoplay policies). */
  resumeAudio(): void {
    for (const a of this.sounds.values()) if (a.paused) void a.play().catch(() => {});
  }

  /** clear removes every tile (meeting over). */
  clear(): void {
    for (const t of this.tiles.values()) t.video.srcObject = null;
    for (const a of this.sounds.values()) a.srcObject = null;
    this.tiles.clear();
    this.sounds.clear();
    this.grid.replaceChildren();
    this.screens.replaceChildren();
    this.audio.replaceChildren();
  }
}
