// The pkcs11 key provider against a real SoftHSM2 token in a private token directory.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as P from "pkcs11js";
import { boolAttr, findKeys, generateAesKey, startSoftHsm, ulongAttr, type SoftHsm, type SoftHsmToken } from "../../../tests/support/softhsm.ts";
import { AppError } from "../../shared/errors.ts";
import { createKeyProvider } from "./index.ts";
import { createPkcs11KeyProvider, PKCS11_WRAP_VERSION, probePkcs11KeyProvider } from "./pkcs11.ts";
import type { KeyProvider, KeyProviderOptions, Pkcs11Options } from "./types.ts";

let hsm: SoftHsm;
let token: SoftHsmToken;
let other: SoftHsmToken;
let pinDir: string;
let pinFile: string;
const opened: KeyProvider[] = [];
let labels = 0;

beforeAll(() => {
  hsm = startSoftHsm();
  token = hsm.initToken("conclave-test");
  other = hsm.initToken("other-token", "654321");
  pinDir = mkdtempSync(join(tmpdir(), "conclave-pin-"));
  pinFile = join(pinDir, "pin");
  writeFileSync(pinFile, `${token.pin}\n`, { mode: 0o600 });
});

afterEach(async () => {
  for (const p of opened.splice(0)) await p.close?.();
  // Every test leaves the module finalized: nothing holds it once its providers are closed.
  expect(hsm.isFinalized()).toBe(true);
});

afterAll(() => {
  hsm.close();
  rmSync(pinDir, { recursive: true, force: true });
});

/** A label no other test uses. */
const freshLabel = (): string => `kek-${++labels}`;

function options(extra: Partial<Pkcs11Options> = {}): KeyProviderOptions {
  return {
    dataDir: pinDir,
    localKeyFile: join(pinDir, "unused.key"),
    pkcs11: { module: hsm.module, tokenLabel: token.label, keyLabel: "kek-shared", pinFile, createKeyIfMissing: true, ...extra },
  };
}

async function open(extra: Partial<Pkcs11Options> = {}): Promise<KeyProvider> {
  const p = await createPkcs11KeyProvider(options(extra));
  opened.push(p);
  return p;
}

/** The AppError a promise rejects with (fails the test when it resolves or rejects with something else). */
async function appError(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

const ctx = { account: "acc_1", dataClass: "chat", dek: "dek_1:v1" };
const dek = (n = 32): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n));

describe("pkcs11 provider (SoftHSM2), AES-GCM", () => {
  test("round trip: a wrapped DEK unwraps to the same bytes under the same context", async () => {
    const p = await open();
    const key = dek();
    const wrapped = await p.wrap(key, ctx);
    expect(await p.unwrap(wrapped, ctx)).toEqual(key);
    // The context is canonical: the order of its keys does not matter.
    expect(await p.unwrap(wrapped, { dek: ctx.dek, dataClass: ctx.dataClass, account: ctx.account })).toEqual(key);
  });

  test("wrapped bytes differ each time: version 1 | random 12-byte IV | ciphertext | 16-byte tag", async () => {
    const p = await open();
    const key = dek();
    const a = await p.wrap(key, ctx);
    const b = await p.wrap(key, ctx);
    expect(a.length).toBe(1 + 12 + 32 + 16);
    expect(a[0]).toBe(PKCS11_WRAP_VERSION["aes-gcm"]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(a.subarray(1, 13)).equals(Buffer.from(b.subarray(1, 13)))).toBe(false);
    expect(Buffer.from(a).includes(Buffer.from(key))).toBe(false);
    expect(await p.unwrap(b, ctx)).toEqual(key);
  });

  test("a different context (account, data class, DEK id, extra or missing field) does not unwrap", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), ctx);
    for (const wrong of [
      { ...ctx, account: "acc_2" },
      { ...ctx, dataClass: "recordings" },
      { ...ctx, dek: "dek_1:v2" },
      { ...ctx, extra: "x" },
      { account: ctx.account, dataClass: ctx.dataClass },
    ]) {
      const err = await appError(p.unwrap(wrapped, wrong));
      expect(err.code).toBe("internal");
      expect(err.message).toContain("the key or the context does not match");
    }
    // A failed unwrap does not spoil the next call.
    expect((await p.unwrap(wrapped, ctx)).length).toBe(32);
  });

  test("flipping any byte of the wrapped key makes unwrap fail", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), ctx);
    for (let i = 0; i < wrapped.length; i++) {
      const bad = Uint8Array.from(wrapped);
      bad[i]! ^= 0x01;
      const err = await appError(p.unwrap(bad, ctx));
      expect(err.code).toBe("internal");
      if (i > 0) expect(err.message).toContain("does not match");
    }
    await appError(p.unwrap(wrapped.subarray(0, 20), ctx));
  });

  test("a key made under another token's key does not unwrap here", async () => {
    writeFileSync(join(pinDir, "other-pin"), other.pin, { mode: 0o600 });
    const a = await open();
    const b = await open({ tokenLabel: other.label, pinFile: join(pinDir, "other-pin") });
    const wrapped = await b.wrap(dek(), ctx);
    expect((await appError(a.unwrap(wrapped, ctx))).message).toContain("does not match");
  });

  test("concurrent wraps and unwraps are serialized on the session and all succeed", async () => {
    const p = await open();
    const keys = Array.from({ length: 25 }, () => dek());
    const wrapped = await Promise.all(keys.map((k, i) => p.wrap(k, { ...ctx, n: String(i) })));
    const mixed = await Promise.all([
      ...wrapped.map((w, i) => p.unwrap(w, { ...ctx, n: String(i) })),
      ...keys.map((k) => p.wrap(k, ctx)),
      p.health(),
    ]);
    for (let i = 0; i < keys.length; i++) expect(mixed[i]).toEqual(keys[i]!);
    expect((mixed.at(-1) as { ok: boolean }).ok).toBe(true);
  });

  test("describe names the provider, token/key, HSM grade and the module", async () => {
    const label = freshLabel();
    const p = await open({ keyLabel: label });
    const d = p.describe();
    expect(d).toMatchObject({ provider: "pkcs11", keyId: `conclave-test/${label}`, hsmGrade: true });
    expect(d.note).toContain(hsm.module);
    expect(d.note).toContain("SoftHSM2 is a software token");
    expect(p.name).toBe("pkcs11");
    expect(p.hsmGrade).toBe(true);
  });

  test("health: a round trip on a fresh session, ok", async () => {
    const p = await open();
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain('token "conclave-test"');
    expect(h.detail).toContain("non-extractable");
    expect(h.detail).toContain("round trip ok");
  });

  test("the token may be chosen by slot id", async () => {
    const key = dek();
    const byLabel = await open();
    const bySlot = await open({ tokenLabel: undefined, slotId: token.slotId });
    expect(bySlot.describe().keyId).toBe("conclave-test/kek-shared");
    expect(await bySlot.unwrap(await byLabel.wrap(key, ctx), ctx)).toEqual(key);
  });

  test("createKeyProvider('pkcs11') opens it through the provider map", async () => {
    const p = await createKeyProvider("pkcs11", options());
    opened.push(p);
    expect(p.describe().provider).toBe("pkcs11");
  });
});

describe("pkcs11 provider: the key", () => {
  test("createKeyIfMissing creates one sensitive, non-extractable AES-256 token key; a second provider reuses it", async () => {
    const label = freshLabel();
    const first = await open({ keyLabel: label });
    const key = dek();
    const wrapped = await first.wrap(key, ctx);
    // A second instance while the first is open (the module is shared), then a third after both closed.
    const second = await open({ keyLabel: label });
    expect(await second.unwrap(wrapped, ctx)).toEqual(key);
    await first.close?.();
    await second.close?.();
    expect(hsm.isFinalized()).toBe(true);
    const third = await open({ keyLabel: label, createKeyIfMissing: false });
    expect(await third.unwrap(wrapped, ctx)).toEqual(key);
    await third.close?.();

    hsm.withSession(token, (s) => {
      const keys = findKeys(s, label);
      expect(keys.length).toBe(1);
      const k = keys[0]!;
      expect(boolAttr(s, k, P.CKA_EXTRACTABLE)).toBe(false);
      expect(boolAttr(s, k, P.CKA_NEVER_EXTRACTABLE)).toBe(true);
      expect(boolAttr(s, k, P.CKA_SENSITIVE)).toBe(true);
      expect(boolAttr(s, k, P.CKA_ALWAYS_SENSITIVE)).toBe(true);
      expect(boolAttr(s, k, P.CKA_TOKEN)).toBe(true);
      expect(boolAttr(s, k, P.CKA_PRIVATE)).toBe(true);
      expect(boolAttr(s, k, P.CKA_ENCRYPT)).toBe(true);
      expect(boolAttr(s, k, P.CKA_DECRYPT)).toBe(true);
      expect(boolAttr(s, k, P.CKA_WRAP)).toBe(false);
      expect(boolAttr(s, k, P.CKA_UNWRAP)).toBe(false);
      expect(ulongAttr(s, k, P.CKA_KEY_TYPE)).toBe(P.CKK_AES);
      expect(ulongAttr(s, k, P.CKA_VALUE_LEN)).toBe(32);
      // Its value cannot be read out.
      expect(() => s.lib.C_GetAttributeValue(s.session, k, [{ type: P.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
    });
  });

  test("a missing key without createKeyIfMissing: 'key not found'", async () => {
    const err = await appError(createPkcs11KeyProvider(options({ keyLabel: freshLabel(), createKeyIfMissing: false })));
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("PKCS#11 key not found");
    expect(err.message).toContain("createKeyIfMissing");
  });

  test("a key deleted while running: health and wrap say 'key not found', and it is not silently re-created", async () => {
    const label = freshLabel();
    const p = await open({ keyLabel: label, createKeyIfMissing: true });
    const wrapped = await p.wrap(dek(), ctx);
    hsm.withSession(token, (s) => {
      for (const k of findKeys(s, label)) s.lib.C_DestroyObject(s.session, k);
    });
    const h = await p.health();
    expect(h.ok).toBe(false);
    expect(h.detail).toContain("PKCS#11 key not found");
    expect(h.detail).toContain("never re-created");
    expect((await appError(p.wrap(dek(), ctx))).message).toContain("key not found");
    expect((await appError(p.unwrap(wrapped, ctx))).code).toBe("unavailable");
    hsm.withSession(token, (s) => expect(findKeys(s, label).length).toBe(0));
  });

  test("an extractable key is refused, also with createKeyIfMissing", async () => {
    const label = freshLabel();
    hsm.withSession(token, (s) => generateAesKey(s, { label, extractable: true }));
    const err = await appError(createPkcs11KeyProvider(options({ keyLabel: label })));
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("is extractable (CKA_EXTRACTABLE true): refused");
    const h = await probePkcs11KeyProvider(options({ keyLabel: label }));
    expect(h).toEqual({ ok: false, detail: err.message });
  });

  test("a key that is not sensitive is refused", async () => {
    const label = freshLabel();
    hsm.withSession(token, (s) => generateAesKey(s, { label, sensitive: false }));
    expect((await appError(createPkcs11KeyProvider(options({ keyLabel: label })))).message).toContain("is not sensitive (CKA_SENSITIVE false): refused");
  });

  test("an AES-128 key, a key without encrypt/decrypt, and two keys with one label are refused", async () => {
    const short = freshLabel();
    const noEncrypt = freshLabel();
    const twice = freshLabel();
    hsm.withSession(token, (s) => {
      generateAesKey(s, { label: short, bytes: 16 });
      generateAesKey(s, { label: noEncrypt, encrypt: false, wrap: true });
      generateAesKey(s, { label: twice });
      generateAesKey(s, { label: twice });
    });
    expect((await appError(createPkcs11KeyProvider(options({ keyLabel: short })))).message).toContain("is AES-128; the pkcs11 provider needs AES-256");
    expect((await appError(createPkcs11KeyProvider(options({ keyLabel: noEncrypt })))).message).toContain("does not allow encrypt and decrypt");
    expect((await appError(createPkcs11KeyProvider(options({ keyLabel: twice })))).message).toContain(`Several keys on PKCS#11 token "conclave-test" are labelled "${twice}"`);
  });

  test("a key made outside Conclave with the right attributes is used as it is", async () => {
    const label = freshLabel();
    hsm.withSession(token, (s) => generateAesKey(s, { label }));
    const p = await open({ keyLabel: label, createKeyIfMissing: false });
    const key = dek();
    expect(await p.unwrap(await p.wrap(key, ctx), ctx)).toEqual(key);
    hsm.withSession(token, (s) => expect(findKeys(s, label).length).toBe(1));
  });
});

describe("pkcs11 provider: module, token and PIN", () => {
  test("module not found", async () => {
    const err = await appError(createPkcs11KeyProvider(options({ module: "/nonexistent/libpkcs11.so" })));
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("PKCS#11 module not found: /nonexistent/libpkcs11.so does not exist");
    const h = await probePkcs11KeyProvider(options({ module: "/nonexistent/libpkcs11.so" }));
    expect(h.ok).toBe(false);
    expect(h.detail).toContain("module not found");
  });

  test("a file that is not a PKCS#11 library", async () => {
    const err = await appError(createPkcs11KeyProvider(options({ module: pinFile })));
    expect(err.message).toContain(`The PKCS#11 module ${pinFile} could not be loaded`);
  });

  test("token not found (by label or slot id), listing the tokens present", async () => {
    const err = await appError(createPkcs11KeyProvider(options({ tokenLabel: "no-such-token" })));
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain('PKCS#11 token not found: module /usr/lib/softhsm/libsofthsm2.so has no initialized token labelled "no-such-token"');
    expect(err.message).toContain(`"conclave-test" (slot ${token.slotId})`);
    expect(err.message).toContain(`"other-token" (slot ${other.slotId})`);
    const bySlot = await appError(createPkcs11KeyProvider(options({ tokenLabel: undefined, slotId: 4242 })));
    expect(bySlot.message).toContain("PKCS#11 token not found");
    expect((await probePkcs11KeyProvider(options({ tokenLabel: "no-such-token" }))).detail).toContain("token not found");
  });

  test("wrong PIN: the factory and the probe say 'PIN incorrect'", async () => {
    const wrongPin = join(pinDir, "wrong-pin");
    writeFileSync(wrongPin, "000000\n", { mode: 0o600 });
    const err = await appError(createPkcs11KeyProvider(options({ pinFile: wrongPin })));
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain('PIN incorrect for PKCS#11 token "conclave-test" (CKR_PIN_INCORRECT)');
    expect(err.message).toContain(wrongPin);
    const h = await probePkcs11KeyProvider(options({ pinFile: wrongPin }));
    expect(h.ok).toBe(false);
    expect(h.detail).toContain("PIN incorrect");
  });

  test("PIN changed while running: health says 'PIN incorrect', does not retry the same PIN, recovers when fixed", async () => {
    const file = join(pinDir, "changing-pin");
    writeFileSync(file, token.pin, { mode: 0o600 });
    const p = await open({ pinFile: file });
    const key = dek();
    const wrapped = await p.wrap(key, ctx);
    writeFileSync(file, "999999", { mode: 0o600 });
    const h1 = await p.health();
    expect(h1.ok).toBe(false);
    expect(h1.detail).toContain("PIN incorrect");
    expect(h1.detail).toContain("CKR_PIN_INCORRECT");
    const h2 = await p.health();
    expect(h2.ok).toBe(false);
    expect(h2.detail).toContain("was already refused (CKR_PIN_INCORRECT) and is not tried again");
    expect((await appError(p.unwrap(wrapped, ctx))).code).toBe("unavailable");
    writeFileSync(file, `${token.pin}\n`, { mode: 0o600 });
    expect((await p.health()).ok).toBe(true);
    expect(await p.unwrap(wrapped, ctx)).toEqual(key);
  });

  test("a PIN file readable by others (0644) is refused; a missing or empty one too", async () => {
    const loose = join(pinDir, "loose-pin");
    writeFileSync(loose, token.pin);
    chmodSync(loose, 0o644);
    const err = await appError(createPkcs11KeyProvider(options({ pinFile: loose })));
    expect(err.code).toBe("unavailable");
    expect(err.message).toContain("PKCS#11 PIN file");
    expect(err.message).toContain("mode 0644");
    expect(err.message).toContain(`chmod 600 ${loose}`);
    expect((await appError(createPkcs11KeyProvider(options({ pinFile: join(pinDir, "absent") })))).message).toContain("does not exist");
    const empty = join(pinDir, "empty-pin");
    writeFileSync(empty, "", { mode: 0o600 });
    expect((await appError(createPkcs11KeyProvider(options({ pinFile: empty })))).message).toContain("is empty");
  });

  test("PIN from an environment variable; an unset variable is a clear error", async () => {
    const name = "CONCLAVE_TEST_HSM_PIN";
    process.env[name] = token.pin;
    try {
      const p = await open({ pinFile: undefined, pinEnv: name });
      const key = dek();
      expect(await p.unwrap(await p.wrap(key, ctx), ctx)).toEqual(key);
    } finally {
      delete process.env[name];
    }
    const err = await appError(createPkcs11KeyProvider(options({ pinFile: undefined, pinEnv: name })));
    expect(err.message).toContain(`The environment variable ${name}, which should hold the PKCS#11 PIN, is not set or empty`);
  });

  test("options are checked: missing section, PIN source and token given twice or not at all, relative paths", async () => {
    const base = options().pkcs11!;
    const bad = async (o: KeyProviderOptions, text: string): Promise<void> => {
      const err = await appError(createPkcs11KeyProvider(o));
      expect(err.code).toBe("invalid_input");
      expect(err.message).toContain(text);
    };
    await bad({ dataDir: pinDir, localKeyFile: "/x" }, "Missing pkcs11 options");
    await bad({ ...options(), pkcs11: { ...base, pinEnv: "X" } }, "exactly one of pinFile and pinEnv");
    await bad({ ...options(), pkcs11: { ...base, pinFile: undefined } }, "exactly one of pinFile and pinEnv");
    await bad({ ...options(), pkcs11: { ...base, slotId: 1 } }, "exactly one of tokenLabel and slotId");
    await bad({ ...options(), pkcs11: { ...base, module: "libsofthsm2.so" } }, "absolute path");
    await bad({ ...options(), pkcs11: { ...base, pinFile: "pin.txt" } }, "pinFile must be an absolute path");
    await bad({ ...options(), pkcs11: { ...base, mechanism: "aes-cbc" as "aes-gcm" } }, "mechanism must be");
    await bad({ ...options(), pkcs11: { ...base, keyLabel: "" } }, "keyLabel must be a non-empty string");
  });
});

describe("pkcs11 provider: sessions and C_Finalize", () => {
  test("C_Finalize runs when the factory fails after C_Initialize (wrong PIN, missing key, refused key): the next provider initializes", async () => {
    const wrongPin = join(pinDir, "wrong-pin-2");
    writeFileSync(wrongPin, "000000", { mode: 0o600 });
    await appError(createPkcs11KeyProvider(options({ pinFile: wrongPin })));
    expect(hsm.isFinalized()).toBe(true);
    await appError(createPkcs11KeyProvider(options({ keyLabel: freshLabel(), createKeyIfMissing: false })));
    expect(hsm.isFinalized()).toBe(true);
    await appError(createPkcs11KeyProvider(options({ tokenLabel: "no-such-token" })));
    expect(hsm.isFinalized()).toBe(true);
    const p = await open();
    expect((await p.health()).ok).toBe(true);
  });

  test("close after an operation threw still finalizes; close is idempotent; later calls say 'closed'", async () => {
    const p = await open();
    const wrapped = await p.wrap(dek(), ctx);
    await appError(p.unwrap(wrapped, { ...ctx, account: "someone-else" }));
    expect(hsm.isFinalized()).toBe(false);
    await p.close?.();
    expect(hsm.isFinalized()).toBe(true);
    await p.close?.();
    expect((await appError(p.wrap(dek(), ctx))).message).toContain("is closed");
    expect(await p.health()).toEqual({ ok: false, detail: "The pkcs11 key provider for conclave-test/kek-shared is closed." });
    const next = await open();
    expect((await next.unwrap(wrapped, ctx)).length).toBe(32);
  });

  test("a session closed behind the provider's back is replaced transparently (one retry)", async () => {
    const p = await open();
    const key = dek();
    const wrapped = await p.wrap(key, ctx);
    hsm.withSession(token, (s) => s.lib.C_CloseAllSessions(s.slot));
    expect(await p.unwrap(wrapped, ctx)).toEqual(key);
    hsm.withSession(token, (s) => s.lib.C_CloseAllSessions(s.slot));
    expect(await p.unwrap(await p.wrap(key, ctx), ctx)).toEqual(key);
  });

  test("wrap refuses empty or oversized keys with a RangeError (a programming error, not an HSM failure)", async () => {
    const p = await open();
    expect(await p.wrap(new Uint8Array(0), ctx).then(() => null, (e: unknown) => e)).toBeInstanceOf(RangeError);
    expect(await p.wrap(new Uint8Array(1025), ctx).then(() => null, (e: unknown) => e)).toBeInstanceOf(RangeError);
  });
});

describe("pkcs11 provider, AES key wrap (RFC 3394)", () => {
  const kw = (extra: Partial<Pkcs11Options> = {}): Promise<KeyProvider> => open({ mechanism: "aes-key-wrap", keyLabel: "kek-wrap", ...extra });

  test("round trip; format is version 2 | RFC 3394 wrap of context hash and DEK; deterministic for the same input", async () => {
    const p = await kw();
    const key = dek();
    const wrapped = await p.wrap(key, ctx);
    expect(wrapped[0]).toBe(PKCS11_WRAP_VERSION["aes-key-wrap"]);
    expect(wrapped.length).toBe(1 + 32 + 32 + 8);
    expect(await p.unwrap(wrapped, ctx)).toEqual(key);
    // RFC 3394 has no IV: the same key under the same context wraps to the same bytes (DEKs are random, so this reveals nothing).
    expect(await p.wrap(key, ctx)).toEqual(wrapped);
    expect(Buffer.from(await p.wrap(key, { ...ctx, dek: "dek_1:v2" })).equals(Buffer.from(wrapped))).toBe(false);
    expect((await p.health()).detail).toContain("AES key wrap (RFC 3394) wrap/unwrap round trip ok");
  });

  test("the context is bound: a different context fails with a key-or-context mismatch", async () => {
    const p = await kw();
    const wrapped = await p.wrap(dek(), ctx);
    const err = await appError(p.unwrap(wrapped, { ...ctx, account: "acc_2" }));
    expect(err.code).toBe("internal");
    expect(err.message).toContain("the key or the context does not match");
    expect(err.message).toContain("context hash differs");
  });

  test("flipping any byte fails", async () => {
    const p = await kw();
    const wrapped = await p.wrap(dek(), ctx);
    for (let i = 0; i < wrapped.length; i++) {
      const bad = Uint8Array.from(wrapped);
      bad[i]! ^= 0x80;
      expect((await appError(p.unwrap(bad, ctx))).code).toBe("internal");
    }
  });

  test("the created key may wrap/unwrap only, and stays non-extractable; no session objects are left behind", async () => {
    const label = freshLabel();
    const p = await kw({ keyLabel: label });
    await p.unwrap(await p.wrap(dek(), ctx), ctx);
    hsm.withSession(token, (s) => {
      const [k] = findKeys(s, label);
      expect(k).toBeDefined();
      expect(boolAttr(s, k!, P.CKA_WRAP)).toBe(true);
      expect(boolAttr(s, k!, P.CKA_UNWRAP)).toBe(true);
      expect(boolAttr(s, k!, P.CKA_ENCRYPT)).toBe(false);
      expect(boolAttr(s, k!, P.CKA_EXTRACTABLE)).toBe(false);
      expect(boolAttr(s, k!, P.CKA_SENSITIVE)).toBe(true);
      s.lib.C_FindObjectsInit(s.session, [{ type: P.CKA_TOKEN, value: false }]);
      const sessionObjects = s.lib.C_FindObjects(s.session, 10);
      s.lib.C_FindObjectsFinal(s.session);
      expect(sessionObjects.length).toBe(0);
    });
  });

  test("a GCM key is refused for key wrap, and each provider refuses the other format by name", async () => {
    expect((await appError(createPkcs11KeyProvider(options({ mechanism: "aes-key-wrap", keyLabel: "kek-shared" })))).message).toContain(
      'does not allow wrap and unwrap (CKA_WRAP, CKA_UNWRAP), which mechanism "aes-key-wrap" needs',
    );
    const gcm = await open();
    const wrapper = await kw();
    const err = await appError(gcm.unwrap(await wrapper.wrap(dek(), ctx), ctx));
    expect(err.message).toContain('made with mechanism "aes-key-wrap", but the pkcs11 provider for conclave-test/kek-shared is configured for "aes-gcm"');
    expect((await appError(wrapper.unwrap(await gcm.wrap(dek(), ctx), ctx))).message).toContain('made with mechanism "aes-gcm"');
  });

  test("DEK lengths that are not a multiple of 8 are refused", async () => {
    const p = await kw();
    expect(await p.wrap(new Uint8Array(31), ctx).then(() => null, (e: unknown) => e)).toBeInstanceOf(RangeError);
    expect((await p.unwrap(await p.wrap(dek(24), ctx), ctx)).length).toBe(24);
  });
});
