/**
 * Password hashing (argon2id) and the baseline password rules. The identity issue extends the
 * rules (blocklist, enhanced options, NIST profile); callers only see `checkPassword`.
 */

/** MAX_PASSWORD_LENGTH is accepted in full, never truncated. */
export const MAX_PASSWORD_LENGTH = 128;

/** normalisePassword applies Unicode NFKC so the same password typed differently matches. */
export function normalisePassword(pw: string): string {
  return pw.normalize("NFKC");
}

/** checkPassword returns the name of every baseline rule the password fails (empty: acceptable). */
export function checkPassword(raw: string): string[] {
  const pw = normalisePassword(raw);
  const chars = [...pw];
  const failed: string[] = [];
  if (chars.length < 8) failed.push("at least 8 characters");
  if (chars.length > MAX_PASSWORD_LENGTH) failed.push(`at most ${MAX_PASSWORD_LENGTH} characters`);
  if (!/\p{L}/u.test(pw)) failed.push("at least one letter");
  if (!/\p{Nd}/u.test(pw)) failed.push("at least one digit");
  if (!(/\p{Lu}/u.test(pw) && /\p{Ll}/u.test(pw))) failed.push("both upper and lower case letters");
  if (chars.length > 0 && chars.every((c) => c === chars[0])) failed.push("not a single repeated character");
  if (hasRun(pw, 6)) failed.push("no runs of consecutive characters such as 123456 or abcdef");
  return failed;
}

function hasRun(pw: string, len: number): boolean {
  const cps = [...pw.toLowerCase()].map((c) => c.codePointAt(0)!);
  let up = 1;
  let down = 1;
  for (let i = 1; i < cps.length; i++) {
    up = cps[i] === cps[i - 1]! + 1 ? up + 1 : 1;
    down = cps[i] === cps[i - 1]! - 1 ? down + 1 : 1;
    if (up >= len || down >= len) return true;
  }
  return false;
}

/** hashPassword hashes with argon2id. */
export async function hashPassword(pw: string): Promise<string> {
  return Bun.password.hash(normalisePassword(pw), { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 });
}

/** verifyPassword checks a password against a stored hash. */
export async function verifyPassword(pw: string, hash: string): Promise<boolean> {
  return Bun.password.verify(normalisePassword(pw), hash);
}

/** DUMMY_HASH is verified against when the account does not exist, so timing matches. */
let dummyHash: Promise<string> | undefined;
/** dummyVerify spends the same work as a real verification. */
export async function dummyVerify(pw: string): Promise<void> {
  dummyHash ??= hashPassword("Dummy-password-1");
  await verifyPassword(pw, await dummyHash);
}
