// oci-vault options and the [oci_vault] config section: what is refused, with which message;
// and the error classification table on SDK-shaped errors.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig } from "../../config/load.ts";
import { defaults } from "../../config/schema.ts";
import { AppError } from "../../shared/errors.ts";
import { classifyOciError, createOciVaultKeyProvider, ociVaultOptionsForKeyRef, ociVaultOptionsFromConfig, parseKeyOcid } from "./oci-vault.ts";
import { deriveManagementEndpoint } from "./oci/ocid.ts";
import type { OciVaultOptions } from "./types.ts";

const KEY = "ocid1.key.oc1.iad.bbpr3cxtaaeug.abuwcljrkwlgtdxnhlbmwfvyzf3xjw6hvyfzwjq7vqdbowgkcrqtbd7xwm7q";
const ENDPOINT = "https://bbpr3cxtaaeug-crypto.kms.us-ashburn-1.oraclecloud.com";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function refusal(o: Partial<OciVaultOptions> | undefined): Promise<string> {
  const err = await createOciVaultKeyProvider({ dataDir: "/x", localKeyFile: "/x/k", oci: o === undefined ? undefined : ({ keyId: KEY, cryptoEndpoint: ENDPOINT, ...o } as OciVaultOptions) }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe("invalid_input");
  return (err as AppError).message;
}

describe("oci-vault options", () => {
  test("valid options open without any network call or file read", async () => {
    const p = await createOciVaultKeyProvider({ dataDir: "/x", localKeyFile: "/x/k", oci: { keyId: KEY, cryptoEndpoint: `${ENDPOINT}/`, configFile: "/nonexistent/oci/config" } });
    expect(p.describe()).toMatchObject({ provider: "oci-vault", keyId: KEY });
    expect(p.describe().note).toContain(ENDPOINT);
    await p.close();
  });

  test("bad options are refused with a message that says what to fix", async () => {
    const cases: [Partial<OciVaultOptions> | undefined, RegExp][] = [
      [undefined, /Missing oci-vault options.*key OCID.*crypto endpoint/],
      [{ keyId: "ocid1.vault.oc1.iad.bbpr3cxtaaeug.abuwcljrkwlgtdxnhl" }, /OCID of a vault, not of a key.*master encryption key's OCID/],
      [{ keyId: KEY.toUpperCase() }, /lower case/],
      [{ keyId: "arn:aws:kms:us-east-1:111122223333:key/x" }, /starts with ocid1\./],
      [{ keyId: "ocid1.key.oc1.iad" }, /expected ocid1\.key\.<realm>/],
      [{ keyId: "" }, /it is empty/],
      [{ cryptoEndpoint: "" }, /cryptoEndpoint is required.*Cryptographic Endpoint/],
      [{ cryptoEndpoint: "http://bbpr3cxtaaeug-crypto.kms.us-ashburn-1.oraclecloud.com" }, /must be https:\/\//],
      [{ cryptoEndpoint: "https://bbpr3cxtaaeug-management.kms.us-ashburn-1.oraclecloud.com" }, /management endpoint/],
      [{ cryptoEndpoint: `${ENDPOINT}/20180608/encrypt` }, /without a path/],
      [{ cryptoEndpoint: "https://user:pw@example.org" }, /credentials/],
      [{ cryptoEndpoint: "not a url" }, /not a URL/],
      [{ managementEndpoint: ENDPOINT }, /managementEndpoint it is the vault's crypto endpoint; GetKey uses the Management Endpoint/],
      [{ managementEndpoint: "http://kms.example.org" }, /managementEndpoint it must be https/],
      [{ auth: "api_key" as never }, /auth must be config_file, instance_principal, resource_principal/],
      [{ configFile: "oci/config" }, /configFile must be an absolute path/],
      [{ profile: "two words" }, /profile must be a profile name/],
      [{ auth: "instance_principal", configFile: "/etc/oci/config" }, /only used with auth "config_file"/],
      [{ timeoutMs: 10 }, /timeoutMs must be an integer from 50 to 120000/],
      [{ maxAttempts: 0 }, /maxAttempts must be an integer from 1 to 10/],
      [{ maxAttempts: 1.5 }, /maxAttempts/],
    ];
    for (const [o, re] of cases) expect(await refusal(o)).toMatch(re);
  });

  test("the management endpoint is derived from an OCI crypto endpoint, or given", () => {
    expect(deriveManagementEndpoint(ENDPOINT)).toBe("https://bbpr3cxtaaeug-management.kms.us-ashburn-1.oraclecloud.com");
    expect(deriveManagementEndpoint("https://kms-proxy.example.org")).toBeNull();
    expect(deriveManagementEndpoint("http://127.0.0.1:8080")).toBeNull();
  });

  test("plain http is accepted on loopback only", async () => {
    for (const ep of ["http://127.0.0.1:8080", "http://localhost:1"]) {
      const p = await createOciVaultKeyProvider({ dataDir: "/x", localKeyFile: "/x/k", oci: { keyId: KEY, cryptoEndpoint: ep } });
      await p.close();
    }
    expect(await refusal({ cryptoEndpoint: "http://10.0.0.5:8080" })).toMatch(/plain http only on 127\.0\.0\.1/);
  });

  test("parseKeyOcid accepts real OCID shapes and nothing else", () => {
    expect(parseKeyOcid(KEY)).toEqual({ ocid: KEY, realm: "oc1", region: "iad" });
    expect(parseKeyOcid("ocid1.key.region1.sea.exampleaaacu2.examplesmtpsuqmoy4m5cvblugmizcoeu2nfc6b3zfaux2lmqz245gezevsq")?.region).toBe("sea");
    expect(parseKeyOcid("ocid1.key.oc2..vault1.unique1")?.region).toBe("");
    for (const bad of ["", "ocid1.key.oc1.iad.x", "ocid1.key.oc1.iad.x.y.z", "ocid1.key.oc1.iad.x.y!", `ocid1.key.oc1.iad.x.${"a".repeat(300)}`]) expect(parseKeyOcid(bad)).toBeNull();
  });
});

describe("[oci_vault] config section", () => {
  const section = (over: Partial<ReturnType<typeof defaults>["oci_vault"]> = {}): ReturnType<typeof defaults>["oci_vault"] => ({ ...defaults().oci_vault, ...over });

  test("maps to provider options; empty key_id = no options; relative config_file from the working directory", () => {
    expect(ociVaultOptionsFromConfig(section())).toBeUndefined();
    expect(ociVaultOptionsFromConfig(section({ key_id: ` ${KEY} `, crypto_endpoint: ENDPOINT, config_file: "oci/config", profile: "CONCLAVE" }))).toEqual({
      keyId: KEY,
      cryptoEndpoint: ENDPOINT,
      auth: "config_file",
      configFile: resolve("oci/config"),
      profile: "CONCLAVE",
      timeoutMs: 3000,
      maxAttempts: 2,
    });
    const ip = ociVaultOptionsFromConfig(section({ key_id: KEY, crypto_endpoint: ENDPOINT, auth: "instance_principal" }));
    expect(ip).toMatchObject({ auth: "instance_principal", configFile: undefined, profile: undefined });
  });

  test("config_file or a profile with a principal auth is refused", () => {
    expect(() => ociVaultOptionsFromConfig(section({ key_id: KEY, auth: "instance_principal", config_file: "/etc/oci/config" }))).toThrow(/config_file: it is only used with auth = "config_file"/);
    expect(() => ociVaultOptionsFromConfig(section({ key_id: KEY, auth: "resource_principal", profile: "OTHER" }))).toThrow(/profile: it is only used/);
    expect(() => ociVaultOptionsFromConfig(section({ key_id: KEY, auth: "api_key" }))).toThrow(/expected config_file, instance_principal, resource_principal/);
  });

  test("ociVaultOptionsForKeyRef: a customer key as OCID (the [oci_vault] endpoint) or OCID + endpoint; credentials from [oci_vault]", () => {
    const other = "https://cccc2222-crypto.kms.eu-frankfurt-1.oraclecloud.com";
    const cfg = section({ crypto_endpoint: ENDPOINT, config_file: "/etc/conclave/oci/config", profile: "CONCLAVE" });
    expect(ociVaultOptionsForKeyRef(cfg, ` ${KEY} `)).toMatchObject({ keyId: KEY, cryptoEndpoint: ENDPOINT, configFile: "/etc/conclave/oci/config", profile: "CONCLAVE" });
    expect(ociVaultOptionsForKeyRef(cfg, `${KEY}   ${other}`)).toMatchObject({ keyId: KEY, cryptoEndpoint: other });
    expect(() => ociVaultOptionsForKeyRef(section(), KEY)).toThrow(/Add the vault's Cryptographic Endpoint after the OCID/);
    expect(() => ociVaultOptionsForKeyRef(cfg, "")).toThrow(/Enter the key's OCID/);
    expect(() => ociVaultOptionsForKeyRef(cfg, `${KEY} ${other} extra`)).toThrow(/Enter the key's OCID/);
    expect(() => ociVaultOptionsForKeyRef(cfg, "ocid1.vault.oc1.iad.x.y")).toThrow(/not of a key/);
    expect(() => ociVaultOptionsForKeyRef(cfg, `${KEY} http://kms.example.org`)).toThrow(/must be https/);
  });

  test("loadConfig: oci-vault needs key_id and crypto_endpoint; bad OCID, endpoint, auth or missing file are problems with the key named", () => {
    const d = mkdtempSync(join(tmpdir(), "conclave-oci-cfg-"));
    dirs.push(d);
    const load = (toml: string): string[] => {
      const f = join(d, "c.toml");
      writeFileSync(f, toml);
      const r = loadConfig({ file: f, env: {}, cwd: d });
      return r.ok ? [] : r.problems.map((p) => `${p.key}: ${p.problem}`);
    };
    expect(load('[keys]\nprovider = "oci-vault"\n')).toEqual([
      "oci_vault.key_id: required when keys.provider is oci-vault",
      "oci_vault.crypto_endpoint: required when keys.provider is oci-vault (the vault's Cryptographic Endpoint)",
    ]);
    expect(load(`[keys]\nprovider = "oci-vault"\n[oci_vault]\nkey_id = "ocid1.vault.oc1.iad.x.y"\ncrypto_endpoint = "${ENDPOINT}"\n`)).toEqual([
      'oci_vault.key_id: must be a key OCID (ocid1.key.<realm>.<region>.<vault>.<id>), got "ocid1.vault.oc1.iad.x.y"',
    ]);
    expect(load(`[oci_vault]\nkey_id = "${KEY}"\ncrypto_endpoint = "http://kms.example.org"\n`)[0]).toMatch(/^oci_vault\.crypto_endpoint: must be the vault's https:\/\//);
    expect(load(`[oci_vault]\nmanagement_endpoint = "https://x.example.org/20180608"\n`)[0]).toMatch(/^oci_vault\.management_endpoint: must be the vault's https:\/\/ Management Endpoint/);
    expect(load(`[oci_vault]\nauth = "password"\n`)[0]).toMatch(/^oci_vault\.auth: must be one of "config_file", "instance_principal", "resource_principal"/);
    expect(load(`[oci_vault]\nkey_id = "${KEY}"\ncrypto_endpoint = "${ENDPOINT}"\nconfig_file = "${join(d, "missing")}"\n`)).toEqual([`oci_vault.config_file: file not found: ${join(d, "missing")}`]);
    expect(load(`[oci_vault]\nprivate_key = "-----BEGIN"\n`)).toEqual(["oci_vault.private_key: unknown key"]);
    writeFileSync(join(d, "oci-config"), "[DEFAULT]\n");
    expect(load(`[keys]\nprovider = "oci-vault"\n[oci_vault]\nkey_id = "${KEY}"\ncrypto_endpoint = "${ENDPOINT}"\nconfig_file = "${join(d, "oci-config")}"\nprofile = "CONCLAVE"\n`)).toEqual([]);
  });
});

describe("classifyOciError", () => {
  const oci = (statusCode: number, serviceCode: string, message: string): object => Object.assign(new Error(message), { statusCode, serviceCode, opcRequestId: "REQ1" });
  test("maps SDK errors to unreachable or denied, with OCI's text verbatim", () => {
    const cases: [unknown, "encrypt" | "decrypt", string, string, string][] = [
      [oci(500, "InternalServerError", "Internal error occurred"), "encrypt", "unreachable", "server_error", "InternalServerError (HTTP 500, opc-request-id REQ1): Internal error occurred"],
      [oci(429, "TooManyRequests", "Too many requests"), "decrypt", "unreachable", "throttled", "TooManyRequests (HTTP 429, opc-request-id REQ1): Too many requests"],
      [oci(401, "NotAuthenticated", "bad signature"), "encrypt", "denied", "credentials", "NotAuthenticated (HTTP 401, opc-request-id REQ1): bad signature"],
      [oci(403, "NotAuthorized", "no"), "encrypt", "denied", "access_denied", "NotAuthorized (HTTP 403, opc-request-id REQ1): no"],
      [oci(404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found."), "decrypt", "denied", "not_found", "NotAuthorizedOrNotFound (HTTP 404, opc-request-id REQ1): Authorization failed or requested resource not found."],
      [oci(400, "RelatedResourceNotAuthorizedOrNotFound", "key"), "encrypt", "denied", "not_found", "RelatedResourceNotAuthorizedOrNotFound (HTTP 400, opc-request-id REQ1): key"],
      [oci(409, "IncorrectState", "Key is in DISABLED state"), "encrypt", "denied", "disabled", "IncorrectState (HTTP 409, opc-request-id REQ1): Key is in DISABLED state"],
      [oci(409, "Conflict", "The key is pending deletion"), "decrypt", "denied", "pending_deletion", "Conflict (HTTP 409, opc-request-id REQ1): The key is pending deletion"],
      [oci(409, "IncorrectState", "Key is ENABLING"), "encrypt", "unreachable", "key_unavailable", "IncorrectState (HTTP 409, opc-request-id REQ1): Key is ENABLING"],
      [oci(409, "Conflict", "something else"), "encrypt", "denied", "invalid_state", "Conflict (HTTP 409, opc-request-id REQ1): something else"],
      [oci(400, "InvalidParameter", "bad ciphertext"), "decrypt", "denied", "invalid_ciphertext", "InvalidParameter (HTTP 400, opc-request-id REQ1): bad ciphertext"],
      [oci(400, "InvalidParameter", "plaintext too long"), "encrypt", "denied", "refused", "InvalidParameter (HTTP 400, opc-request-id REQ1): plaintext too long"],
      [{ code: "ETIMEDOUT", message: "No answer" }, "encrypt", "unreachable", "timeout", "ETIMEDOUT: No answer"],
      [{ code: "ConnectionRefused", message: "Unable to connect" }, "encrypt", "unreachable", "connection", "ConnectionRefused: Unable to connect"],
      [Object.assign(new Error("The operation timed out."), { name: "TimeoutError" }), "decrypt", "unreachable", "timeout", "TimeoutError: The operation timed out."],
      [{ code: "OCI_CREDENTIALS", message: "Cannot load OCI credentials" }, "encrypt", "denied", "credentials", "OCI_CREDENTIALS: Cannot load OCI credentials"],
      ["weird", "encrypt", "unreachable", "connection", "Error: weird"],
    ];
    for (const [err, op, kind, reason, text] of cases) expect(classifyOciError(err, op)).toEqual({ kind, reason, providerMessage: text } as never);
  });
});
