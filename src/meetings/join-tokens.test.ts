import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { SignJWT, importPKCS8 } from "jose";
import { fixedClock } from "../shared/clock.ts";
import { createJoinTokens, JOIN_TOKEN_AUDIENCE, JOIN_TOKEN_ISSUER } from "./join-tokens.ts";
import type { JoinGrant } from "./live-types.ts";

const key = crypto.getRandomValues(new Uint8Array(32));
const grant: JoinGrant = { meetingId: "m1", accountId: "a1", displayName: "Gus", userId: null, internal: false, host: false, ip: "192.0.2.1", device: "UA", identity: "guest:x", domain: null };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

function setup() {
  const clock = fixedClock(Date.UTC(2026, 0, 1, 12));
  const tokens = createJoinTokens(clock, key);
  const now = Math.floor(clock.now() / 1000);
  const claims = { mid: "m1", acc: "a1", name: "Mallory", uid: "u-victim", int: true, host: true, ip: "", dev: "" };
  /** forge signs arbitrary header/claims with the real key (what a key leak or a bug would allow). */
  const forge = (header: Record<string, unknown>, over: Record<string, unknown> = {}) =>
    new SignJWT({ ...claims, ...over })
      .setProtectedHeader({ alg: "HS256", kid: tokens.keyId, ...header } as { alg: string })
      .setIssuer(JOIN_TOKEN_ISSUER).setAudience(JOIN_TOKEN_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60).setJti(crypto.randomUUID())
      .sign(key);
  return { clock, tokens, now, claims, forge };
}

describe("join tokens", () => {
  test("a token carries the grant and is accepted exactly once", async () => {
    const { tokens } = setup();
    const t = await tokens.issue(grant);
    expect(await tokens.verify(t)).toEqual(grant);
    expect(await tokens.verify(t)).toBeNull();
  });

  test("the control: a correctly forged token (real key, right header) would pass, so the refusals below are meaningful", async () => {
    const { tokens, forge } = setup();
    expect(await tokens.verify(await forge({}))).toMatchObject({ displayName: "Mallory" });
  });

  test("alg none is refused", async () => {
    const { tokens, now, claims } = setup();
    const body = b64({ ...claims, iss: JOIN_TOKEN_ISSUER, aud: JOIN_TOKEN_AUDIENCE, iat: now, exp: now + 60, jti: "j1" });
    expect(await tokens.verify(`${b64({ alg: "none", typ: "JWT", kid: tokens.keyId })}.${body}.`)).toBeNull();
    expect(await tokens.verify(`${b64({ alg: "none" })}.${body}.`)).toBeNull();
  });

  test("HS/RS confusion: RS256 tokens and HS256 signed with a public key are refused", async () => {
    const { tokens, now, claims } = setup();
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pk = await importPKCS8(privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "RS256");
    const rs = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: tokens.keyId }).setIssuer(JOIN_TOKEN_ISSUER).setAudience(JOIN_TOKEN_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60).setJti("j2").sign(pk);
    expect(await tokens.verify(rs)).toBeNull();
    const pem = new TextEncoder().encode(publicKey.export({ type: "spki", format: "pem" }).toString());
    const hsPub = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: tokens.keyId }).setIssuer(JOIN_TOKEN_ISSUER).setAudience(JOIN_TOKEN_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60).setJti("j3").sign(pem);
    expect(await tokens.verify(hsPub)).toBeNull();
  });

  test("a stripped or altered signature, and a tampered payload, are refused", async () => {
    const { tokens } = setup();
    const t = await tokens.issue(grant);
    const [h, p, s] = t.split(".");
    expect(await tokens.verify(`${h}.${p}.`)).toBeNull();
    expect(await tokens.verify(`${h}.${p}`)).toBeNull();
    expect(await tokens.verify(`${h}.${p}.${s!.slice(0, -2)}AA`)).toBeNull();
    const evil = b64({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), host: true });
    expect(await tokens.verify(`${h}.${evil}.${s}`)).toBeNull();
    expect(await tokens.verify(t)).not.toBeNull();
  });

  test("wrong audience or issuer is refused", async () => {
    const { tokens, now, claims } = setup();
    const sign = (iss: string, aud: string) => new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: tokens.keyId }).setIssuer(iss).setAudience(aud).setIssuedAt(now).setExpirationTime(now + 60).setJti(crypto.randomUUID()).sign(key);
    expect(await tokens.verify(await sign(JOIN_TOKEN_ISSUER, "something-else"))).toBeNull();
    expect(await tokens.verify(await sign("evil", JOIN_TOKEN_AUDIENCE))).toBeNull();
  });

  test("an expired token is refused (TTL two minutes)", async () => {
    const { tokens, clock } = setup();
    const t = await tokens.issue(grant);
    clock.advance(121_000);
    expect(await tokens.verify(t)).toBeNull();
  });

  test("a token without jti or exp is refused", async () => {
    const { tokens, now, claims } = setup();
    const noJti = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: tokens.keyId }).setIssuer(JOIN_TOKEN_ISSUER).setAudience(JOIN_TOKEN_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 60).sign(key);
    const noExp = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: tokens.keyId }).setIssuer(JOIN_TOKEN_ISSUER).setAudience(JOIN_TOKEN_AUDIENCE).setIssuedAt(now).setJti("j").sign(key);
    expect(await tokens.verify(noJti)).toBeNull();
    expect(await tokens.verify(noExp)).toBeNull();
  });

  test("a foreign kid, or jku / x5u / jwk headers pointing at other keys, are refused", async () => {
    const { tokens, forge } = setup();
    expect(await tokens.verify(await forge({ kid: "attacker-key" }))).toBeNull();
    expect(await tokens.verify(await forge({ kid: undefined }))).toBeNull();
    expect(await tokens.verify(await forge({ jku: "https://evil.example/jwks.json" }))).toBeNull();
    expect(await tokens.verify(await forge({ x5u: "https://evil.example/cert.pem" }))).toBeNull();
    expect(await tokens.verify(await forge({ jwk: { kty: "oct", k: "AAAA" } }))).toBeNull();
  });

  test("another server's key (another process) does not verify", async () => {
    const { clock } = setup();
    const a = createJoinTokens(clock);
    const b = createJoinTokens(clock);
    expect(await b.verify(await a.issue(grant))).toBeNull();
  });

  test("garbage and oversized input is refused without throwing", async () => {
    const { tokens } = setup();
    for (const t of ["", "a.b.c", "x".repeat(5000), "....", `${b64({ alg: "HS256" })}.!!!.###`]) expect(await tokens.verify(t)).toBeNull();
    expect(await tokens.verify(42 as unknown as string)).toBeNull();
  });
});
