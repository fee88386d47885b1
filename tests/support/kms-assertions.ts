// Assertions shared by the key-provider tests.

import { expect } from "bun:test";
import { KeyUnavailableError, type KeyUnavailableKind, type KeyUnavailableReason } from "../../src/crypto/kms/types.ts";
import { AppError } from "../../src/shared/errors.ts";

/** failure resolves to what `p` rejected with, and fails the test if `p` succeeds. */
export async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
}

/** unavailable expects `p` to fail with a KeyUnavailableError of this kind and reason that names the key and quotes the provider. */
export async function unavailable(p: Promise<unknown>, kind: KeyUnavailableKind, reason: KeyUnavailableReason): Promise<KeyUnavailableError> {
  const err = await failure(p);
  expect(err).toBeInstanceOf(KeyUnavailableError);
  const e = err as KeyUnavailableError;
  expect(e).toBeInstanceOf(AppError);
  expect(e.code).toBe("unavailable");
  expect({ kind: e.kind, reason: e.reason }).toEqual({ kind, reason });
  expect(e.message).toContain(e.keyId);
  expect(e.message).toContain(kind);
  expect(e.providerMessage.length).toBeGreaterThan(0);
  expect(e.message).toContain(e.providerMessage);
  return e;
}
