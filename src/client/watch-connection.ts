/** Peer-connection health: "failed", or "disconnected" for longer than a short grace period, counts as lost. */

/** DISCONNECTED_GRACE_MS lets a brief "disconnected" (Wi-Fi hiccup) recover by itself before rejoining. */
export const DISCONNECTED_GRACE_MS = 5000;

/** watchConnection calls `lost` once when the connection fails or stays disconnected past the grace period. */
export function watchConnection(pc: RTCPeerConnection, lost: (why: string) => void, isClosed: () => boolean): void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let reported = false;
  const report = (why: string): void => {
    if (reported || isClosed()) return;
    reported = true;
    lost(why);
  };
  pc.addEventListener("connectionstatechange", () => {
    const state = pc.connectionState;
    if (timer && state !== "disconnected") {
      clearTimeout(timer);
      timer = null;
    }
    if (state === "failed") report("the media connection failed");
    else if (state === "disconnected" && !timer) timer = setTimeout(() => pc.connectionState === "disconnected" && report("the media connection was interrupted"), DISCONNECTED_GRACE_MS);
    else if (state === "closed" && timer) clearTimeout(timer);
  });
}
