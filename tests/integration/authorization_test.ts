/**
 * Who may see what, against a real server with real WebSocket clients (README "Security",
 * "Who sees what"): view grants from a JWT's `views` claim and `PHAROS_DEFAULT_VIEWS`, the
 * `view-forbidden` error frame, a refresh that narrows the grant, and the row rules of
 * `examples/orders_stack.ts` (snapshots, live patches, `after` resumes, rows that change
 * owner, and state subscribes that cannot tell a hidden row from a missing one).
 */
import assert from "node:assert/strict";
import ordersStack from "../../examples/orders_stack.ts";
import { claims, generateKeyPair, signJwt, writeJwks } from "../fakes/auth_keys.ts";
import type { SentFrame } from "../fakes/memory_transport.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import type { PharosEvent } from "../../src/stack/mod.ts";
import { barrier, framesFor, snapshotEntities } from "./_helpers.ts";

const ISSUER = "https://issuer.test";
const AUDIENCE = "pharos-test";

const order = (id: string, data: Record<string, unknown>, slot = 1): PharosEvent => ({
  type: "Order",
  slot,
  data: { id, ...data },
});
const errorsOf = (frames: readonly SentFrame[], code: string) =>
  frames.filter((f) => f.json.type === "error" && f.json.code === code);
const dataFrames = (frames: readonly SentFrame[], view: string) =>
  framesFor(frames, view).filter((f) => f.json.op !== "subscribed");

/** A JWT server on the orders stack, and a way to mint its tokens. */
async function ordersServer(env: Record<string, string> = {}) {
  const pair = await generateKeyPair("k1");
  const jwks = await writeJwks(pair.publicJwk);
  const server = await startTestServer({
    stack: ordersStack,
    env: {
      PHAROS_AUTH: "jwt",
      PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
      PHAROS_AUTH_ISSUER: ISSUER,
      PHAROS_AUTH_AUDIENCE: AUDIENCE,
      ...env,
    },
  });
  const token = (overrides: Record<string, unknown>) =>
    signJwt(pair.privateKey, claims(ISSUER, AUDIENCE, overrides), { alg: "EdDSA", kid: "k1" });
  const connect = async (overrides: Record<string, unknown>) =>
    await TestClient.connect(server.wsUrl, { authorization: `Bearer ${await token(overrides)}` });
  return {
    server,
    token,
    connect,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await jwks[Symbol.asyncDispose]();
    },
  };
}

/** Subscribes and waits for the ack and whatever the server owes by then. */
async function subscribe(client: TestClient, message: Record<string, unknown>): Promise<void> {
  client.send({ type: "subscribe", ...message });
  await barrier(client);
}

Deno.test("view grants: the views claim, PHAROS_DEFAULT_VIEWS and view-forbidden", async (t) => {
  await using orders = await ordersServer({ PHAROS_DEFAULT_VIEWS: "Order/list" });
  const { server } = orders;

  await t.step(
    "a view outside the grant gets view-forbidden and no data; the session goes on",
    async () => {
      await using client = await orders.connect({ sub: "alice", views: ["Order/state"] });
      await subscribe(client, { view: "Order/list" });
      const [error] = errorsOf(client.frames, "view-forbidden");
      assert.ok(error, "a view-forbidden error frame");
      assert.equal(error.json.fatal, false);
      assert.match(String(error.json.message), /Order\/list/);
      assert.deepEqual(framesFor(client.frames, "Order/list"), [], "no ack, no snapshot");
      await subscribe(client, { view: "Order/state", key: "o-1" });
      assert.equal(framesFor(client.frames, "Order/state")[0]?.json.op, "subscribed");
      assert.equal(server.telemetry.count("ws.viewForbidden", "Order/list"), 1);
    },
  );

  await t.step("a token without the claim has PHAROS_DEFAULT_VIEWS", async () => {
    await using client = await orders.connect({ sub: "alice" });
    await subscribe(client, { view: "Order/list" });
    await subscribe(client, { view: "Order/append" });
    assert.equal(framesFor(client.frames, "Order/list")[0]?.json.op, "subscribed");
    assert.equal(errorsOf(client.frames, "view-forbidden").length, 1);
    assert.deepEqual(framesFor(client.frames, "Order/append"), []);
  });

  await t.step("refresh_auth with a narrower grant ends what it no longer covers", async () => {
    await using client = await orders.connect({ sub: "alice", views: ["Order/*"] });
    await subscribe(client, { view: "Order/list" });
    await subscribe(client, { view: "Order/state", key: "o-1" });
    client.send({
      type: "refresh_auth",
      token: await orders.token({ sub: "alice", views: ["Order/state"] }),
    });
    await client.waitFor((frames) => errorsOf(frames, "view-forbidden").length === 1);
    const reply = client.frames.find((f) => f.json.success === true);
    assert.ok(reply, "the refresh succeeded");
    await server.source.emit(order("o-1", { owner: "alice", status: "open" }));
    await barrier(client);
    assert.equal(dataFrames(client.frames, "Order/list").length, 0, "Order/list ended");
    assert.equal(dataFrames(client.frames, "Order/state").length, 1, "Order/state goes on");
  });

  await t.step("a forged views claim (bad pattern) is refused at the upgrade", async () => {
    const token = await orders.token({ sub: "alice", views: ["Order/.*", "x".repeat(300)] });
    const response = await fetch(`${server.httpUrl}/`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        authorization: `Bearer ${token}`,
      },
    });
    await response.body?.cancel();
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("x-error-code"), "token-invalid-format");
  });
});

Deno.test("row rules: each owner sees only their orders, whole, live and after a resume", async (t) => {
  await using orders = await ordersServer();
  const { server } = orders;
  await server.source.emit(
    order("a-1", { owner: "alice", status: "open", amount: 1 }, 1),
    order("b-1", { owner: "bob", status: "open", amount: 2 }, 2),
    order("n-1", { status: "orphan" }, 3),
  );
  await using alice = await orders.connect({ sub: "alice" });
  await using bob = await orders.connect({ sub: "bob" });
  await using nobody = await orders.connect({ sub: undefined }); // a token without a sub

  await t.step("snapshots hold only the client's rows", async () => {
    for (const client of [alice, bob, nobody]) await subscribe(client, { view: "Order/list" });
    assert.deepEqual(snapshotEntities(alice.frames, "Order/list").map((e) => e.key), ["a-1"]);
    assert.deepEqual(snapshotEntities(bob.frames, "Order/list").map((e) => e.key), ["b-1"]);
    assert.deepEqual(snapshotEntities(nobody.frames, "Order/list"), []);
  });

  await t.step("a state subscribe to a hidden key looks like one to a missing key", async () => {
    await subscribe(alice, { view: "Order/state", key: "b-1" });
    await subscribe(alice, { view: "Order/state", key: "no-such-order" });
    const hidden = framesFor(alice.frames, "Order/state").map((f) => f.json);
    assert.deepEqual(hidden, [
      { op: "subscribed", view: "Order/state", mode: "state" },
      { op: "subscribed", view: "Order/state", mode: "state" },
    ]);
  });

  await t.step("live patches go to the owner's group only", async () => {
    await server.source.emit(order("b-1", { status: "paid" }, 4));
    await barrier(bob);
    await barrier(alice);
    const patches = dataFrames(bob.frames, "Order/list").filter((f) => f.json.op === "patch");
    assert.deepEqual(patches.map((f) => [f.json.key, (f.json.data as { status: string }).status]), [
      ["b-1", "paid"],
    ]);
    assert.deepEqual(
      dataFrames(alice.frames, "Order/list").filter((f) => f.json.op !== "snapshot"),
      [],
    );
    assert.deepEqual(dataFrames(alice.frames, "Order/state"), [], "b-1 stays hidden on state");
  });

  await t.step(
    "a row that changes owner leaves one group (delete) and arrives whole in the other",
    async () => {
      await server.source.emit(order("b-1", { owner: "alice" }, 5));
      await barrier(bob);
      await barrier(alice);
      const left = dataFrames(bob.frames, "Order/list").at(-1)!.json;
      assert.deepEqual(left, {
        mode: "list",
        entity: "Order/list",
        op: "delete",
        key: "b-1",
        data: null,
      });
      const arrived = dataFrames(alice.frames, "Order/list").at(-1)!.json;
      assert.equal(arrived.op, "upsert");
      assert.equal(arrived.key, "b-1");
      assert.deepEqual(
        { ...(arrived.data as Record<string, unknown>), _seq: undefined },
        { owner: "alice", status: "paid", amount: 2, _seq: undefined },
      );
      const state = dataFrames(alice.frames, "Order/state");
      assert.deepEqual(state.map((f) => [f.json.op, f.json.key, f.json.mode]), [[
        "upsert",
        "b-1",
        "state",
      ]]);
      assert.deepEqual(
        dataFrames(nobody.frames, "Order/list").filter((f) => f.json.op !== "snapshot"),
        [],
      );
    },
  );

  await t.step("an after resume gives only the client's rows past the cursor", async () => {
    await using again = await orders.connect({ sub: "bob" });
    await server.source.emit(order("b-2", { owner: "bob", status: "open" }, 6));
    await subscribe(again, { view: "Order/list", after: "0:000000000000" });
    assert.deepEqual(snapshotEntities(again.frames, "Order/list").map((e) => e.key), ["b-2"]);
  });

  await t.step(
    "a resume deletes the rows that left the client's group while it was away",
    async () => {
      await using away = await orders.connect({ sub: "carol" });
      await server.source.emit(
        order("c-1", { owner: "carol" }, 7),
        order("c-2", { owner: "carol" }, 8),
      );
      await subscribe(away, { view: "Order/list" });
      const cursor = "8:000000000000";
      await away[Symbol.asyncDispose]();
      await server.source.emit(
        order("c-1", { owner: "dave" }, 9),
        order("c-2", { status: "paid" }, 10),
      );
      await using back = await orders.connect({ sub: "carol" });
      await subscribe(back, { view: "Order/list", after: cursor });
      const answer = framesFor(back.frames, "Order/list").map((f) => [f.json.op, f.json.key ?? ""]);
      assert.deepEqual(answer, [["subscribed", ""], ["snapshot", ""], ["delete", "c-1"]]);
      assert.deepEqual(snapshotEntities(back.frames, "Order/list").map((e) => e.key), ["c-2"]);
    },
  );
});
