/** The camera and microphone: acquiring, switching devices, listing them. */

/** DeviceChoice names the devices chosen on the pre-join screen ("" = browser default). */
export interface DeviceChoice {
  cameraId: string;
  micId: string;
}

/** LocalMedia is what getLocalMedia found; either track may be missing. */
export interface LocalMedia {
  mic: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
  /** why a device could not be used (shown on the pre-join screen) */
  problem: string | null;
}

const VIDEO: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

function explain(e: unknown, what: string): string {
  const name = e instanceof DOMException ? e.name : "";
  if (name === "NotAllowedError") return `The browser did not allow access to your ${what}. Allow it in the address bar to be seen or heard.`;
  if (name === "NotFoundError" || name === "OverconstrainedError") return `No ${what} was found.`;
  if (name === "NotReadableError") return `Your ${what} is in use by another application.`;
  return `Your ${what} could not be started.`;
}

async function one(kind: "audio" | "video", deviceId: string): Promise<MediaStreamTrack> {
  const c: MediaTrackConstraints = kind === "video" ? { ...VIDEO } : { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (deviceId) c.deviceId = { exact: deviceId };
  const s = await navigator.mediaDevices.getUserMedia(kind === "video" ? { video: c } : { audio: c });
  return s.getTracks()[0]!;
}

/** getLocalMedia asks for the mic and camera; a device that fails is reported, not fatal. */
export async function getLocalMedia(choice: DeviceChoice, want: { mic: boolean; camera: boolean }): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) return { mic: null, camera: null, problem: "This browser cannot use a camera or microphone here (the page must be opened over HTTPS)." };
  const problems: string[] = [];
  let mic: MediaStreamTrack | null = null;
  let camera: MediaStreamTrack | null = null;
  if (want.mic) mic = await one("audio", choice.micId).catch((e: unknown) => (problems.push(explain(e, "microphone")), null));
  if (want.camera) camera = await one("video", choice.cameraId).catch((e: unknown) => (problems.push(explain(e, "camera")), null));
  return { mic, camera, problem: problems.length ? problems.join(" ") : null };
}

/** startCamera starts one camera track (for turning video back on). */
export function startCamera(cameraId: string): Promise<MediaStreamTrack> {
  return one("video", cameraId);
}

/** startMic starts one microphone track. */
export function startMic(micId: string): Promise<MediaStreamTrack> {
  return one("audio", micId);
}

/** listDevices returns the cameras and microphones (labels appear once access was granted). */
export async function listDevices(): Promise<{ cameras: MediaDeviceInfo[]; mics: MediaDeviceInfo[] }> {
  const all = navigator.mediaDevices?.enumerateDevices ? await navigator.mediaDevices.enumerateDevices() : [];
  return { cameras: all.filter((d) => d.kind === "videoinput"), mics: all.filter((d) => d.kind === "audioinput") };
}

/** startScreen asks the browser for a screen, window or tab to share (null when the user cancels). */
export async function startScreen(): Promise<MediaStreamTrack | null> {
  if (!navigator.mediaDevices?.getDisplayMedia) throw new Error("This browser cannot share a screen.");
  try {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    return s.getVideoTracks()[0] ?? null;
  } catch (e) {
    if (e instanceof DOMException && e.name === "NotAllowedError") return null;
    throw e;
  }
}
