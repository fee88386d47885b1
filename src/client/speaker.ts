/**
 * Active speaker from audio levels, used when the server sends no `speaker` messages: the
 * loudest participant above a floor, with hysteresis so the highlight does not flicker.
 */

/** SPEAKER_FLOOR is the audio level (0..1, RTCRtpSynchronizationSource.audioLevel) below which nobody is speaking. */
export const SPEAKER_FLOOR = 0.02;
/** SPEAKER_HOLD_MS keeps the last speaker highlighted through short pauses. */
export const SPEAKER_HOLD_MS = 1500;

/** SpeakerTracker is the state pickSpeaker carries between samples. */
export interface SpeakerTracker {
  current: string | null;
  /** when `current` was last heard above the floor */
  lastHeard: number;
}

/** pickSpeaker chooses the active speaker from one sample of levels (participant id → level). */
export function pickSpeaker(t: SpeakerTracker, levels: ReadonlyMap<string, number>, now: number): SpeakerTracker {
  let loudest: string | null = null;
  let loudestLevel = SPEAKER_FLOOR;
  for (const [id, level] of levels) {
    if (level > loudestLevel) {
      loudest = id;
      loudestLevel = level;
    }
  }
  const currentLevel = t.current === null ? 0 : (levels.get(t.current) ?? 0);
  if (t.current !== null && currentLevel > SPEAKER_FLOOR) {
    // Somebody else must be clearly louder to take over.
    if (loudest !== null && loudest !== t.current && loudestLevel > currentLevel * 2) return { current: loudest, lastHeard: now };
    return { current: t.current, lastHeard: now };
  }
  if (loudest !== null) return { current: loudest, lastHeard: now };
  if (t.current !== null && now - t.lastHeard < SPEAKER_HOLD_MS && levels.has(t.current)) return t;
  return { current: null, lastHeard: t.lastHeard };
}
