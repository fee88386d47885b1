/** canonicalContext encodes a wrap context as JSON with keys sorted by code unit, the AAD every provider binds. */
export function canonicalContext(context: Record<string, string>): Uint8Array {
  const keys = Object.keys(context).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = context[k];
    if (typeof v !== "string") throw new TypeError(`wrap context value for "${k}" must be a string`);
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  }
  return new TextEncoder().encode(`{${parts.join(",")}}`);
}
