/**
 * GetKey through the vault's management endpoint (oci-keymanagement KmsManagementClient): the
 * key's lifecycle state, algorithm and protection mode, for health() and describe(). It is
 * diagnostics only — encrypt and decrypt never depend on it, and a principal allowed only
 * KEY_ENCRYPT / KEY_DECRYPT simply gets no details.
 */
import type { RequestSigner } from "oci-common";
import type { KmsManagementClient } from "oci-keymanagement";
import type { KeyUnavailableKind, KeyUnavailableReason } from "../types.ts";
import { retryConfiguration, SigningHttpClient, type OciSdk } from "./client.ts";

/** OciKeyInfo is what GetKey says about the key. */
export interface OciKeyInfo {
  name: string;
  /** ENABLED, DISABLED, PENDING_DELETION, … */
  state: string;
  /** AES, RSA, ECDSA */
  algorithm: string;
  /** Key length in bytes (AES: 16, 24 or 32). */
  length: number;
  /** HSM, SOFTWARE or EXTERNAL. */
  protectionMode: string;
}

/** createManagementClient builds a KmsManagementClient for GetKey: SDK signing, the time limit, one attempt. */
export function createManagementClient(s: OciSdk, endpoint: string, signer: () => Promise<RequestSigner>, timeoutMs: number): KmsManagementClient {
  const client = new s.km.KmsManagementClient(
    { httpClient: new SigningHttpClient(signer, timeoutMs) },
    { retryConfiguration: retryConfiguration(s, 1), circuitBreaker: new s.common.CircuitBreaker({ disableClientCircuitBreaker: true }) },
  );
  client.endpoint = endpoint;
  return client;
}

/** keyInfoOf reads the fields Conclave uses from a GetKey answer. */
export function keyInfoOf(key: { displayName?: unknown; lifecycleState?: unknown; keyShape?: { algorithm?: unknown; length?: unknown }; protectionMode?: unknown }): OciKeyInfo {
  const str = (v: unknown): string => (typeof v === "string" ? v : "unknown");
  return {
    name: str(key.displayName),
    state: str(key.lifecycleState),
    algorithm: str(key.keyShape?.algorithm),
    length: typeof key.keyShape?.length === "number" ? key.keyShape.length : 0,
    protectionMode: str(key.protectionMode),
  };
}

const TRANSIENT = new Set(["CREATING", "ENABLING", "UPDATING", "RESTORING", "BACKUP_IN_PROGRESS", "CANCELLING_DELETION"]);
const DELETION = new Set(["PENDING_DELETION", "SCHEDULING_DELETION", "DELETING"]);

/** stateVerdict says how a lifecycle state other than ENABLED makes the key unusable; null when it is usable. */
export function stateVerdict(state: string): { kind: KeyUnavailableKind; reason: KeyUnavailableReason } | null {
  if (state === "ENABLED") return null;
  if (TRANSIENT.has(state)) return { kind: "unreachable", reason: "key_unavailable" };
  if (state === "DISABLED" || state === "DISABLING") return { kind: "denied", reason: "disabled" };
  if (DELETION.has(state)) return { kind: "denied", reason: "pending_deletion" };
  if (state === "DELETED") return { kind: "denied", reason: "not_found" };
  return { kind: "denied", reason: "invalid_state" };
}
