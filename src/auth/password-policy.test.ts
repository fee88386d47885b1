import { describe, expect, test } from "bun:test";
import { BASELINE_POLICY, evaluatePassword, minimumLength, type PasswordPolicy } from "./password-policy.ts";

const nist: PasswordPolicy = { profile: "nist", minLength: 8, requireSpecial: false, mfaEnforced: false };

describe("baseline password rules", () => {
  const table: [string, string | null][] = [
    ["Tr0ubadour-Zebra", null],
    ["Short1a", "at least 8 characters"],
    ["alllowercase9", "both upper and lower case letters"],
    ["NoDigitsHere", "at least one digit"],
    ["12345678", "at least one letter"],
    ["Xx1Abcdef9", "no runs of consecutive characters such as 12345 or abcde"],
    ["Zy98765q", "no runs of consecutive characters such as 12345 or abcde"],
    ["aaaaaaaaaa", "not a single repeated character"],
    ["Password1", "not a commonly used password"],
    ["Qwerty123", "not a commonly used password"],
  ];
  for (const [pw, rule] of table) {
    test(`${JSON.stringify(pw)} → ${rule ?? "accepted"}`, () => {
      const failed = evaluatePassword(pw);
      if (rule === null) expect(failed).toEqual([]);
      else expect(failed).toContain(rule);
    });
  }

  test("names every failed rule at once", () => {
    expect(evaluatePassword("aaaa")).toEqual(
      expect.arrayContaining(["at least 8 characters", "at least one digit", "both upper and lower case letters", "not a single repeated character"]),
    );
  });

  test("special characters only when the policy asks", () => {
    expect(evaluatePassword("Tr0ubadourZebra")).toEqual([]);
    expect(evaluatePassword("Tr0ubadourZebra", { ...BASELINE_POLICY, requireSpecial: true })).toContain("at least one special character (not a letter or digit)");
    expect(evaluatePassword("Tr0ubadour-Zebra", { ...BASELINE_POLICY, requireSpecial: true })).toEqual([]);
  });

  test("minimum length is configurable between 8 and 32", () => {
    expect(minimumLength({ ...BASELINE_POLICY, minLength: 12 })).toBe(12);
    expect(minimumLength({ ...BASELINE_POLICY, minLength: 99 })).toBe(32);
    expect(evaluatePassword("Tr0ubadour-Z", { ...BASELINE_POLICY, minLength: 14 })).toContain("at least 14 characters");
  });

  test("accepts 128 characters, refuses 129, never truncates", () => {
    const base = "Ab1-";
    const p128 = base.repeat(32);
    expect(evaluatePassword(p128)).toEqual([]);
    expect(evaluatePassword(p128 + "x")).toContain("at most 128 characters");
  });

  test("NFKC: full-width digits count as digits", () => {
    expect(evaluatePassword("Tr\uFF10ubadour-Zebra")).toEqual([]);
  });

  test("refuses the user's own e-mail or name", () => {
    expect(evaluatePassword("Alice.Smith9", BASELINE_POLICY, { email: "alice.smith@example.org" })).toContain("not your e-mail address or name");
  });
});

describe("NIST SP 800-63B profile", () => {
  test("no composition rules, minimum 15", () => {
    expect(evaluatePassword("correct horse battery", nist)).toEqual([]);
    expect(evaluatePassword("allsmallletters", nist)).toEqual([]);
    expect(evaluatePassword("shortpassphrase"[0]!.repeat(3) + "abc", nist)).toContain("at least 15 characters");
  });
  test("minimum 8 when MFA is enforced", () => {
    expect(evaluatePassword("plainpass", { ...nist, mfaEnforced: true })).toEqual([]);
  });
  test("still refuses common passwords", () => {
    expect(evaluatePassword("password", { ...nist, mfaEnforced: true })).toContain("not a commonly used password");
  });
});
