/**
 * Password hashing (argon2id). The rules live in password-policy.ts; `checkPassword` applies
 * the baseline policy for callers that have no user yet (first-run setup).
 */
import { BASELINE_POLICY, evaluatePassword, normalisePassword } from "./password-policy.ts";

export { MAX_PASSWORD_LENGTH, normalisePassword } from "./password-policy.ts";

/** checkPassword returns the name of every baseline rule the password fails (empty: acceptable). */
export function checkPassword(raw: string, context: { email?: string; name?: string } = {}): string[] {
  return evaluatePassword(raw, BASELINE_POLICY, context);
}

/** hashPassword hashes with argon2id. */
export async function hashPassword(pw: string): Promise<string> {
  return Bun.password.hash(normalisePassword(pw), { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 });
}

/** verifyPassword checks a password against a stored hash. */
export async function verifyPassword(pw: string, hash: string): Promise<boolean> {
  return Bun.password.verify(normalisePassword(pw), hash);
}

let dummyHash: Promise<string> | undefined;
/** dummyVerify spends the same work as a real verification, so unknown accounts take as long as known ones. */
export async function dummyVerify(pw: string): Promise<void> {
  dummyHash ??= hashPassword("Dummy-password-1");
  await verifyPassword(pw, await dummyHash);
}
