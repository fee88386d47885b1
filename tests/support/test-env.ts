// Environment isolation for tests of SDKs that read process.env (credential chains, proxies).

import { afterAll, beforeAll } from "bun:test";

/**
 * isolateEnv clears the named variables before the file's tests (then sets `set`) and restores
 * every one of them afterwards. Call it at the top level of a test file.
 */
export function isolateEnv(names: readonly string[], set: Record<string, string> = {}): void {
  const saved = new Map<string, string | undefined>();
  beforeAll(() => {
    for (const k of [...names, ...Object.keys(set)]) {
      if (!saved.has(k)) saved.set(k, process.env[k]);
      delete process.env[k];
    }
    Object.assign(process.env, set);
  });
  afterAll(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/** AWS_SDK_ENV lists what the AWS SDK's credential chain and config read. */
export const AWS_SDK_ENV = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_EC2_METADATA_DISABLED", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"];

/** isolateAwsForFakeKms gives the AWS SDK static test credentials only: no shared files, no instance metadata. */
export function isolateAwsForFakeKms(accessKeyId: string): void {
  isolateEnv(AWS_SDK_ENV, {
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/conclave-test/aws-credentials",
    AWS_CONFIG_FILE: "/nonexistent/conclave-test/aws-config",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: "not-checked",
  });
}

/** AZURE_SDK_ENV lists what @azure/identity's chain and the SDK's proxy policy read. */
export const AZURE_SDK_ENV = [
  "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE",
  "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_TOKEN_CREDENTIALS", "AZURE_AUTHORITY_HOST",
  "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY",
];
