import { createHash } from "node:crypto";

/** PersonalField names a personal-data column; it is bound into the sealed value's context. */
export interface PersonalContext {
  accountId: string;
  table: string;
  column: string;
  rowId: string;
  /**
   * The user the value belongs to, when it is one user's content (chat message author, recording
   * owner, …): customer-managed keys wrap only licensed users' content. Rows of the users table
   * belong to the user in `rowId`; other values without an owner are account-wide.
   */
  ownerId?: string;
}

/**
 * PersonalDataCodec turns personal data into what is stored and back. Every personal column
 * (names, e-mails, later TOTP secrets) goes through it, so switching to envelope encryption
 * with a keyed blind index changes only the codec passed in at the composition root.
 */
export interface PersonalDataCodec {
  /** seal returns the stored form of `value` for this row and column. */
  seal(ctx: PersonalContext, value: string): Promise<string>;
  /** open returns the plaintext of a sealed value. */
  open(ctx: PersonalContext, sealed: string): Promise<string>;
  /** index returns a deterministic lookup token for an already normalised value. */
  index(column: string, normalised: string): string;
}

/**
 * plainCodec stores values as "p1:<text>" and indexes with unkeyed SHA-256. It is the
 * format before the key-management issue; the "p1:" prefix lets a migration job find and
 * re-seal these rows.
 */
export const plainCodec: PersonalDataCodec = {
  async seal(_ctx, value) {
    return `p1:${value}`;
  },
  async open(_ctx, sealed) {
    if (!sealed.startsWith("p1:")) throw new Error("personal data in an unknown format");
    return sealed.slice(3);
  },
  index(column, normalised) {
    return `h1:${createHash("sha256").update(`${column}\0${normalised}`).digest("hex")}`;
  },
};

/** normaliseEmail lower-cases and trims an e-mail address for lookups. */
export function normaliseEmail(email: string): string {
  return email.trim().normalize("NFKC").toLowerCase();
}
