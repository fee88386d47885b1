// Pure helpers of the encryption-at-rest benchmark. No timing assertions: benchmarks are measured, not tested.
import { describe, expect, test } from "bun:test";
import type { KeyProvider } from "../../src/crypto/kms/types.ts";
import { busyNote, classes, countInPlace, countingProvider, mulberry32, newCounts, perSecond, resetCounts, runOrder, shuffledIndices, typicalUser } from "./crypto.ts";

/** fakeProvider "wraps" by prefixing a byte; it records the calls it received. */
function fakeProvider(): KeyProvider & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    name: "fake",
    hsmGrade: false,
    wrap: async (key, context) => {
      seen.push(`wrap ${context.dataClass}`);
      return Uint8Array.of(7, ...key);
    },
    unwrap: async (wrapped, context) => {
      seen.push(`unwrap ${context.dataClass}`);
      return wrapped.slice(1);
    },
    health: async () => ({ ok: true, detail: "fake" }),
    describe: () => ({ provider: "fake", keyId: "fake-1", hsmGrade: false, note: "" }),
  };
}

describe("counting the key provider's calls", () => {
  test("countingProvider delegates every call and counts wraps and unwraps by data class", async () => {
    const inner = fakeProvider();
    const { provider, counts } = countingProvider(inner);
    const wrapped = await provider.wrap(Uint8Array.of(1, 2), { dataClass: "user_pii" });
    expect([...(await provider.unwrap(wrapped, { dataClass: "user_pii" }))]).toEqual([1, 2]);
    await provider.unwrap(wrapped, { dataClass: "totp" });
    await provider.unwrap(wrapped, {});
    expect(counts).toEqual({ wrap: 1, unwrap: 3, unwrapByClass: { user_pii: 1, totp: 1, "(no class)": 1 } });
    expect(inner.seen).toEqual(["wrap user_pii", "unwrap user_pii", "unwrap totp", "unwrap undefined"]);
    expect(provider.name).toBe("fake");
    expect(provider.describe().keyId).toBe("fake-1");
    expect((await provider.health()).ok).toBe(true);
    await provider.close?.(); // the inner provider has no close: still fine
  });

  test("countInPlace counts calls made through the original object, and resetCounts zeroes them", async () => {
    const p = fakeProvider();
    const counts = countInPlace(p);
    const w = await p.wrap(Uint8Array.of(9), { dataClass: "chat" });
    await p.unwrap(w, { dataClass: "chat" });
    expect(counts).toEqual({ wrap: 1, unwrap: 1, unwrapByClass: { chat: 1 } });
    expect(p.seen).toEqual(["wrap chat", "unwrap chat"]);
    resetCounts(counts);
    expect(counts).toEqual(newCounts());
  });
});

describe("workload helpers", () => {
  test("typicalUser has a 20-character name and a 25-character e-mail, unique per index", () => {
    const a = typicalUser(42, "acct", "role", "id-42", 1);
    const b = typicalUser(999_999, "acct", "role", "id-x", 1);
    for (const u of [a, b]) {
      expect(u.name).toHaveLength(20);
      expect(u.email).toHaveLength(25);
    }
    expect(a.email).not.toBe(b.email);
    expect(a).toMatchObject({ id: "id-42", accountId: "acct", roleId: "role", status: "active", now: 1 });
    expect(a.passwordHash).toStartWith("$argon2id$");
  });

  test("perSecond converts counts over milliseconds, NaN without elapsed time", () => {
    expect(perSecond(500, 250)).toBe(2000);
    expect(perSecond(1, 0)).toBeNaN();
  });

  test("shuffledIndices is a seeded permutation", () => {
    const a = shuffledIndices(1000, 7);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(shuffledIndices(1000, 7)).toEqual(a);
    expect(shuffledIndices(1000, 8)).not.toEqual(a);
    const r = mulberry32(1);
    for (let i = 0; i < 100; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  test("runOrder alternates the order of variants between runs", () => {
    expect(runOrder(["plain", "sealed"], 0)).toEqual(["plain", "sealed"]);
    expect(runOrder(["plain", "sealed"], 1)).toEqual(["sealed", "plain"]);
    expect(runOrder(["plain", "sealed"], 2)).toEqual(["plain", "sealed"]);
  });
});

describe("report wording", () => {
  test("busyNote calls the machine busy above half a load unit per core", () => {
    expect(busyNote(1.5, 2)).toContain("busy");
    expect(busyNote(0.4, 2)).toContain("fairly quiet");
    expect(busyNote(0.4, 2)).toContain("noisy");
  });

  test("classes lists unwraps by data class, sorted, or a dash", () => {
    expect(classes({ user_pii: 2, audit: 1 })).toBe("audit 1, user_pii 2");
    expect(classes({})).toBe("—");
  });
});
