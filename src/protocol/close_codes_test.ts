import assert from "node:assert/strict";
import { CloseCode, CloseReason, toCloseReason } from "./mod.ts";

Deno.test("close codes and reasons", async (t) => {
  await t.step("named codes are the RFC 6455 values, and two private-use mirrors", () => {
    assert.deepEqual({ ...CloseCode }, {
      Normal: 1000,
      GoingAway: 1001,
      PolicyViolation: 1008,
      MessageTooBig: 1009,
      InternalError: 1011,
      ServiceRestart: 1012,
      UpstreamOverflow: 4008,
      UpstreamDeliveryFailed: 4011,
    });
  });

  await t.step("the revocation reason is one HyperStack's client refreshes its token for", () => {
    // Its rule (hyperstack-typescript 0.6.9, on close): a `word:` prefix is an error code,
    // and an unknown code stops it; without one, a 1008 whose reason names a token
    // failure makes it fetch a new token.
    const reason = CloseReason.TokenRevoked;
    assert.equal(reason.match(/^([\w-]+):/), null, "no code prefix");
    assert.match(reason, /expired|invalid|token/i);
    assert.equal(toCloseReason(reason), reason);
  });

  await t.step("reasons up to 123 bytes pass unchanged", () => {
    const reason = "r".repeat(123);
    assert.equal(toCloseReason(reason), reason);
  });

  await t.step("longer reasons are cut to fit 123 UTF-8 bytes, marked with ...", () => {
    const cut = toCloseReason(`slow-consumer: ${"x".repeat(200)}`);
    assert.ok(cut.startsWith("slow-consumer: x"));
    assert.ok(cut.endsWith("..."));
    assert.ok(new TextEncoder().encode(cut).length <= 123);
  });

  await t.step("multi-byte characters are never split", () => {
    const cut = toCloseReason("€".repeat(100));
    assert.ok(new TextEncoder().encode(cut).length <= 123);
    assert.match(cut, /^€+\.\.\.$/);
  });
});
