import assert from "node:assert/strict";
import { AuthError, createStaticVerifier } from "./mod.ts";

async function code(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof AuthError, "expected an AuthError");
  return error.code;
}

Deno.test("static tokens", async (t) => {
  await t.step("a listed token yields static:<index> without the token", async () => {
    const verifier = createStaticVerifier(["alpha-secret", "beta-secret"]);
    assert.deepEqual(await verifier.verify("beta-secret"), {
      subject: "static:1",
      expiresAt: undefined,
      limits: {},
      claims: { sub: "static:1" },
    });
    assert.equal((await verifier.verify("alpha-secret")).subject, "static:0");
  });

  await t.step("a wrong token is invalid-static-token and not echoed", async () => {
    const verifier = createStaticVerifier(["alpha-secret"]);
    const error = await verifier.verify("alpha-secreT").catch((e: unknown) => e);
    assert.ok(error instanceof AuthError);
    assert.equal(error.code, "invalid-static-token");
    assert.equal(error.status, 401);
    assert.ok(!error.message.includes("alpha"));
    assert.equal(await code(verifier.verify("alpha-secret-and-more")), "invalid-static-token");
    assert.equal(await code(verifier.verify("")), "token-missing");
  });

  await t.step("an empty list refuses everything; empty entries are a config error", async () => {
    const verifier = createStaticVerifier([]);
    assert.equal(await code(verifier.verify("anything")), "invalid-static-token");
    assert.throws(() => createStaticVerifier(["ok", ""]), /static token 1: it is empty/);
  });
});

Deno.test("a static token may carry a grant and a subject", async (t) => {
  await t.step(";views= and ;sub= set the views and the sub claim", async () => {
    const verifier = createStaticVerifier(["open", "narrow;views=Token/list|Order/*;sub=alice"]);
    const open = await verifier.verify("open");
    assert.equal(open.views, undefined); // the default grant applies
    const narrow = await verifier.verify("narrow");
    assert.deepEqual(narrow.views?.patterns, ["Token/list", "Order/*"]);
    assert.equal(narrow.subject, "alice");
    assert.deepEqual(narrow.claims, { sub: "alice" });
    // The parameters are not part of the secret.
    assert.equal(
      await code(verifier.verify("narrow;views=Token/list|Order/*;sub=alice")),
      "invalid-static-token",
    );
    assert.deepEqual(
      (await createStaticVerifier(["none;views="]).verify("none")).views?.patterns,
      [],
    );
  });

  await t.step("a bad grant is a config error that never shows the secret", () => {
    for (
      const entry of ["s3cret;views=Tok en", "s3cret;views=a.b", "s3cret;colour=red", "s3cret;sub="]
    ) {
      const error = (() => {
        try {
          createStaticVerifier([entry]);
        } catch (error) {
          return error as Error;
        }
      })();
      assert.ok(error instanceof TypeError, entry);
      assert.match(error.message, /static token 0/);
      assert.ok(!error.message.includes("s3cret"), error.message);
    }
  });
});
