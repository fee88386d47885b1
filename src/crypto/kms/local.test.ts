import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../../shared/errors.ts";
import { createLocalKeyProvider } from "./local.ts";
import type { KeyProvider } from "./types.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "conclave-kms-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(keyFile: string): Promise<KeyProvider> {
  return createLocalKeyProvider({ dataDir: tempDir(), localKeyFile: keyFile });
}

function freshKeyFile(): string {
  return join(tempDir(), "keys", "local.key");
}

const ctx = { account: "acc_1", dataClass: "chat", dek: "dek_1:v1" };
const dek = (): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(32));

async function expectUnwrapFailure(p: KeyProvider, wrapped: Uint8Array, context: Record<string, string>): Promise<void> {
  const err = await p.unwrap(wrapped, context).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
}

describe("local key provider: the key file", () => {
  test("is created on first use with mode 0600 in a 0700 directory", async () => {
    const file = freshKeyFile();
    await open(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, "..")).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^conclave-local-kek v1\n[A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(text.split("\n")[1] ?? "", "base64").length).toBe(32);
  });

  test("is reused on the next start: a key wrapped by one instance unwraps in the next", async () => {
    const file = freshKeyFile();
    const first = await open(file);
    const before = readFileSync(file);
    const key = dek();
    const wrapped = await first.wrap(key, ctx);
    const second = await open(file);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(await second.unwrap(wrapped, ctx)).toEqual(key);
    expect(second.describe().keyId).toBe(first.describe().keyId);
  });

  test("gives every instance opened together the same key", async () => {
    const file = freshKeyFile();
    const all = await Promise.all([open(file), open(file), open(file), open(file)]);
    const ids = new Set(all.map((p) => p.describe().keyId));
    expect(ids.size).toBe(1);
  });

  test("is refused when group or others can read it, with the chmod fix in the message", async () => {
    const file = freshKeyFile();
    await open(file);
    chmodSync(file, 0o644);
    const err = await open(file).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("unavailable");
    expect((err as AppError).message).toContain(file);
    expect((err as AppError).message).toContain(`chmod 600 ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  test("is refused when group can write it", async () => {
    const file = freshKeyFile();
    await open(file);
    chmodSync(file, 0o620);
    await expect(open(file)).rejects.toThrow("chmod 600");
  });

  test("is refused, and left untouched, when it is not a Conclave key file", async () => {
    const samples: Uint8Array[] = [
      crypto.getRandomValues(new Uint8Array(32)), // raw key bytes are not our format
      new TextEncoder().encode("conclave-local-kek v1\nAAAA\n"), // wrong length
      new TextEncoder().encode(`conclave-local-kek v2\n${Buffer.alloc(32).toString("base64")}\n`),
      new TextEncoder().encode("hello\n"),
      new Uint8Array(0),
    ];
    for (const sample of samples) {
      const file = join(tempDir(), "local.key");
      writeFileSync(file, sample, { mode: 0o600 });
      const mtime = statSync(file).mtimeMs;
      const err = await open(file).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).message).toContain(file);
      expect((err as AppError).message).toContain("not a Conclave key file");
      expect(readFileSync(file).equals(sample)).toBe(true);
      expect(statSync(file).mtimeMs).toBe(mtime);
    }
  });

  test("must be named by an absolute path", async () => {
    await expect(createLocalKeyProvider({ dataDir: tempDir(), localKeyFile: "keys/local.key" })).rejects.toThrow("absolute");
  });
});

describe("local key provider: wrap and unwrap", () => {
  test("round-trips a DEK, whatever the order of the context keys", async () => {
    const p = await open(freshKeyFile());
    const key = dek();
    const wrapped = await p.wrap(key, ctx);
    expect(wrapped.length).toBe(1 + 12 + 32 + 16);
    expect(wrapped[0]).toBe(1);
    expect(await p.unwrap(wrapped, { dek: "dek_1:v1", dataClass: "chat", account: "acc_1" })).toEqual(key);
  });

  test("uses a fresh nonce each time", async () => {
    const p = await open(freshKeyFile());
    const key = dek();
    const a = await p.wrap(key, ctx);
    const b = await p.wrap(key, ctx);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  test("fails with an AppError under a different context", async () => {
    const p = await open(freshKeyFile());
    const wrapped = await p.wrap(dek(), ctx);
    await expectUnwrapFailure(p, wrapped, { ...ctx, account: "acc_2" });
    await expectUnwrapFailure(p, wrapped, { ...ctx, extra: "x" });
    await expectUnwrapFailure(p, wrapped, {});
  });

  test("fails with an AppError when any byte is flipped or the value is cut short", async () => {
    const p = await open(freshKeyFile());
    const wrapped = await p.wrap(dek(), ctx);
    for (const i of [0, 1, 12, 13, 30, wrapped.length - 16, wrapped.length - 1]) {
      const bad = wrapped.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      await expectUnwrapFailure(p, bad, ctx);
    }
    await expectUnwrapFailure(p, wrapped.subarray(0, 20), ctx);
    await expectUnwrapFailure(p, new Uint8Array(0), ctx);
  });

  test("fails with an AppError under another key file", async () => {
    const a = await open(freshKeyFile());
    const b = await open(freshKeyFile());
    const wrapped = await a.wrap(dek(), ctx);
    const err = await b.unwrap(wrapped, ctx).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toContain("Could not unwrap");
  });

  test("refuses to wrap an empty key", async () => {
    const p = await open(freshKeyFile());
    await expect(p.wrap(new Uint8Array(0), ctx)).rejects.toThrow();
  });

  test("writes the documented format: version | nonce | AES-256-GCM ciphertext | tag, AAD = sorted JSON", async () => {
    const file = join(tempDir(), "local.key");
    const kek = Uint8Array.from({ length: 32 }, (_, i) => i);
    writeFileSync(file, `conclave-local-kek v1\n${Buffer.from(kek).toString("base64")}\n`, { mode: 0o600 });
    const p = await open(file);
    const key = dek();
    const aad = new TextEncoder().encode('{"account":"acc_1","dataClass":"chat","dek":"dek_1:v1"}');
    const subtleKey = await crypto.subtle.importKey("raw", kek, "AES-GCM", false, ["encrypt", "decrypt"]);
    // Decrypt what the provider wrote with WebCrypto…
    const wrapped = await p.wrap(key, ctx);
    const opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv: wrapped.slice(1, 13), additionalData: aad }, subtleKey, wrapped.slice(13));
    expect(Buffer.from(opened).equals(key)).toBe(true);
    // …and unwrap what WebCrypto wrote in the documented layout.
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, subtleKey, key));
    expect(await p.unwrap(Uint8Array.from([1, ...iv, ...sealed]), ctx)).toEqual(key);
  });
});

describe("local key provider: health and description", () => {
  test("is healthy while the key file is in place and unchanged", async () => {
    const file = freshKeyFile();
    const p = await open(file);
    const h = await p.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toContain(file);
  });

  test("reports, without throwing, a key file that was loosened, replaced or removed", async () => {
    const file = freshKeyFile();
    const p = await open(file);
    chmodSync(file, 0o640);
    expect(await p.health()).toMatchObject({ ok: false, detail: expect.stringContaining("chmod 600") });
    chmodSync(file, 0o600);
    const original = readFileSync(file);
    writeFileSync(file, `conclave-local-kek v1\n${Buffer.alloc(32, 7).toString("base64")}\n`);
    expect(await p.health()).toMatchObject({ ok: false, detail: expect.stringContaining("different key") });
    writeFileSync(file, original);
    expect((await p.health()).ok).toBe(true);
    unlinkSync(file);
    expect(await p.health()).toMatchObject({ ok: false, detail: expect.stringContaining("missing") });
  });

  test("says plainly that it is not HSM-grade and reveals no key material", async () => {
    const file = freshKeyFile();
    const p = await open(file);
    const d = p.describe();
    expect(p.name).toBe("local");
    expect(p.hsmGrade).toBe(false);
    expect(d).toMatchObject({ provider: "local", hsmGrade: false, note: "Local key file — not HSM-grade; use an HSM or a cloud KMS for production" });
    expect(d.keyId).toMatch(/^local-[0-9a-f]{16}$/);
    const b64 = readFileSync(file, "utf8").split("\n")[1] ?? "";
    const raw = Buffer.from(b64, "base64").toString("hex");
    expect(JSON.stringify(d)).not.toContain(b64);
    expect(JSON.stringify(d)).not.toContain(raw.slice(0, 16));
  });
});
