/**
 * Join tokens: short-lived, single-use JWTs (HS256, via jose) that carry a JoinGrant from the
 * join page to the signalling WebSocket. The key is random per process and never leaves
 * memory; only HS256 is accepted, the header must name our key id and nothing else that
 * points at keys (jku, x5u, jwk, x5c), and each token id (jti) is accepted once.
 */
import { jwtVerify, SignJWT, decodeProtectedHeader } from "jose";
import type { Clock } from "../shared/clock.ts";
import { randomToken } from "../shared/ids.ts";
import type { JoinGrant } from "./live-types.ts";

/** JOIN_TOKEN_ISSUER and JOIN_TOKEN_AUDIENCE pin what a join token is. */
export const JOIN_TOKEN_ISSUER = "conclave";
export const JOIN_TOKEN_AUDIENCE = "conclave:meeting-join";
/** JOIN_TOKEN_TTL_S: a token must be used within two minutes. */
export const JOIN_TOKEN_TTL_S = 120;

/** JoinTokens signs and verifies join tokens. */
export interface JoinTokens {
  issue(grant: JoinGrant): Promise<string>;
  /** verify returns the grant, or null for any invalid, expired, foreign or reused token. */
  verify(token: string): Promise<JoinGrant | null>;
  /** keyId is the `kid` our tokens carry (tests craft tokens around it). */
  readonly keyId: string;
}

const FORBIDDEN_HEADERS = ["jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit", "b64"];

/** createJoinTokens builds the signer with a fresh random key (or the given one, for tests). */
export function createJoinTokens(clock: Clock, key: Uint8Array = crypto.getRandomValues(new Uint8Array(32))): JoinTokens {
  const keyId = randomToken(8);
  const used = new Map<string, number>();
  const forgetOld = (now: number) => {
    for (const [jti, exp] of used) if (exp * 1000 < now) used.delete(jti);
  };
  return {
    keyId,
    async issue(g) {
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT({
        mid: g.meetingId, acc: g.accountId, name: g.displayName, uid: g.userId, int: g.internal, host: g.host,
        ip: g.ip, dev: g.device, idn: g.identity ?? null, dom: g.domain ?? null,
      })
        .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: keyId })
        .setIssuer(JOIN_TOKEN_ISSUER)
        .setAudience(JOIN_TOKEN_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + JOIN_TOKEN_TTL_S)
        .setJti(randomToken(16))
        .sign(key);
    },
    async verify(token) {
      if (typeof token !== "string" || token.length > 4096) return null;
      try {
        const header = decodeProtectedHeader(token);
        if (header.alg !== "HS256" || header.kid !== keyId || FORBIDDEN_HEADERS.some((h) => h in header)) return null;
        const { payload: p } = await jwtVerify(token, key, {
          algorithms: ["HS256"],
          issuer: JOIN_TOKEN_ISSUER,
          audience: JOIN_TOKEN_AUDIENCE,
          requiredClaims: ["exp", "iat", "jti"],
          currentDate: new Date(clock.now()),
          maxTokenAge: JOIN_TOKEN_TTL_S,
        });
        const now = clock.now();
        forgetOld(now);
        if (typeof p.jti !== "string" || used.has(p.jti)) return null;
        if (typeof p.mid !== "string" || typeof p.acc !== "string" || typeof p.name !== "string") return null;
        used.set(p.jti, p.exp!);
        return {
          meetingId: p.mid, accountId: p.acc, displayName: p.name,
          userId: typeof p.uid === "string" ? p.uid : null,
          internal: p.int === true, host: p.host === true,
          ip: typeof p.ip === "string" ? p.ip : "", device: typeof p.dev === "string" ? p.dev : "",
          identity: typeof p.idn === "string" ? p.idn : undefined,
          domain: typeof p.dom === "string" ? p.dom : null,
        };
      } catch {
        return null;
      }
    },
  };
}
