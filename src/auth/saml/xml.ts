/**
 * XML handling for SAML: hostile documents are refused before any parser sees them (DOCTYPE →
 * XXE and entity expansion), parsing is strict, and signature algorithms are checked against
 * an allow-list so SHA-1 and HMAC signatures never reach verification.
 */
import { DOMParser } from "@xmldom/xmldom";

/** NS holds the SAML 2.0 and XML-DSig namespace URIs. */
export const NS = {
  protocol: "urn:oasis:names:tc:SAML:2.0:protocol",
  assertion: "urn:oasis:names:tc:SAML:2.0:assertion",
  metadata: "urn:oasis:names:tc:SAML:2.0:metadata",
  dsig: "http://www.w3.org/2000/09/xmldsig#",
} as const;

/** SIGNATURE_METHODS are the accepted ds:SignatureMethod algorithms (RSA with SHA-2). */
export const SIGNATURE_METHODS: ReadonlySet<string> = new Set([
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
]);

/** DIGEST_METHODS are the accepted ds:DigestMethod algorithms. */
export const DIGEST_METHODS: ReadonlySet<string> = new Set(["http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmlenc#sha512"]);

/** hasDoctype tells whether a document declares a DTD or entities anywhere (refused: XXE, billion laughs). */
export function hasDoctype(xml: string): boolean {
  return /<!\s*(DOCTYPE|ENTITY)/i.test(xml);
}

/** parseXml parses a document strictly (xmldom's warnings, such as an unclosed tag, count as errors); returns null on any problem or when it has a DOCTYPE. */
export function parseXml(xml: string): Document | null {
  if (hasDoctype(xml)) return null;
  let failed = false;
  const parser = new DOMParser({
    locator: {},
    errorHandler: {
      warning: () => void (failed = true),
      error: () => void (failed = true),
      fatalError: () => void (failed = true),
    },
  });
  try {
    const doc = parser.parseFromString(xml, "text/xml") as unknown as Document;
    if (failed || !doc?.documentElement) return null;
    return doc;
  } catch {
    return null;
  }
}

/** children returns the direct child elements of `el` with a namespace and local name. */
export function children(el: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === localName) out.push(n as Element);
  }
  return out;
}

/** child returns the only direct child element with that name, or null when there is none or several. */
export function child(el: Element, ns: string, localName: string): Element | null {
  const c = children(el, ns, localName);
  return c.length === 1 ? c[0]! : null;
}

/** descendants returns every element below `root` (inclusive) with that namespace and local name. */
export function descendants(root: Document | Element, ns: string, localName: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, localName) as unknown as ArrayLike<Element>);
}

/** textOf returns an element's text content (comments do not split it), trimmed. */
export function textOf(el: Element | null): string {
  return (el?.textContent ?? "").trim();
}

/** algorithmProblem names the first signature or digest algorithm outside the allow-lists, or returns null. */
export function algorithmProblem(doc: Document): string | null {
  for (const m of descendants(doc, NS.dsig, "SignatureMethod")) {
    const alg = m.getAttribute("Algorithm") ?? "";
    if (!SIGNATURE_METHODS.has(alg)) return alg || "(no signature algorithm)";
  }
  for (const m of descendants(doc, NS.dsig, "DigestMethod")) {
    const alg = m.getAttribute("Algorithm") ?? "";
    if (!DIGEST_METHODS.has(alg)) return alg || "(no digest algorithm)";
  }
  return null;
}
