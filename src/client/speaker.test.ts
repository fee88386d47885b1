import { describe, expect, test } from "bun:test";
import { pickSpeaker, SPEAKER_HOLD_MS, type SpeakerTracker } from "./speaker.ts";

const none: SpeakerTracker = { current: null, lastHeard: 0 };
const lv = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));

describe("pickSpeaker", () => {
  test("nobody speaks below the floor", () => {
    expect(pickSpeaker(none, lv({ a: 0.01, b: 0 }), 1000).current).toBeNull();
  });
  test("the loudest participant above the floor becomes the speaker", () => {
    expect(pickSpeaker(none, lv({ a: 0.1, b: 0.3 }), 1000)).toEqual({ current: "b", lastHeard: 1000 });
  });
  test("the current speaker keeps the highlight unless someone is clearly louder", () => {
    const t = { current: "a", lastHeard: 1000 };
    expect(pickSpeaker(t, lv({ a: 0.2, b: 0.3 }), 1100).current).toBe("a");
    expect(pickSpeaker(t, lv({ a: 0.1, b: 0.3 }), 1100).current).toBe("b");
  });
  test("a short pause keeps the highlight, a long one clears it", () => {
    const t = { current: "a", lastHeard: 1000 };
    expect(pickSpeaker(t, lv({ a: 0 }), 1000 + SPEAKER_HOLD_MS - 1).current).toBe("a");
    expect(pickSpeaker(t, lv({ a: 0 }), 1000 + SPEAKER_HOLD_MS).current).toBeNull();
  });
  test("a speaker who left is dropped at once", () => {
    expect(pickSpeaker({ current: "gone", lastHeard: 1000 }, lv({ b: 0 }), 1001).current).toBeNull();
  });
});
