import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppError } from "../../shared/errors.ts";
import { canonicalContext } from "./context.ts";
import { createKeyProvider, isKeyProviderName, keyProviders, type KeyProviderName } from "./index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("keyProviders", () => {
  test("lists the providers and nothing inherited", () => {
    expect(Object.keys(keyProviders)).toEqual(["local", "pkcs11", "aws-kms", "azure-keyvault", "oci-vault"]);
    expect(isKeyProviderName("local")).toBe(true);
    expect(isKeyProviderName("toString")).toBe(false);
    expect(isKeyProviderName("aws")).toBe(false);
  });

  test("createKeyProvider opens a provider by name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conclave-kms-"));
    dirs.push(dir);
    const p = await createKeyProvider("local", { dataDir: dir, localKeyFile: join(dir, "keys", "local.key") });
    expect(p.name).toBe("local");
    expect((await p.health()).ok).toBe(true);
  });

  test("createKeyProvider refuses an unknown name with the known ones", async () => {
    const err = await createKeyProvider("nope" as KeyProviderName, { dataDir: "/x", localKeyFile: "/x/k" }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toContain("known: local");
  });
});

describe("canonicalContext", () => {
  test("is JSON with keys sorted, independent of insertion order", () => {
    const a = new TextDecoder().decode(canonicalContext({ b: "2", a: "1", "é": "\"" }));
    expect(a).toBe('{"a":"1","b":"2","é":"\\""}');
    expect(canonicalContext({ a: "1", b: "2" })).toEqual(canonicalContext({ b: "2", a: "1" }));
    expect(new TextDecoder().decode(canonicalContext({}))).toBe("{}");
    expect(JSON.parse(a)).toEqual({ a: "1", b: "2", "é": '"' });
  });
});
