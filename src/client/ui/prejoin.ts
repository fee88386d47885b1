/** The pre-join screen: name, camera preview, device choice, mic/camera on or off, Join. */
import type { ClientConfig } from "../config.ts";
import { button, h, setToggle } from "../dom.ts";
import { getLocalMedia, listDevices, type DeviceChoice } from "../local-media.ts";
import { checkNameInput } from "../text.ts";

/** JoinRequest is what the participant chose before joining. */
export interface JoinRequest {
  name: string;
  devices: DeviceChoice;
  micOn: boolean;
  cameraOn: boolean;
  mic: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
}

/** PrejoinView owns the preview tracks until Join hands them over. */
export class PrejoinView {
  readonly el: HTMLElement;
  private readonly nameInput: HTMLInputElement;
  private readonly nameError: HTMLElement;
  private readonly video: HTMLVideoElement;
  private readonly cameraSelect: HTMLSelectElement;
  private readonly micSelect: HTMLSelectElement;
  private readonly micBtn: HTMLButtonElement;
  private readonly camBtn: HTMLButtonElement;
  private readonly joinBtn: HTMLButtonElement;
  private readonly problem: HTMLElement;
  private readonly formError: HTMLElement;
  private mic: MediaStreamTrack | null = null;
  private camera: MediaStreamTrack | null = null;
  private micOn = true;
  private cameraOn = true;
  private handedOver = false;
  /** the camera/microphone request in flight (Join waits for it, so an early click still brings media) */
  private loading: Promise<void> = Promise.resolve();

  constructor(
    cfg: ClientConfig,
    private readonly onJoin: (r: JoinRequest) => void,
  ) {
    this.nameInput = h("input", { id: "prejoin-name", attrs: { type: "text", autocomplete: "name", maxlength: "64", "aria-describedby": "prejoin-name-error", required: true } });
    this.nameInput.value = cfg.displayName;
    this.nameInput.readOnly = !cfg.nameEditable;
    this.nameError = h("p", { class: "field-error", id: "prejoin-name-error", attrs: { hidden: true } });
    this.video = h("video", { class: "preview mirrored", attrs: { autoplay: true, playsinline: true, muted: true, "aria-label": "Your camera preview" } });
    this.video.muted = true;
    this.cameraSelect = h("select", { id: "prejoin-camera" });
    this.micSelect = h("select", { id: "prejoin-mic" });
    this.cameraSelect.addEventListener("change", () => void this.refresh());
    this.micSelect.addEventListener("change", () => void this.refresh());
    this.micBtn = button("Mute", () => this.toggle("mic"), { pressed: false, class: "secondary" });
    this.camBtn = button("Stop video", () => this.toggle("camera"), { pressed: false, class: "secondary" });
    this.problem = h("p", { class: "notice", attrs: { role: "status", hidden: true } });
    this.formError = h("p", { class: "notice error", attrs: { role: "alert", hidden: true } });
    this.joinBtn = h("button", { attrs: { type: "submit" }, text: "Join" });
    const form = h(
      "form",
      { class: "prejoin-form", attrs: { novalidate: true } },
      h("label", { attrs: { for: "prejoin-name" }, text: "Your name" }),
      this.nameInput,
      cfg.nameEditable ? null : h("p", { class: "hint", text: "You join under the name of your account." }),
      this.nameError,
      h("label", { attrs: { for: "prejoin-camera" }, text: "Camera" }),
      this.cameraSelect,
      h("label", { attrs: { for: "prejoin-mic" }, text: "Microphone" }),
      this.micSelect,
      h("div", { class: "actions" }, this.micBtn, this.camBtn),
      this.formError,
      h("div", { class: "actions" }, this.joinBtn),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submit();
    });
    this.el = h("section", { class: "prejoin card", attrs: { "aria-labelledby": "prejoin-title" } }, h("h1", { id: "prejoin-title", text: "Ready to join?" }), h("div", { class: "prejoin-body" }, h("div", { class: "preview-box" }, this.video, this.problem), form));
  }

  /** start opens the camera and microphone for the preview and fills the device lists. */
  async start(): Promise<void> {
    await this.refresh();
    if (!this.nameInput.readOnly && this.nameInput.value === "") this.nameInput.focus();
    else this.joinBtn.focus();
  }

  private refresh(): Promise<void> {
    const run = this.loading.then(() => this.load());
    this.loading = run.catch(() => {});
    return run;
  }

  private async load(): Promise<void> {
    if (this.handedOver) return;
    this.stopTracks();
    const got = await getLocalMedia({ cameraId: this.cameraSelect.value, micId: this.micSelect.value }, { mic: true, camera: this.cameraOn });
    if (this.handedOver) {
      got.mic?.stop();
      got.camera?.stop();
      return;
    }
    this.mic = got.mic;
    this.camera = got.camera;
    if (this.mic) this.mic.enabled = this.micOn;
    this.video.srcObject = this.camera ? new MediaStream([this.camera]) : null;
    this.problem.hidden = got.problem === null;
    this.problem.textContent = got.problem ?? "";
    await this.fillDevices();
  }

  private async fillDevices(): Promise<void> {
    const { cameras, mics } = await listDevices();
    const fill = (sel: HTMLSelectElement, list: MediaDeviceInfo[], current: MediaStreamTrack | null, kind: string): void => {
      const chosen = current?.getSettings().deviceId ?? sel.value;
      sel.replaceChildren(...list.map((d, i) => h("option", { attrs: { value: d.deviceId }, text: d.label || `${kind} ${i + 1}` })));
      if (list.length === 0) sel.append(h("option", { attrs: { value: "" }, text: `No ${kind.toLowerCase()} found` }));
      if (chosen) sel.value = chosen;
      sel.disabled = list.length === 0;
    };
    fill(this.cameraSelect, cameras, this.camera, "Camera");
    fill(this.micSelect, mics, this.mic, "Microphone");
  }

  private toggle(which: "mic" | "camera"): void {
    if (which === "mic") {
      this.micOn = !this.micOn;
      if (this.mic) this.mic.enabled = this.micOn;
    } else {
      this.cameraOn = !this.cameraOn;
      if (!this.cameraOn) {
        this.camera?.stop();
        this.camera = null;
        this.video.srcObject = null;
      } else void this.refresh();
    }
    setToggle(this.micBtn, !this.micOn, "Mute");
    setToggle(this.camBtn, !this.cameraOn, "Stop video");
  }

  private async submit(): Promise<void> {
    if (this.joinBtn.disabled) return;
    const check = checkNameInput(this.nameInput.value);
    this.nameError.hidden = check.ok;
    this.nameInput.setAttribute("aria-invalid", String(!check.ok));
    if (!check.ok) {
      this.nameError.textContent = check.error;
      this.nameInput.focus();
      return;
    }
    this.setBusy(true);
    this.showError(null);
    await this.loading;
    this.handedOver = true;
    this.video.srcObject = null;
    this.onJoin({ name: check.name, devices: { cameraId: this.cameraSelect.value, micId: this.micSelect.value }, micOn: this.micOn, cameraOn: this.cameraOn && this.camera !== null, mic: this.mic, camera: this.camera });
  }

  /** reopen gives the screen back after a failed join (the session returns the tracks). */
  reopen(error: string, tracks: { mic: MediaStreamTrack | null; camera: MediaStreamTrack | null }): void {
    this.handedOver = false;
    this.mic = tracks.mic;
    this.camera = tracks.camera;
    this.video.srcObject = this.camera ? new MediaStream([this.camera]) : null;
    this.setBusy(false);
    this.showError(error);
  }

  private setBusy(busy: boolean): void {
    this.joinBtn.disabled = busy;
    this.joinBtn.textContent = busy ? "Joining…" : "Join";
  }

  private showError(text: string | null): void {
    this.formError.hidden = text === null;
    this.formError.textContent = text ?? "";
  }

  private stopTracks(): void {
    this.mic?.stop();
    this.camera?.stop();
    this.mic = null;
    this.camera = null;
  }
}
