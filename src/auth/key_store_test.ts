import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { fakeJwksFetch } from "../../tests/fakes/jwks_endpoint.ts";
import { type KeyRefresh, openKeyStore, publicJwkOf, toKeySet } from "./mod.ts";

async function newPublicJwk(kid?: string): Promise<JsonWebKey & { kid?: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return publicJwkOf(await crypto.subtle.exportKey("jwk", pair.privateKey), kid);
}

async function newEcJwk(kid: string): Promise<JsonWebKey & { kid: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return { ...await crypto.subtle.exportKey("jwk", pair.publicKey), kid };
}

Deno.test("toKeySet keeps the keys the accepted algorithms can use", async (t) => {
  await t.step("Ed25519 signing keys by default; encryption, RSA and EC keys skipped", async () => {
    const signing = await newPublicJwk("a");
    const { use: _, alg: __, ...bare } = await newPublicJwk();
    const set = toKeySet({
      keys: [
        { kty: "RSA", n: "AQAB", e: "AQAB", kid: "rsa" },
        { ...(await newPublicJwk("enc")), use: "enc" },
        { ...(await newPublicJwk("es")), alg: "ES256" },
        { ...(await newPublicJwk("ops")), key_ops: ["encrypt"] },
        await newEcJwk("ec"),
        signing,
        bare,
      ],
    }, ["EdDSA"]);
    assert.deepEqual(set.keys.map((k) => k.kid), ["a", undefined]);
    assert.deepEqual([...set.kids], ["a"]);
  });

  await t.step("a published private d never reaches the key kept", async () => {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    const set = toKeySet({ keys: [{ ...privateJwk, key_ops: undefined }] }, ["EdDSA"]);
    assert.deepEqual(Object.keys(set.keys[0]!.jwk).sort(), ["crv", "kty", "x"]);
  });

  await t.step("ES256 keys when PHAROS_AUTH_ALGORITHMS lists ES256", async () => {
    const set = toKeySet({ keys: [await newEcJwk("ec"), await newPublicJwk("ed")] }, ["ES256"]);
    assert.deepEqual(set.keys.map((k) => [k.kid, k.algorithms]), [["ec", ["ES256"]]]);
  });

  await t.step("errors name the problem", async () => {
    const cases: [unknown, RegExp][] = [
      [null, /"keys" array/],
      [{ keys: "nope" }, /"keys" array/],
      [{ keys: [] }, /no key that verifies EdDSA signatures/],
      [{ keys: [{ kty: "RSA", n: "AQAB", e: "AQAB" }] }, /no key that verifies EdDSA/],
      [{ keys: [42] }, /key 0 is not an object/],
      [{ keys: [{ kty: "OKP", crv: "Ed25519" }] }, /key 0 has no "x"/],
      [{ keys: [{ ...(await newPublicJwk()), kid: 7 }] }, /non-string "kid"/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => toKeySet(input, ["EdDSA"]), message, JSON.stringify(input));
    }
  });
});

Deno.test("a key store on a file", async (t) => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pharos_auth_" });
  const clock = new FakeClock();
  const refreshes: KeyRefresh[] = [];
  const open = (path: string) =>
    openKeyStore({
      source: path,
      algorithms: ["EdDSA"],
      clock,
      cooldownMs: 30_000,
      maxAgeMs: 600_000,
      onRefresh: (refresh) => refreshes.push(refresh),
    });
  try {
    await t.step("start-up failures name the file and the problem", async () => {
      const missing = `${dir}/missing.json`;
      await assert.rejects(open(missing), (e: Error) => {
        assert.equal(e.message, `Cannot load auth keys from ${missing}: file not found`);
        return true;
      });
      const broken = `${dir}/broken.json`;
      await Deno.writeTextFile(broken, "{ not json");
      await assert.rejects(open(broken), new RegExp(`${broken}: not valid JSON`));
      const invalid = `${dir}/invalid.json`;
      await Deno.writeTextFile(invalid, '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}');
      await assert.rejects(open(invalid), /invalid.json: a key is not a valid OKP public key/);
    });

    await t.step("a changed file is read again, within a second", async () => {
      const path = `${dir}/jwks.json`;
      const first = await newPublicJwk("f1");
      await Deno.writeTextFile(path, JSON.stringify({ keys: [first] }));
      const store = await open(path);
      assert.equal((await store.candidates("EdDSA", "f1")).length, 1);
      const second = await newPublicJwk("f2");
      await Deno.writeTextFile(path, JSON.stringify({ keys: [second, first, second] }));
      clock.advance(1_000);
      assert.equal((await store.candidates("EdDSA", "f2")).length, 2);
      assert.deepEqual(refreshes.map((r) => [r.trigger, r.outcome, r.keys]), [
        ["file-changed", "updated", 3],
      ]);

      // A broken rewrite keeps the keys in force, and says so.
      await Deno.writeTextFile(path, '{"keys": [');
      clock.advance(1_000);
      assert.equal((await store.candidates("EdDSA", "f1")).length, 1);
      assert.deepEqual(refreshes.at(-1)?.outcome, "failed");
      assert.match(refreshes.at(-1)!.error!.message, /jwks.json: not valid JSON/);
      assert.equal(store.status().keys, 3);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a key store on a JWKS URL", async (t) => {
  const clock = new FakeClock();
  const k1 = await newPublicJwk("k1");
  const idp = fakeJwksFetch([k1]);
  const refreshes: KeyRefresh[] = [];
  const store = await openKeyStore({
    source: idp.url,
    fetch: idp.fetch,
    algorithms: ["EdDSA"],
    clock,
    cooldownMs: 30_000,
    maxAgeMs: 600_000,
    onRefresh: (refresh) => refreshes.push(refresh),
  });
  assert.equal(idp.fetches(), 1);

  await t.step("a key added at the identity provider is found by its kid", async () => {
    const k2 = await newPublicJwk("k2");
    idp.publish([k1, k2]);
    // Within the cooldown of the start-up fetch: not fetched yet.
    assert.deepEqual(await store.candidates("EdDSA", "k2"), []);
    assert.equal(idp.fetches(), 1);
    clock.advance(30_000);
    assert.equal((await store.candidates("EdDSA", "k2")).length, 1);
    assert.equal(idp.fetches(), 2);
    assert.deepEqual(refreshes.at(-1), { trigger: "unknown-kid", outcome: "updated", keys: 2 });
  });

  await t.step("a flood of unknown kids fetches once per cooldown", async () => {
    clock.advance(30_000);
    const before = idp.fetches();
    const flood = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.candidates("EdDSA", `forged-${i}`)),
    );
    assert.ok(flood.every((keys) => keys.length === 0));
    assert.equal(idp.fetches() - before, 1, "one fetch for 200 tokens with unknown kids");
    for (let i = 0; i < 50; i++) await store.candidates("EdDSA", `more-${i}`);
    assert.equal(idp.fetches() - before, 1, "none more within the cooldown");
  });

  await t.step("the identity provider down: the keys in force keep working", async () => {
    idp.setDown(true);
    clock.advance(600_000);
    assert.equal((await store.candidates("EdDSA", "k1")).length, 1);
    assert.deepEqual(
      [refreshes.at(-1)?.trigger, refreshes.at(-1)?.outcome, refreshes.at(-1)?.keys],
      ["max-age", "failed", 2],
    );
    assert.match(refreshes.at(-1)!.error!.message, /Cannot load auth keys from .*: HTTP 503/);
    const fetched = idp.fetches();
    assert.equal((await store.candidates("EdDSA", "k1")).length, 1);
    assert.equal(idp.fetches(), fetched, "a failed fetch is not retried within the cooldown");
    idp.setDown(false);
  });

  await t.step(
    "a key removed from the set is refused once the set is older than its max age",
    async () => {
      clock.advance(30_000); // the identity provider is back: the next use fetches the set
      assert.equal((await store.candidates("EdDSA", "k1")).length, 1);
      assert.deepEqual(refreshes.at(-1)?.outcome, "unchanged");
      idp.publish([await newPublicJwk("k3")]);
      clock.advance(599_000);
      assert.equal((await store.candidates("EdDSA", "k1")).length, 1, "still within the max age");
      clock.advance(1_000);
      assert.deepEqual(await store.candidates("EdDSA", "k1"), []);
      assert.equal((await store.candidates("EdDSA", "k3")).length, 1);
      assert.equal(store.status().keys, 1);
    },
  );
});

Deno.test("a key store names the URL when it cannot start, and times out a stalled one", async () => {
  const clock = new FakeClock();
  const idp = fakeJwksFetch([]);
  const options = { algorithms: ["EdDSA"] as const, clock, cooldownMs: 0, maxAgeMs: 1_000 };
  idp.setDown(true);
  await assert.rejects(
    openKeyStore({ source: idp.url, ...options, fetch: idp.fetch }),
    (e: Error) => e.message === `Cannot load auth keys from ${idp.url}: HTTP 503`,
  );
  const stalled = (_input: RequestInfo | URL, init?: RequestInit) =>
    new Promise<Response>((_, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
    });
  await assert.rejects(
    openKeyStore({
      source: "https://keys.example/jwks.json",
      ...options,
      fetch: stalled,
      timeoutMs: 10,
    }),
    /Cannot load auth keys from https:\/\/keys.example\/jwks.json: timed out/,
  );
});
