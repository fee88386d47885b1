// The compiled binary with keys.provider = "oci-vault": the OCI SDK (oci-common +
// oci-keymanagement, loaded lazily) works inside `bun build --compile`, signs its requests with
// the API key named by an OCI config file, and the key commands report OCI's answers verbatim.
// The vault is tests/support/fake-oci-vault-server.ts in this test process.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, requireBinary, runCli, tempDir } from "../support/conclave.ts";
import { FakeOciVault } from "../support/fake-oci-vault-server.ts";

// Generous limits for a slow machine; nothing here asserts on timing.
setDefaultTimeout(60_000);

let work = "";
let vault: FakeOciVault;
let keyId = "";
let n = 0;

beforeAll(() => {
  requireBinary();
  work = tempDir("conclave-cli-oci-");
});
afterAll(() => removeDir(work));
beforeEach(async () => {
  vault = await FakeOciVault.start();
  keyId = vault.createKey();
});
afterEach(async () => {
  await vault.close();
});

/** setup writes an OCI config file (+ API key) and a Conclave config selecting oci-vault; returns the CLI flags. */
function setup(extra = ""): { dir: string; flags: string[] } {
  const dir = join(work, `run-${++n}`);
  mkdirSync(dir, { recursive: true });
  const { configFile } = vault.writeOciConfig(join(dir, "oci"));
  const toml = `[keys]\nprovider = "oci-vault"\n[oci_vault]\nkey_id = "${keyId}"\ncrypto_endpoint = "${vault.endpoint}"\nmanagement_endpoint = "${vault.endpoint}"\nconfig_file = "${configFile}"\ntimeout_ms = 2000\n${extra}`;
  writeFileSync(join(dir, "conclave.toml"), toml);
  return { dir, flags: ["--config", join(dir, "conclave.toml"), "--data-dir", join(dir, "data")] };
}

const OCI_ENV = { OCI_CONFIG_FILE: "/nonexistent/oci-config", OCI_REGION: "" };

describe("dist/conclave with the oci-vault provider", () => {
  test("keys status and keys test go through OCI Vault with signed requests; the config file holds no secret", async () => {
    const { dir, flags } = setup();
    const status = await runCli(["keys", "status", ...flags], { cwd: dir, env: OCI_ENV });
    // oci-common's url.parse() deprecation warning and retry chatter are kept off the console.
    expect(status.stderr).not.toContain("DeprecationWarning");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("provider: oci-vault (HSM-grade)");
    expect(status.stdout).toContain(`key: ${keyId}`);
    expect(status.stdout).toMatch(/health: ok — OCI Vault key .* usable: key "conclave-kek" ENABLED, AES-256, protection mode HSM; /);
    const test = await runCli(["keys", "test", ...flags], { cwd: dir, env: OCI_ENV });
    expect(test.code).toBe(0);
    expect(test.stdout).toContain(`key test OK: OCI Vault key ${keyId} usable`);
    expect(vault.count("getkey")).toBe(2);
    expect(vault.count("encrypt")).toBeGreaterThan(0);
    expect(vault.count("decrypt")).toBeGreaterThan(0);
    expect(vault.requests.every((r) => r.principal === `${vault.tenancy}/${vault.user}/${vault.fingerprint}`)).toBe(true);
  });

  test("a key OCI refuses: keys test fails with OCI's answer verbatim and exit code 1", async () => {
    const { dir, flags } = setup();
    expect((await runCli(["keys", "test", ...flags], { cwd: dir, env: OCI_ENV })).code).toBe(0);
    vault.deny(keyId);
    const r = await runCli(["keys", "test", ...flags], { cwd: dir, env: OCI_ENV });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("NotAuthorizedOrNotFound (HTTP 404, opc-request-id ");
    expect(r.stdout + r.stderr).toContain("Authorization failed or requested resource not found.");
    expect(r.stderr).not.toContain("Request cannot be retried");
  });

  test("config check names a vault OCID given as key_id and a non-https endpoint", async () => {
    const dir = join(work, "bad-config");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "c.toml"), `[keys]\nprovider = "oci-vault"\n[oci_vault]\nkey_id = "ocid1.vault.oc1.iad.abc.def"\ncrypto_endpoint = "http://kms.example.org"\n`);
    const r = await runCli(["config", "check", "--config", join(dir, "c.toml")], { cwd: dir });
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain("oci_vault.key_id: must be a key OCID");
    expect(out).toContain("oci_vault.crypto_endpoint: must be the vault's https:// Cryptographic Endpoint");
  });
});
