/**
 * The inputs shared by the at-rest formats: a data-encryption key (DEK) in the clear, what a
 * ciphertext is bound to (AAD), and how an opener finds the DEK a header names.
 */

/** DEK_ID_BYTES is the length of a DEK identifier as written in every format header. */
export const DEK_ID_BYTES = 16;

/** DEK_KEY_BYTES is the length of an AES-256 key. */
export const DEK_KEY_BYTES = 32;

/** DekMaterial is an unwrapped DEK: its 16-byte id, its version (uint32) and its 32-byte AES-256 key. */
export interface DekMaterial {
  id: Uint8Array;
  version: number;
  key: Uint8Array;
}

/**
 * AadBinding names the one place a ciphertext belongs to; sealing binds it as AAD, so a value
 * copied to another account, table, column or row fails to open.
 */
export interface AadBinding {
  accountId: string;
  table: string;
  column: string;
  rowId: string;
}

/** DekLookup returns the 32-byte key of the DEK with this id and version, or null when the caller does not hold it. */
export type DekLookup = (dekId: Uint8Array, version: number) => Uint8Array | null;

/** assertDekMaterial throws (a programmer error) unless the DEK has a 16-byte id, a uint32 version and a 32-byte key. */
export function assertDekMaterial(dek: DekMaterial): void {
  if (!(dek.id instanceof Uint8Array) || dek.id.length !== DEK_ID_BYTES) {
    throw new RangeError(`a DEK id must be ${DEK_ID_BYTES} bytes`);
  }
  assertDekVersion(dek.version);
  assertKey(dek.key);
}

/** assertDekVersion throws (a programmer error) unless the version fits the header's uint32. */
export function assertDekVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > 0xffff_ffff) {
    throw new RangeError(`a DEK version must be an integer from 0 to 2^32-1, got ${version}`);
  }
}

/** assertKey throws (a programmer error) unless the key is a 32-byte AES-256 key. */
export function assertKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== DEK_KEY_BYTES) {
    throw new RangeError(`an AES-256 key must be ${DEK_KEY_BYTES} bytes`);
  }
}
