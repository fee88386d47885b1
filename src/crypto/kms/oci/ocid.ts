/**
 * OCI Vault key OCIDs and crypto endpoints: parsing and the checks the oci-vault provider
 * relies on. A key OCID is ocid1.key.<realm>.<region>.<vault part>.<unique id>, e.g.
 * ocid1.key.oc1.iad.bbpr3cxtaaeug.abuwcljrkwlgtdxnhl…; the crypto (data plane) endpoint is the
 * vault's "Cryptographic Endpoint", e.g. https://bbpr3cxtaaeug-crypto.kms.us-ashburn-1.oraclecloud.com.
 */

/** KeyOcid is a parsed key OCID. */
export interface KeyOcid {
  /** The OCID as given (trimmed). */
  ocid: string;
  /** The realm, e.g. "oc1" (commercial), "oc2" (government), … */
  realm: string;
  /** The region part (a short code such as "iad", or a region name); may be empty. */
  region: string;
}

// ocid1.key.<realm>.<region>.<vault>.<unique>; OCI writes these in lower case letters and digits.
const KEY_OCID_RE = /^ocid1\.key\.([a-z0-9]+)\.([a-z0-9-]*)\.([a-z0-9]+)\.([a-z0-9]+)$/;
const MAX_OCID = 255;

/** parseKeyOcid parses a key OCID; null when `s` is not one. */
export function parseKeyOcid(s: string): KeyOcid | null {
  if (typeof s !== "string") return null;
  const ocid = s.trim();
  if (ocid.length > MAX_OCID) return null;
  const m = KEY_OCID_RE.exec(ocid);
  if (m === null) return null;
  return { ocid, realm: m[1]!, region: m[2]! };
}

/** describeOcidProblem says what is wrong with a string that is not a key OCID, for error messages. */
export function describeOcidProblem(s: string): string {
  const t = s.trim();
  if (t === "") return "it is empty";
  if (t !== t.toLowerCase() && t.toLowerCase().startsWith("ocid1.")) return "OCIDs are lower case";
  if (!t.startsWith("ocid1.")) return "an OCID starts with ocid1.";
  const kind = t.split(".")[1] ?? "";
  if (kind !== "key") return `it is the OCID of a ${kind === "" ? "?" : kind}, not of a key (ocid1.key.…); use the master encryption key's OCID, not the vault's`;
  if (t.length > MAX_OCID) return `it is longer than ${MAX_OCID} characters`;
  return "expected ocid1.key.<realm>.<region>.<vault>.<unique id> (letters and digits)";
}

/**
 * checkCryptoEndpoint validates the vault's crypto endpoint URL: https://, or plain http:// only
 * on 127.0.0.1/localhost (where DEKs do not cross a network); no credentials, query or fragment.
 * Returns the normalised URL (no trailing slash) or a problem in words.
 */
export function checkCryptoEndpoint(url: string, kind: "crypto" | "management" = "crypto"): { ok: true; url: string } | { ok: false; problem: string } {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return { ok: false, problem: `it is not a URL: ${JSON.stringify(url)}` };
  }
  const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
    return { ok: false, problem: `it must be https:// (plain http only on 127.0.0.1/localhost, where DEKs do not cross a network), got ${url}` };
  }
  if (u.username !== "" || u.password !== "") return { ok: false, problem: "it must not contain credentials" };
  if (u.search !== "" || u.hash !== "") return { ok: false, problem: "it must not have a query or fragment" };
  if (u.pathname !== "/" && u.pathname !== "") return { ok: false, problem: `it is the vault's endpoint without a path (the SDK adds /20180608/…), got path ${u.pathname}` };
  if (kind === "crypto" && /-management\.kms\./i.test(u.hostname)) {
    return { ok: false, problem: "it is the vault's management endpoint; encrypt and decrypt use the Cryptographic Endpoint (https://<vault>-crypto.kms.<region>.oraclecloud.com)" };
  }
  if (kind === "management" && /-crypto\.kms\./i.test(u.hostname)) {
    return { ok: false, problem: "it is the vault's crypto endpoint; GetKey uses the Management Endpoint (https://<vault>-management.kms.<region>.oraclecloud.com)" };
  }
  return { ok: true, url: `${u.protocol}//${u.host}` };
}

/** deriveManagementEndpoint turns https://<vault>-crypto.kms.<region>.… into the vault's https://<vault>-management.kms.<region>.…; null for other hosts. */
export function deriveManagementEndpoint(cryptoUrl: string): string | null {
  const u = new URL(cryptoUrl);
  const m = /^([a-z0-9]+)-crypto\.(kms\..+)$/i.exec(u.hostname);
  if (u.protocol !== "https:" || m === null) return null;
  return `https://${m[1]}-management.${m[2]}${u.port !== "" ? `:${u.port}` : ""}`;
}
