import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { createTokenMinter, publicJwkOf } from "./mod.ts";

async function newPrivateJwk(): Promise<JsonWebKey> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return await crypto.subtle.exportKey("jwk", pair.privateKey);
}

Deno.test("token minter", async (t) => {
  await t.step("writes the documented header and claims", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0, 900));
    const minter = createTokenMinter({
      privateKey: await newPrivateJwk(),
      kid: "main",
      issuer: "https://issuer.example",
      audience: "pharos",
      ttlSeconds: 600,
      clock,
    });
    const { token, expiresAt } = await minter.mint({
      subject: "alice",
      origin: "https://app.example",
      limits: { maxConnections: 3, maxMessagesPerMinute: 120 },
    });
    const iat = Date.UTC(2026, 0, 1) / 1000;
    assert.equal(expiresAt, iat + 600);
    const [header, payload] = [decodeProtectedHeader(token), decodeJwt(token)];
    assert.deepEqual(header, { alg: "EdDSA", typ: "JWT", kid: "main" });
    const { jti, ...rest } = payload;
    assert.deepEqual(rest, {
      iss: "https://issuer.example",
      aud: "pharos",
      sub: "alice",
      iat,
      nbf: iat,
      exp: iat + 600,
      origin: "https://app.example",
      limits: { max_connections: 3, max_messages_per_minute: 120 },
    });
    assert.equal(typeof jti, "string");
    const second = decodeJwt((await minter.mint({ subject: "alice" })).token);
    assert.notEqual(second.jti, jti, "jti is unique per token");
    assert.equal("aud" in second && "origin" in second, false);
  });

  await t.step("takes the kid from the JWK when not given", async () => {
    const privateKey = { ...(await newPrivateJwk()), kid: "from-jwk" };
    const minter = createTokenMinter({
      privateKey,
      issuer: "i",
      ttlSeconds: 60,
      clock: new FakeClock(),
    });
    const { token } = await minter.mint({ subject: "s" });
    const [header, payload] = [decodeProtectedHeader(token), decodeJwt(token)];
    assert.equal(header.kid, "from-jwk");
    assert.equal("aud" in payload, false);
  });

  await t.step("refuses bad options and limits", async () => {
    const privateKey = await newPrivateJwk();
    const clock = new FakeClock();
    const { d: _, ...publicOnly } = privateKey;
    assert.throws(
      () => createTokenMinter({ privateKey: publicOnly, issuer: "i", ttlSeconds: 60, clock }),
      /needs both "d" and "x"/,
    );
    assert.throws(
      () => createTokenMinter({ privateKey, issuer: "i", ttlSeconds: 0, clock }),
      RangeError,
    );
    const minter = createTokenMinter({ privateKey, issuer: "i", ttlSeconds: 60, clock });
    await assert.rejects(minter.mint({ subject: "s", limits: { maxConnections: -1 } }), RangeError);
  });

  await t.step("publicJwkOf drops the private part", async () => {
    const privateKey = await newPrivateJwk();
    const jwk = publicJwkOf(privateKey, "k");
    assert.deepEqual(jwk, {
      kty: "OKP",
      crv: "Ed25519",
      x: privateKey.x,
      use: "sig",
      alg: "EdDSA",
      kid: "k",
    });
    assert.equal("kid" in publicJwkOf(privateKey), false);
  });
});
