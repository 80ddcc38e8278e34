import assert from "node:assert/strict";
import { AUTH_ERROR_CODES, AuthError, authErrorStatus, parseLimitsClaim } from "./mod.ts";

Deno.test("limits claim and auth errors", async (t) => {
  await t.step("maps every snake_case limit and ignores unknown keys", () => {
    assert.deepEqual(parseLimitsClaim(undefined), {});
    assert.deepEqual(
      parseLimitsClaim({
        max_connections: 1,
        max_subscriptions: 2,
        max_snapshot_rows: 3,
        max_messages_per_minute: 4,
        max_bytes_per_minute: 5,
        max_future_thing: "ignored",
      }),
      {
        maxConnections: 1,
        maxSubscriptions: 2,
        maxSnapshotRows: 3,
        maxMessagesPerMinute: 4,
        maxBytesPerMinute: 5,
      },
    );
  });

  await t.step("refuses anything but non-negative safe integers", () => {
    for (
      const bad of [
        null,
        [],
        "x",
        5,
        { max_connections: -1 },
        { max_connections: 1.5 },
        { max_connections: "5" },
        { max_subscriptions: 2 ** 53 },
        { max_bytes_per_minute: null },
        { max_snapshot_rows: Number.NaN },
      ]
    ) {
      assert.throws(
        () => parseLimitsClaim(bad),
        (e) => e instanceof AuthError && e.code === "token-invalid-format" && e.status === 400,
        JSON.stringify(bad),
      );
    }
  });

  await t.step("status per docs/protocol.md §6", () => {
    const statuses = Object.fromEntries(AUTH_ERROR_CODES.map((c) => [c, authErrorStatus(c)]));
    assert.deepEqual(statuses, {
      "token-missing": 401,
      "token-expired": 401,
      "token-invalid-signature": 401,
      "token-invalid-issuer": 401,
      "token-invalid-audience": 401,
      "invalid-static-token": 401,
      "token-invalid-format": 400,
      "token-revoked": 401,
      "origin-mismatch": 403,
    });
    const error = new AuthError("origin-mismatch", "nope");
    assert.equal(error.name, "AuthError");
    assert.equal(error.status, 403);
  });
});
