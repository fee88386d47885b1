// A small SAML identity provider for end-to-end tests, on loopback (Bun.serve, 127.0.0.1,
// random port). GET /sso receives the SP's Redirect-binding AuthnRequest, checks its RSA-SHA256
// signature against the SP certificate from the SP metadata, and answers with a page whose form
// POSTs a signed Response (InResponseTo = the request id) to the ACS; a same-origin script file
// submits it, so the page needs no inline script.

import { inflateRawSync } from "node:zlib";
import { createVerify } from "node:crypto";
import type { Server } from "bun";
import { createTestIdp, esc, idpMetadataXml, signedResponse, toPemFromBase64, type TestIdp } from "./saml-fixtures.ts";

/** IdpUser is who is "signed in" at the IdP when a request arrives. */
export interface IdpUser {
  nameId: string;
  attributes?: Record<string, string | string[]>;
}

/** SpRegistration is what an IdP admin enters for Conclave (from its SP metadata). */
export interface SpRegistration {
  entityId: string;
  acsUrl: string;
  certPem: string;
}

/** ReceivedRequest is one AuthnRequest the IdP saw. */
export interface ReceivedRequest {
  id: string;
  issuer: string;
  acsUrl: string;
  relayState: string | null;
  signatureValid: boolean;
}

/** TestSsoIdp is the running IdP. */
export interface TestSsoIdp {
  idp: TestIdp;
  origin: string;
  ssoUrl: string;
  metadataXml(): string;
  /** register trusts an SP (fetched from its metadata XML). */
  registerSpMetadata(xml: string): SpRegistration;
  /** The user the next request signs in. */
  user: IdpUser | null;
  requests: ReceivedRequest[];
  /** Every SAMLResponse sent (base64), in order. */
  responses: string[];
  stop(): void;
}

function attr(xml: string, name: string): string | null {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(xml)?.[1] ?? null;
}

function page(body: string): Response {
  return new Response(`<!doctype html><html><head><meta charset="utf-8"><title>Test IdP</title></head><body>${body}</body></html>`, {
    headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": "default-src 'self'; form-action *" },
  });
}

/** startTestSsoIdp starts the IdP on 127.0.0.1 with a fresh RSA key. */
export function startTestSsoIdp(): TestSsoIdp {
  const idp0 = createTestIdp("placeholder");
  let sp: SpRegistration | null = null;
  const state: TestSsoIdp = {
    idp: idp0,
    origin: "",
    ssoUrl: "",
    user: null,
    requests: [],
    responses: [],
    metadataXml: () => idpMetadataXml(state.idp, state.ssoUrl),
    registerSpMetadata(xml) {
      const entityId = attr(xml, "entityID");
      const acsUrl = /<(?:md:)?AssertionConsumerService[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"[^>]*Location="([^"]+)"/.exec(xml)?.[1];
      const cert = /<(?:ds:)?X509Certificate>([^<]+)<\/(?:ds:)?X509Certificate>/.exec(xml)?.[1];
      if (!entityId || !acsUrl || !cert) throw new Error(`SP metadata lacks entityID, ACS or certificate:\n${xml}`);
      sp = { entityId, acsUrl, certPem: toPemFromBase64(cert) };
      return sp;
    },
    stop: () => server.stop(true),
  };
  const server: Server<undefined> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/metadata") return new Response(state.metadataXml(), { headers: { "content-type": "application/samlmetadata+xml" } });
      if (url.pathname === "/autopost.js") return new Response("document.forms[0].submit();", { headers: { "content-type": "text/javascript" } });
      if (url.pathname !== "/sso") return new Response("not found", { status: 404 });
      if (!sp) return page("<p>No service provider registered.</p>");
      const encoded = url.searchParams.get("SAMLRequest");
      if (!encoded) return page("<p>No SAMLRequest.</p>");
      const requestXml = inflateRawSync(Buffer.from(encoded, "base64")).toString("utf8");
      // The Redirect binding signs the raw query: SAMLRequest=…&RelayState=…&SigAlg=… (in that order).
      const raw = url.search.slice(1).split("&");
      const part = (k: string) => raw.find((p) => p.startsWith(`${k}=`));
      const signed = ["SAMLRequest", "RelayState", "SigAlg"].map(part).filter(Boolean).join("&");
      const signatureValid =
        url.searchParams.get("SigAlg") === "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" &&
        createVerify("RSA-SHA256").update(signed).verify(sp.certPem, url.searchParams.get("Signature") ?? "", "base64");
      const r: ReceivedRequest = {
        id: attr(requestXml, "ID") ?? "",
        issuer: /<saml:Issuer[^>]*>([^<]+)<\/saml:Issuer>/.exec(requestXml)?.[1] ?? "",
        acsUrl: attr(requestXml, "AssertionConsumerServiceURL") ?? "",
        relayState: url.searchParams.get("RelayState"),
        signatureValid,
      };
      state.requests.push(r);
      if (!signatureValid || r.issuer !== sp.entityId || r.acsUrl !== sp.acsUrl) return page("<p>Refused: the AuthnRequest is not signed by the registered SP.</p>");
      if (!state.user) return page("<p>Nobody is signed in at the IdP.</p>");
      const { xml } = signedResponse(state.idp, { spEntityId: sp.entityId, acsUrl: sp.acsUrl, inResponseTo: r.id, nameId: state.user.nameId, attributes: state.user.attributes });
      const encodedResponse = Buffer.from(xml).toString("base64");
      state.responses.push(encodedResponse);
      const relay = r.relayState === null ? "" : `<input type="hidden" name="RelayState" value="${esc(r.relayState)}">`;
      return page(
        `<form method="post" action="${esc(sp.acsUrl)}"><input type="hidden" name="SAMLResponse" value="${encodedResponse}">${relay}<button type="submit">Continue</button></form><script src="/autopost.js"></script>`,
      );
    },
  });
  state.origin = `http://127.0.0.1:${server.port}`;
  state.ssoUrl = `${state.origin}/sso`;
  state.idp = { ...idp0, entityId: `${state.origin}/metadata` };
  return state;
}
