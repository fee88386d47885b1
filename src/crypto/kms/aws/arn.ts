/** AWS KMS key and alias ARNs: parsing and the checks the aws-kms provider relies on. */

/** KmsArn is a parsed KMS ARN. */
export interface KmsArn {
  arn: string;
  partition: string;
  region: string;
  account: string;
  /** "key" for key ARNs, "alias" for alias ARNs. */
  type: "key" | "alias";
  /** The key id (UUID or mrk-…) for key ARNs; the alias name without "alias/" for alias ARNs. */
  resource: string;
}

const ARN_RE = /^arn:(aws(?:-[a-z]+)*):kms:([a-z]{2,}(?:-[a-z0-9]+)+):(\d{12}):(key|alias)\/([A-Za-z0-9/_-]{1,256})$/;
const KEY_ID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/** parseKmsArn parses a KMS key or alias ARN; null when `s` is not one. */
export function parseKmsArn(s: string): KmsArn | null {
  const m = ARN_RE.exec(s);
  if (!m) return null;
  const [, partition, region, account, type, resource] = m as unknown as [string, string, string, string, "key" | "alias", string];
  if (type === "key" && !KEY_ID_RE.test(resource)) return null;
  return { arn: s, partition, region, account, type, resource };
}

/** isMultiRegionKeyId tells whether a key id names a multi-region key (mrk-…). */
export function isMultiRegionKeyId(keyId: string): boolean {
  return keyId.startsWith("mrk-");
}
