import assert from "node:assert/strict";
import { importJwks, loadKeySet, publicJwkOf } from "./mod.ts";

async function newPublicJwk(kid?: string): Promise<JsonWebKey & { kid?: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return publicJwkOf(await crypto.subtle.exportKey("jwk", pair.privateKey), kid);
}

Deno.test("key sets", async (t) => {
  await t.step("imports Ed25519 signing keys and skips the rest", async () => {
    const signing = await newPublicJwk("a");
    const unpinned = await newPublicJwk();
    const { use: _, alg: __, ...bare } = unpinned;
    const set = await importJwks({
      keys: [
        { kty: "RSA", n: "AQAB", e: "AQAB", kid: "rsa" },
        { ...(await newPublicJwk("enc")), use: "enc" },
        { ...(await newPublicJwk("es")), alg: "ES256" },
        { kty: "EC", crv: "P-256", x: "x", y: "y" },
        signing,
        bare,
      ],
    });
    assert.deepEqual(set.keys.map((k) => k.kid), ["a", undefined]);
    assert.equal(set.keys[0]!.key.type, "public");
    assert.deepEqual(set.keys[0]!.key.usages, ["verify"]);
  });

  await t.step("ignores a published private d", async () => {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    const set = await importJwks({ keys: [{ ...privateJwk, key_ops: undefined }] });
    assert.equal(set.keys[0]!.key.type, "public");
  });

  await t.step("import errors", async () => {
    const cases: [unknown, RegExp][] = [
      [null, /"keys" array/],
      [{ keys: "nope" }, /"keys" array/],
      [{ keys: [] }, /no Ed25519 signing key/],
      [{ keys: [{ kty: "RSA" }] }, /no Ed25519 signing key/],
      [{ keys: [42] }, /key 0 is not an object/],
      [{ keys: [{ kty: "OKP", crv: "Ed25519" }] }, /key 0 has no "x"/],
      [{ keys: [{ kty: "OKP", crv: "Ed25519", x: "AAAA" }] }, /key 0 is not a valid Ed25519/],
      [{ keys: [{ ...(await newPublicJwk()), kid: 7 }] }, /non-string "kid"/],
    ];
    for (const [input, message] of cases) {
      await assert.rejects(importJwks(input), message, JSON.stringify(input));
    }
  });

  await t.step("loads from a file and names the file on failure", async () => {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pharos_auth_" });
    try {
      const path = `${dir}/jwks.json`;
      await Deno.writeTextFile(path, JSON.stringify({ keys: [await newPublicJwk("f")] }));
      const set = await loadKeySet(path);
      assert.deepEqual(set.keys.map((k) => k.kid), ["f"]);

      const missing = `${dir}/missing.json`;
      await assert.rejects(loadKeySet(missing), (e: Error) => {
        assert.equal(e.message, `Cannot load auth keys from ${missing}: file not found`);
        return true;
      });
      const broken = `${dir}/broken.json`;
      await Deno.writeTextFile(broken, "{ not json");
      await assert.rejects(loadKeySet(broken), new RegExp(`${broken}: not valid JSON`));
      const empty = `${dir}/empty.json`;
      await Deno.writeTextFile(empty, '{"keys":[]}');
      await assert.rejects(loadKeySet(empty), new RegExp(`${empty}: no Ed25519 signing key`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("reads through an injected readTextFile", async () => {
    const jwks = JSON.stringify({ keys: [await newPublicJwk("i")] });
    const seen: string[] = [];
    const set = await loadKeySet("keys/jwks.json", {
      readTextFile: (path) => {
        seen.push(path);
        return Promise.resolve(jwks);
      },
    });
    assert.deepEqual(seen, ["keys/jwks.json"]);
    assert.equal(set.keys[0]!.kid, "i");
  });

  await t.step("loads from an http URL and names the URL on failure", async () => {
    const jwks = JSON.stringify({ keys: [await newPublicJwk("h")] });
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => {
        const path = new URL(request.url).pathname;
        if (path === "/jwks.json") return Response.json(JSON.parse(jwks));
        if (path === "/html") return new Response("<html>");
        return new Response("not found", { status: 404 });
      },
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    const set = await loadKeySet(`${base}/jwks.json`);
    assert.deepEqual(set.keys.map((k) => k.kid), ["h"]);
    await assert.rejects(
      loadKeySet(`${base}/gone`),
      (e: Error) => e.message === `Cannot load auth keys from ${base}/gone: HTTP 404`,
    );
    await assert.rejects(loadKeySet(`${base}/html`), /html: not valid JSON/);
  });

  await t.step("a stalled server times out", async () => {
    const stalled = (_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason));
      });
    await assert.rejects(
      loadKeySet("https://keys.example/jwks.json", { fetch: stalled, timeoutMs: 10 }),
      /Cannot load auth keys from https:\/\/keys.example\/jwks.json: timed out/,
    );
  });
});
