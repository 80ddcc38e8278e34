import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { base64url } from "jose";
import {
  AuthError,
  type AuthErrorCode,
  createJwtVerifier,
  createTokenMinter,
  type KeyLookup,
  keyLookupOf,
  publicJwkOf,
} from "./mod.ts";

const encoder = new TextEncoder();
const ISSUER = "https://issuer.example";
const AUDIENCE = "pharos";

async function newKey(
  kid?: string,
): Promise<{ privateJwk: JsonWebKey; keys: KeyLookup; sign: CryptoKey }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const keys = keyLookupOf({ keys: [publicJwkOf(privateJwk, kid)] });
  return { privateJwk, keys, sign: pair.privateKey };
}

function encodeJson(value: unknown): string {
  return base64url.encode(encoder.encode(JSON.stringify(value)));
}

/** Signs any header and payload, so tests can craft tokens the minter never would. */
async function signRaw(key: CryptoKey, header: object, payload: object): Promise<string> {
  const input = `${encodeJson(header)}.${encodeJson(payload)}`;
  const signature = await crypto.subtle.sign("Ed25519", key, encoder.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

async function rejects(
  promise: Promise<unknown>,
  code: AuthErrorCode,
  token?: string,
): Promise<AuthError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}, but the token was accepted`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AuthError, `expected AuthError, got ${error}`);
  assert.equal(error.code, code, error.message);
  if (token !== undefined) assert.ok(!error.message.includes(token), "message leaks the token");
  return error;
}

async function setup(options: { leewaySeconds?: number } = {}) {
  const clock = new FakeClock();
  const key = await newKey("k1");
  const verifier = createJwtVerifier({
    keys: key.keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    clock,
    ...options,
  });
  const minter = createTokenMinter({
    privateKey: key.privateJwk,
    kid: "k1",
    issuer: ISSUER,
    audience: AUDIENCE,
    ttlSeconds: 300,
    clock,
  });
  const nowSeconds = () => Math.floor(clock.now() / 1000);
  const claims = () => ({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "alice",
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
  });
  return { clock, key, verifier, minter, nowSeconds, claims };
}

Deno.test("jwt verifier", async (t) => {
  await t.step("round trip: a minted token verifies into its identity", async () => {
    const { verifier, minter, nowSeconds } = await setup();
    const { token, expiresAt } = await minter.mint({
      subject: "alice",
      origin: "https://app.example",
      limits: { maxSubscriptions: 5, maxBytesPerMinute: 1_000_000 },
    });
    assert.equal(expiresAt, nowSeconds() + 300);
    const { tokenId, claims, ...identity } = await verifier.verify(token, "https://app.example");
    assert.match(tokenId ?? "", /^[\w-]{22}$/, "the minted jti");
    assert.deepEqual(identity, {
      subject: "alice",
      expiresAt,
      limits: { maxSubscriptions: 5, maxBytesPerMinute: 1_000_000 },
      origin: "https://app.example",
    });
    // Every claim is kept for the row rules, and no views claim means the default grant.
    assert.equal(claims.sub, "alice");
    assert.equal(claims.exp, expiresAt);
  });

  await t.step("a views claim becomes the identity's grant; a bad one is refused", async () => {
    const { verifier, claims, key } = await setup();
    const header = { alg: "EdDSA", kid: "k1" };
    const grant = async (views: unknown) =>
      (await verifier.verify(await signRaw(key.sign, header, { ...claims(), views }), undefined))
        .views;
    const narrow = await grant(["Token/list", "Order/*"]);
    assert.deepEqual(narrow?.patterns, ["Token/list", "Order/*"]);
    assert.equal(narrow?.allows("Order/state"), true);
    assert.equal(narrow?.allows("Token/state"), false);
    assert.deepEqual((await grant([]))?.patterns, []);
    assert.deepEqual((await grant(["**"]))?.patterns, ["*"]);
    for (const forged of ["Token/*", [1], ["Token/list", ".*"], ["a".repeat(300)], ["Tok en"]]) {
      const token = await signRaw(key.sign, header, { ...claims(), views: forged });
      await rejects(verifier.verify(token, undefined), "token-invalid-format");
    }
  });

  await t.step("a token signed by another key is refused", async () => {
    const { verifier, claims } = await setup();
    const other = await newKey("k1");
    const token = await signRaw(other.sign, { alg: "EdDSA", kid: "k1" }, claims());
    await rejects(verifier.verify(token, undefined), "token-invalid-signature", token);
    const noKid = await signRaw(other.sign, { alg: "EdDSA" }, claims());
    await rejects(verifier.verify(noKid, undefined), "token-invalid-signature");
  });

  await t.step("a tampered payload is refused", async () => {
    const { verifier, minter } = await setup();
    const { token } = await minter.mint({ subject: "alice" });
    const [header, , signature] = token.split(".");
    const payload = encodeJson({ iss: ISSUER, aud: AUDIENCE, sub: "root", exp: 9e9 });
    await rejects(
      verifier.verify(`${header}.${payload}.${signature}`, undefined),
      "token-invalid-signature",
    );
  });

  await t.step("expiry honours the leeway, then token-expired", async () => {
    const { verifier, minter, clock } = await setup();
    const { token } = await minter.mint({ subject: "alice" });
    clock.advance(300_000 + 29_000); // a second before exp + leeway: still valid
    assert.equal((await verifier.verify(token, undefined)).subject, "alice");
    clock.advance(1_000); // exp + leeway: no longer before it (RFC 7519 §4.1.4)
    const error = await rejects(verifier.verify(token, undefined), "token-expired", token);
    assert.equal(error.status, 401);
  });

  await t.step("a token without exp is malformed", async () => {
    const { verifier, key, claims } = await setup();
    const { exp: _, ...rest } = claims();
    const token = await signRaw(key.sign, { alg: "EdDSA", kid: "k1" }, rest);
    await rejects(verifier.verify(token, undefined), "token-invalid-format");
  });

  await t.step("not yet valid beyond the leeway is token-expired", async () => {
    const { verifier, key, claims, nowSeconds } = await setup();
    const early = await signRaw(key.sign, { alg: "EdDSA", kid: "k1" }, {
      ...claims(),
      nbf: nowSeconds() + 31,
    });
    const error = await rejects(verifier.verify(early, undefined), "token-expired");
    assert.match(error.message, /not yet valid/);
    const withinLeeway = await signRaw(key.sign, { alg: "EdDSA", kid: "k1" }, {
      ...claims(),
      nbf: nowSeconds() + 30,
    });
    assert.equal((await verifier.verify(withinLeeway, undefined)).subject, "alice");
  });

  await t.step("wrong audience and wrong issuer", async () => {
    const { verifier, key, claims } = await setup();
    const sign = (payload: object) => signRaw(key.sign, { alg: "EdDSA", kid: "k1" }, payload);
    await rejects(
      verifier.verify(await sign({ ...claims(), aud: "other" }), undefined),
      "token-invalid-audience",
    );
    const { aud: _, ...noAud } = claims();
    await rejects(verifier.verify(await sign(noAud), undefined), "token-invalid-audience");
    const listed = await sign({ ...claims(), aud: ["other", AUDIENCE] });
    assert.equal((await verifier.verify(listed, undefined)).subject, "alice");
    await rejects(
      verifier.verify(await sign({ ...claims(), iss: "https://evil.example" }), undefined),
      "token-invalid-issuer",
    );
    const { iss: __, ...noIss } = claims();
    await rejects(verifier.verify(await sign(noIss), undefined), "token-invalid-issuer");
  });

  await t.step("issuer and audience are unchecked when not configured", async () => {
    const { key, clock, claims } = await setup();
    const verifier = createJwtVerifier({ keys: key.keys, clock });
    const token = await signRaw(key.sign, { alg: "EdDSA" }, { ...claims(), iss: "x", aud: "y" });
    assert.equal((await verifier.verify(token, undefined)).subject, "alice");
  });

  await t.step("alg none (unsigned) is refused", async () => {
    const { verifier, claims } = await setup();
    const token = `${encodeJson({ alg: "none", typ: "JWT" })}.${encodeJson(claims())}.`;
    await rejects(verifier.verify(token, undefined), "token-invalid-signature", token);
  });

  await t.step("HS256 with the public key as HMAC secret is refused", async () => {
    const { verifier, key, claims } = await setup();
    const x = publicJwkOf(key.privateJwk).x!;
    for (const secret of [x, atob(x.replaceAll("-", "+").replaceAll("_", "/") + "=")]) {
      const hmac = await crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const input = `${encodeJson({ alg: "HS256", typ: "JWT", kid: "k1" })}.${
        encodeJson(claims())
      }`;
      const mac = await crypto.subtle.sign("HMAC", hmac, encoder.encode(input));
      const token = `${input}.${base64url.encode(new Uint8Array(mac))}`;
      await rejects(verifier.verify(token, undefined), "token-invalid-signature");
    }
    // A valid Ed25519 signature under a header that claims another alg is still refused.
    const relabelled = await signRaw(key.sign, { alg: "HS256", kid: "k1" }, claims());
    await rejects(verifier.verify(relabelled, undefined), "token-invalid-signature");
  });

  await t.step("malformed tokens are token-invalid-format (400)", async () => {
    const { verifier, minter } = await setup();
    const { token } = await minter.mint({ subject: "alice" });
    const [h, p, s] = token.split(".") as [string, string, string];
    const bad = [
      token.slice(0, token.lastIndexOf(".")), // truncated: two parts
      h,
      `${h}.${p}.${s}.${s}`,
      "garbage",
      "a.b.c",
      `${h}.${p.slice(0, -3)}.${s}`, // payload cut mid-JSON
      `${h}.${p}+/.${s}`, // not base64url
      `${h}.${p}.${s}=`, // padding is not allowed in JWS
      `${encodeJson([1, 2])}.${p}.${s}`, // header not an object
      `${h}.${base64url.encode(encoder.encode("not json"))}.${s}`,
      `${h}.${p}.${"A".repeat(8 * 1024)}`, // oversize
    ];
    for (const candidate of bad) {
      const error = await rejects(
        verifier.verify(candidate, undefined),
        "token-invalid-format",
        candidate,
      );
      assert.equal(error.status, 400);
    }
    await rejects(verifier.verify("", undefined), "token-missing");
  });

  await t.step("origin binding: mismatch, match, and claim without header", async () => {
    const { verifier, minter } = await setup();
    const { token } = await minter.mint({ subject: "alice", origin: "https://app.example" });
    const error = await rejects(
      verifier.verify(token, "https://evil.example"),
      "origin-mismatch",
      token,
    );
    assert.equal(error.status, 403);
    assert.equal(
      (await verifier.verify(token, "https://app.example")).origin,
      "https://app.example",
    );
    assert.equal((await verifier.verify(token, undefined)).origin, "https://app.example");
    const unbound = await minter.mint({ subject: "bob" });
    const identity = await verifier.verify(unbound.token, "https://anywhere.example");
    assert.equal(identity.origin, undefined);
    assert.equal("origin" in identity, false);
  });

  await t.step(
    "jti becomes the identity's tokenId; one that is not a string is refused",
    async () => {
      const { verifier, key, claims } = await setup();
      const sign = (extra: object) =>
        signRaw(key.sign, { alg: "EdDSA", kid: "k1" }, { ...claims(), ...extra });
      assert.equal((await verifier.verify(await sign({ jti: "t-1" }), undefined)).tokenId, "t-1");
      const without = await verifier.verify(await sign({}), undefined);
      assert.equal("tokenId" in without, false);
      await rejects(verifier.verify(await sign({ jti: 42 }), undefined), "token-invalid-format");
    },
  );

  await t.step("limits claim: parsed from snake_case, bad values refused", async () => {
    const { verifier, key, claims } = await setup();
    const sign = (limits: unknown) =>
      signRaw(key.sign, { alg: "EdDSA", kid: "k1" }, { ...claims(), limits });
    const good = await sign({
      max_connections: 2,
      max_snapshot_rows: 0,
      max_messages_per_minute: 60,
    });
    assert.deepEqual((await verifier.verify(good, undefined)).limits, {
      maxConnections: 2,
      maxSnapshotRows: 0,
      maxMessagesPerMinute: 60,
    });
    await rejects(
      verifier.verify(await sign({ max_connections: -1 }), undefined),
      "token-invalid-format",
    );
    await rejects(verifier.verify(await sign("lots"), undefined), "token-invalid-format");
  });

  await t.step("kid selects the key among two", async () => {
    const clock = new FakeClock();
    const a = await newKey("a");
    const b = await newKey("b");
    const keys = keyLookupOf({
      keys: [publicJwkOf(a.privateJwk, "a"), publicJwkOf(b.privateJwk, "b")],
    });
    const verifier = createJwtVerifier({ keys, clock });
    const exp = Math.floor(clock.now() / 1000) + 60;
    const byB = await signRaw(b.sign, { alg: "EdDSA", kid: "b" }, { sub: "b", exp });
    assert.equal((await verifier.verify(byB, undefined)).subject, "b");
    const noKid = await signRaw(b.sign, { alg: "EdDSA" }, { sub: "b", exp });
    assert.equal(
      (await verifier.verify(noKid, undefined)).subject,
      "b",
      "without kid, every key is tried",
    );
    const wrongKid = await signRaw(b.sign, { alg: "EdDSA", kid: "a" }, { sub: "b", exp });
    await rejects(verifier.verify(wrongKid, undefined), "token-invalid-signature");
    const unknownKid = await signRaw(b.sign, { alg: "EdDSA", kid: "c" }, { sub: "b", exp });
    await rejects(verifier.verify(unknownKid, undefined), "token-invalid-signature");
  });

  await t.step("a critical header extension is refused (RFC 7515 §4.1.11)", async () => {
    const { verifier, key, claims } = await setup();
    const plain = await signRaw(key.sign, { alg: "EdDSA", kid: "k1" }, claims());
    assert.equal((await verifier.verify(plain, undefined)).subject, "alice", "control");
    const critical = await signRaw(
      key.sign,
      { alg: "EdDSA", kid: "k1", crit: ["exp-policy"], "exp-policy": "strict" },
      claims(),
    );
    const error = await rejects(verifier.verify(critical, undefined), "token-invalid-format");
    assert.match(error.message, /exp-policy/);
    for (
      const header of [
        { alg: "EdDSA", kid: "k1", crit: ["absent"] }, // names a parameter the header lacks
        { alg: "EdDSA", kid: "k1", crit: [] }, // must not be empty
        { alg: "EdDSA", kid: "k1", crit: "exp-policy", "exp-policy": 1 }, // not an array
      ]
    ) {
      const token = await signRaw(key.sign, header, claims());
      await rejects(verifier.verify(token, undefined), "token-invalid-format");
    }
  });

  await t.step("a respelled token (non-canonical base64url) is refused", async () => {
    const { verifier, minter } = await setup();
    const { token } = await minter.mint({ subject: "alice" });
    const [h, p, sig] = token.split(".") as [string, string, string];
    // The signature's last character carries 2 unused bits: flipping one decodes to the
    // same 64 bytes, so a lenient decoder would accept the respelled token.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(sig.at(-1)!);
    const respelled = `${h}.${p}.${sig.slice(0, -1)}${alphabet[last ^ 1]}`;
    assert.deepEqual(base64url.decode(respelled.split(".")[2]!), base64url.decode(sig));
    await rejects(verifier.verify(respelled, undefined), "token-invalid-format");
    await rejects(verifier.verify(`${h}.${p}.${sig} `, undefined), "token-invalid-format");
  });

  await t.step("ES256 only when configured: PHAROS_AUTH_ALGORITHMS", async () => {
    const clock = new FakeClock();
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const jwks = { keys: [{ ...await crypto.subtle.exportKey("jwk", pair.publicKey), kid: "ec" }] };
    const exp = Math.floor(clock.now() / 1000) + 60;
    const input = `${encodeJson({ alg: "ES256", kid: "ec" })}.${encodeJson({ sub: "e", exp })}`;
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      encoder.encode(input),
    );
    const token = `${input}.${base64url.encode(new Uint8Array(signature))}`;
    const es256 = createJwtVerifier({
      keys: keyLookupOf(jwks, ["ES256"]),
      algorithms: ["ES256"],
      clock,
    });
    assert.equal((await es256.verify(token, undefined)).subject, "e");
    const { verifier } = await setup(); // the default: EdDSA only
    const error = await rejects(verifier.verify(token, undefined), "token-invalid-signature");
    assert.match(error.message, /algorithm must be EdDSA/);
  });

  await t.step("options are validated", async () => {
    const { key } = await setup();
    assert.throws(
      () => createJwtVerifier({ keys: key.keys, clock: new FakeClock(), leewaySeconds: -1 }),
      RangeError,
    );
    assert.throws(
      () => createJwtVerifier({ keys: key.keys, clock: new FakeClock(), algorithms: [] }),
      RangeError,
    );
    assert.throws(() => keyLookupOf({ keys: [] }), /no key that verifies EdDSA signatures/);
  });
});
