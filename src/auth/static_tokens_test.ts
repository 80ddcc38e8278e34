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
