/**
 * The meeting session: joins with a token, keeps the signalling socket and both peer
 * connections alive (reconnecting with the resume secret after a drop, or a fresh token when
 * the seat is gone), and turns server messages into state for the views.
 */
import { PROTOCOL_VERSION, type ClientMessage, type ServerMessage } from "../shared/signaling.ts";
import { backoffDelay } from "./backoff.ts";
import type { ClientConfig } from "./config.ts";
import { fetchJoinToken } from "./join-token.ts";
import { startCamera, startMic, startScreen, type DeviceChoice } from "./local-media.ts";
import { Publisher } from "./publisher.ts";
import { SignalingSocket } from "./socket.ts";
import { initialState, reduce, type MeetingState, type Notice } from "./state.ts";
import { Subscriber, type RemoteTrack } from "./subscriber.ts";

/** LocalState is this browser's own media and UI choices. */
export interface LocalState {
  micOn: boolean;
  cameraOn: boolean;
  mic: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
  screen: MediaStreamTrack | null;
  devices: DeviceChoice;
}

/** SessionView is what the session tells the UI. */
export interface SessionView {
  changed(s: MeetingState, local: LocalState, remote: RemoteTrack[]): void;
  notice(n: Notice): void;
  banner(text: string | null): void;
  /** joining failed before the meeting was reached: back to the pre-join screen */
  joinFailed(error: string, tracks: { mic: MediaStreamTrack | null; camera: MediaStreamTrack | null }): void;
  /** the session is over for a reason that is not a server "ended" (token refused on rejoin...) */
  fatal(message: string): void;
}

/** Session drives one participant's connection to one meeting. */
export class Session {
  state: MeetingState = initialState();
  readonly local: LocalState;
  remote: RemoteTrack[] = [];
  publisher: Publisher | null = null;
  subscriber: Subscriber | null = null;
  private socket: SignalingSocket | null = null;
  private name = "";
  private hello: "token" | "resume" | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private everJoined = false;
  private leaving = false;

  constructor(
    private readonly cfg: ClientConfig,
    private readonly view: SessionView,
  ) {
    this.local = { micOn: true, cameraOn: true, mic: null, camera: null, screen: null, devices: { cameraId: "", micId: "" } };
    addEventListener("online", () => {
      if (this.retryTimer && this.state.phase === "reconnecting") {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        void this.connect();
      }
    });
    // The device reports losing its network: don't wait for the socket to notice.
    addEventListener("offline", () => this.dropAndReconnect("your device is offline"));
    addEventListener("pagehide", () => {
      if (this.socket?.open && !this.leaving) this.socket.send({ type: "leave" });
    });
  }

  /** join starts the session with the tracks from the pre-join screen. */
  async join(r: { name: string; devices: DeviceChoice; micOn: boolean; cameraOn: boolean; mic: MediaStreamTrack | null; camera: MediaStreamTrack | null }): Promise<void> {
    this.name = r.name;
    Object.assign(this.local, { micOn: r.micOn && r.mic !== null, cameraOn: r.cameraOn && r.camera !== null, mic: r.mic, camera: r.camera, devices: r.devices });
    if (this.local.mic) this.local.mic.enabled = this.local.micOn;
    this.state = { ...this.state, phase: "connecting" };
    this.emit();
    await this.connect();
  }

  private send = (m: ClientMessage): void => {
    this.socket?.send(m);
  };

  private emit(): void {
    this.view.changed(this.state, this.local, this.remote);
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    let hello: ClientMessage;
    if (this.state.resume) {
      hello = { type: "hello", v: PROTOCOL_VERSION, resume: this.state.resume };
      this.hello = "resume";
    } else {
      const t = await fetchJoinToken(this.cfg.tokenUrl, this.cfg.csrf, this.name);
      if (!t.ok) {
        if (t.retryable && this.everJoined) return this.scheduleRetry(t.error);
        if (!this.everJoined) {
          this.state = { ...this.state, phase: "prejoin" };
          this.view.joinFailed(t.error, { mic: this.local.mic, camera: this.local.camera });
          this.emit();
        } else this.view.fatal(t.error);
        return;
      }
      hello = { type: "hello", v: PROTOCOL_VERSION, token: t.token };
      this.hello = "token";
    }
    const url = `${location.protocol === "http:" ? "ws" : "wss"}://${location.host}/ws/meeting`;
    this.socket = new SignalingSocket(url, {
      onOpen: () => this.send(hello),
      onMessage: (m) => this.onMessage(m),
      onClose: (why) => this.onSocketClosed(why),
    });
  }

  private scheduleRetry(why: string): void {
    const delay = backoffDelay(this.attempt++);
    this.view.banner(`Connection lost (${why}). Reconnecting in ${Math.ceil(delay / 1000)} s…`);
    this.retryTimer = setTimeout(() => {
      this.view.banner("Reconnecting…");
      void this.connect();
    }, delay);
  }

  private onSocketClosed(why: string): void {
    this.socket = null;
    if (this.leaving || this.state.phase === "ended" || this.state.phase === "prejoin") return;
    this.teardownPeers();
    if (!this.everJoined && this.state.phase === "connecting" && this.attempt >= 3) {
      this.state = { ...this.state, phase: "prejoin" };
      this.view.joinFailed(`Could not connect to the meeting (${why}).`, { mic: this.local.mic, camera: this.local.camera });
      this.emit();
      return;
    }
    if (this.state.phase === "in") this.state = { ...this.state, phase: "reconnecting" };
    this.emit();
    this.scheduleRetry(why);
  }

  /** dropAndReconnect abandons the current socket and peers (media failed) and reconnects. */
  private dropAndReconnect(why: string): void {
    if (this.state.phase !== "in") return;
    this.socket?.close();
    this.onSocketClosed(why);
  }

  private onMessage(m: ServerMessage): void {
    if (m.type === "error" && m.code === "bad_token" && this.hello !== null) {
      // The resume secret (or the token) was refused: take a fresh token and join again.
      const wasResume = this.hello === "resume";
      this.hello = null;
      this.socket?.close();
      this.socket = null;
      this.state = { ...this.state, resume: null };
      if (wasResume) void this.connect();
      else this.onSocketClosed("the join token was refused");
      return;
    }
    const wasPhase = this.state.phase;
    const r = reduce(this.state, m, Date.now());
    this.state = r.state;
    for (const n of r.notices) this.view.notice(n);
    switch (m.type) {
      case "welcome":
        this.hello = null;
        this.attempt = 0;
        this.view.banner(null);
        if (!this.everJoined && m.meeting.muteOnEntry && this.local.micOn) {
          this.local.micOn = false;
          if (this.local.mic) this.local.mic.enabled = false;
          this.view.notice({ kind: "info", text: "You joined muted. Unmute when you want to speak." });
        }
        if (!this.everJoined) performance.mark("conclave:admitted");
        this.everJoined = true;
        this.startPeers();
        break;
      case "waiting":
        this.hello = null;
        this.attempt = 0;
        this.view.banner(null);
        break;
      case "pub.answer":
        void this.publisher?.answered(m.sdp);
        break;
      case "sub.offer":
        if (!this.subscriber) this.subscriber = this.newSubscriber();
        void this.subscriber.offered(m.sdp, m.tracks);
        break;
      case "ice":
        void (m.pc === "pub" ? this.publisher : this.subscriber)?.remoteIce(m.candidate, m.mid);
        break;
      case "muted":
        this.local.micOn = false;
        if (this.local.mic) this.local.mic.enabled = false;
        this.sendMediaState();
        break;
      case "video.stopped":
        void this.setCamera(false);
        break;
      case "ended":
        this.finish();
        break;
      case "error":
        if (m.code === "not_allowed" && this.local.screen && !this.state.self?.screen) void this.setScreen(false);
        break;
      default:
        break;
    }
    if (wasPhase !== this.state.phase || m.type !== "ice") this.emit();
  }

  private newSubscriber(): Subscriber {
    return new Subscriber({
      send: this.send,
      tracks: (list) => {
        this.remote = list;
        this.emit();
      },
      failed: (why) => this.dropAndReconnect(why),
    });
  }

  private startPeers(): void {
    this.teardownPeers();
    if (this.local.screen) {
      this.local.screen.stop();
      this.local.screen = null;
    }
    this.publisher = new Publisher({ send: this.send, failed: (why) => this.dropAndReconnect(why) }, { mic: this.local.mic, camera: this.local.cameraOn ? this.local.camera : null });
    this.publisher.start();
    this.subscriber = this.subscriber ?? this.newSubscriber();
    this.sendMediaState();
  }

  private teardownPeers(): void {
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = null;
    this.subscriber = null;
    this.remote = [];
  }

  private sendMediaState(): void {
    this.send({ type: "media.state", mic: this.local.micOn && this.local.mic !== null, camera: this.local.cameraOn && this.local.camera !== null, screen: this.local.screen !== null });
    if (this.state.self) this.state = { ...this.state, self: { ...this.state.self, mic: this.local.micOn && this.local.mic !== null, camera: this.local.cameraOn && this.local.camera !== null, screen: this.local.screen !== null } };
  }

  /** setMic turns the microphone on or off (starting it if it was never started). */
  async setMic(on: boolean): Promise<void> {
    if (on && !this.local.mic) {
      try {
        this.local.mic = await startMic(this.local.devices.micId);
        await this.publisher?.setMic(this.local.mic);
      } catch {
        this.view.notice({ kind: "alert", text: "Your microphone could not be started." });
        return;
      }
    }
    this.local.micOn = on;
    if (this.local.mic) this.local.mic.enabled = on;
    this.sendMediaState();
    this.emit();
  }

  /** setCamera turns the camera on (a new track) or off (the track is stopped, the light goes out). */
  async setCamera(on: boolean): Promise<void> {
    if (on) {
      try {
        const track = this.local.camera ?? (await startCamera(this.local.devices.cameraId));
        this.local.camera = track;
        await this.publisher?.setCamera(track);
      } catch {
        this.view.notice({ kind: "alert", text: "Your camera could not be started." });
        return;
      }
    } else {
      this.local.camera?.stop();
      this.local.camera = null;
      await this.publisher?.setCamera(null);
    }
    this.local.cameraOn = on;
    this.sendMediaState();
    this.emit();
  }

  /** setScreen starts or stops sharing the screen. */
  async setScreen(on: boolean): Promise<void> {
    if (on) {
      let track: MediaStreamTrack | null;
      try {
        track = await startScreen();
      } catch (e) {
        this.view.notice({ kind: "alert", text: `Screen sharing failed: ${(e as Error).message}` });
        return;
      }
      if (!track) return;
      track.addEventListener("ended", () => {
        if (this.local.screen === track) void this.setScreen(false);
      });
      this.local.screen = track;
      this.publisher?.setScreen(track);
    } else {
      this.local.screen?.stop();
      this.local.screen = null;
      this.publisher?.setScreen(null);
    }
    this.sendMediaState();
    this.emit();
  }

  /** setHand raises or lowers this participant's hand. */
  setHand(raised: boolean): void {
    this.send({ type: "hand", raised });
    if (this.state.self) this.state = { ...this.state, self: { ...this.state.self, hand: raised } };
    this.emit();
  }

  /** act sends a host control or chat message. */
  act(m: ClientMessage): void {
    this.send(m);
  }

  /** leave tells the server and ends the session here. */
  leave(): void {
    this.leaving = true;
    this.send({ type: "leave" });
    const r = reduce(this.state, { type: "ended", reason: "left", message: "" });
    this.state = r.state;
    this.finish();
    this.emit();
  }

  private finish(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.view.banner(null);
    this.socket?.close();
    this.socket = null;
    this.teardownPeers();
    for (const t of [this.local.mic, this.local.camera, this.local.screen]) t?.stop();
    this.local.screen = null;
  }
}
