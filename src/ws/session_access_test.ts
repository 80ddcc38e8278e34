import assert from "node:assert/strict";
import { connectSession } from "../../tests/fakes/test_session.ts";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import { until } from "../../tests/wait.ts";
import { defineStack } from "../stack/mod.ts";
import { ViewGrant } from "../util/mod.ts";
import type { Access, Refreshed } from "./mod.ts";

const stack = defineStack({
  name: "tenants",
  entities: {
    Device: { handlers: {}, rows: { field: "tenant", claim: "tenant", views: ["list"] } },
  },
});

function access(views: string[], claims: Record<string, unknown>): Access {
  return { views: ViewGrant.parse(views) as ViewGrant, claims };
}

/** A session whose refresh_auth answers with `next`'s access, on a projector with two devices. */
function setup(start: Access) {
  const fixture = createTestProjector(stack);
  let next: Access = start;
  const { transport, session } = connectSession(fixture, {
    access: start,
    auth: {
      kind: "admitted",
      subject: "alice",
      refresh: (): Promise<Refreshed> => Promise.resolve({ expiresAt: undefined, access: next }),
    },
  });
  const apply = (key: string, tenant: string) =>
    fixture.projector.apply([{ entity: "Device", key, patch: { tenant }, append: [] }]);
  apply("d1", "acme");
  apply("d2", "globex");
  const frames = async () => (await transport.frames()).map((f) => f.json);
  const send = (message: unknown) => session.receive(JSON.stringify(message));
  /** Sends a refresh whose token has `access`, and waits for its answer. */
  const refresh = async (to: Access) => {
    next = to;
    const before = (await frames()).filter((f) => "success" in f).length;
    send({ type: "refresh_auth", token: "t" });
    await until(
      async () => (await frames()).filter((f) => "success" in f).length > before,
      "the answer",
    );
    return (await frames()).filter((f) => "success" in f).at(-1);
  };
  return { fixture, session, frames, send, refresh, apply };
}

Deno.test("a session's access", async (t) => {
  await t.step("a refresh moving a ruled subscription to another group is refused", async () => {
    const { frames, send, refresh, apply, session } = setup(
      access(["*"], { tenant: "acme" }),
    );
    send({ type: "subscribe", view: "Device/list" });
    await until(async () => (await frames()).some((f) => f.op === "snapshot"), "the snapshot");
    const snapshot = (await frames()).find((f) => f.op === "snapshot");
    assert.deepEqual((snapshot?.data as { key: string }[]).map((e) => e.key), ["d1"]);
    assert.deepEqual(await refresh(access(["*"], { tenant: "globex" })), {
      success: false,
      error: "token-invalid",
    });
    assert.deepEqual(session.access.claims, { tenant: "acme" }, "the old access stays");
    apply("d1", "acme");
    apply("d2", "globex");
    const patches = (await frames()).filter((f) => f.op === "patch").map((f) => f.key);
    assert.deepEqual(patches, ["d1"]);
  });

  await t.step(
    "a refresh keeping the claim but narrowing the grant ends what it drops",
    async () => {
      const { frames, send, refresh, fixture } = setup(access(["*"], { tenant: "acme" }));
      send({ type: "subscribe", view: "Device/list" });
      send({ type: "subscribe", view: "Device/state", key: "d2" });
      assert.deepEqual(await refresh(access(["Device/state"], { tenant: "acme", role: "x" })), {
        success: true,
      });
      const errors = (await frames()).filter((f) => f.type === "error");
      assert.deepEqual(errors.map((f) => [f.code, f.fatal]), [["view-forbidden", false]]);
      assert.match(String(errors[0]?.message), /Device\/list/);
      assert.equal(fixture.telemetry.count("ws.viewForbidden", "Device/list"), 1);
      assert.equal(fixture.telemetry.count("ws.subscriptionRemoved", "Device/list"), 1);
    },
  );

  await t.step("a token without the claim subscribes and sees no row of a ruled view", async () => {
    const { frames, send, apply, fixture } = setup(access(["*"], {}));
    send({ type: "subscribe", view: "Device/list" });
    apply("d1", "acme");
    const ops = (await frames()).map((f) => f.op);
    assert.deepEqual(ops, ["subscribed"]);
    assert.equal(fixture.bus.topicCount, 0, "it listens on no topic");
  });
});
