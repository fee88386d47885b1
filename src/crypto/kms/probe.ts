import type { HealthResult, KeyProvider, KeyProviderOptions } from "./types.ts";

/** probeKeyProvider is the "test this key" action for any provider: open, health check, close; never throws. */
export async function probeKeyProvider(factory: (opts: KeyProviderOptions) => Promise<KeyProvider>, opts: KeyProviderOptions): Promise<HealthResult> {
  let provider: KeyProvider;
  try {
    provider = await factory(opts);
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
  try {
    return await provider.health();
  } finally {
    await provider.close?.();
  }
}

/** NETWORK_ERROR_CODES are the socket-level failures every cloud provider classifies as "unreachable". */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
  "REQUEST_SEND_ERROR",
  // Bun's own spellings, in case a code is not mapped to the Node.js one.
  "ConnectionRefused",
  "ConnectionClosed",
  "ConnectionReset",
]);
