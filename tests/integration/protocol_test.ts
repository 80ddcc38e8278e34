/**
 * docs/protocol.md §2–5 over real sockets: one test per rule, each against a fresh server on
 * 127.0.0.1 with the demo Token stack fed by a manual source.
 */
import assert from "node:assert/strict";
import type { PharosEvent } from "../../src/stack/mod.ts";
import { transfer } from "../fakes/manual_source.ts";
import type { SentFrame } from "../fakes/memory_transport.ts";
import { startTestServer, type TestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import {
  barrier,
  docStack,
  framesFor,
  isAuthReply,
  opsFor,
  put,
  rawText,
  snapshotEntities,
} from "./_helpers.ts";

const LIST = "Token/list";
const STATE = "Token/state";
const APPEND = "Token/append";
const LATEST = "Token/latest";

type Entity = Record<string, unknown>;

/** Subscribes a fresh client with `message` and returns every frame up to a barrier. */
async function framesAfterSubscribe(server: TestServer, message: unknown): Promise<SentFrame[]> {
  await using client = await TestClient.connect(server.wsUrl);
  client.send(message);
  await barrier(client);
  return client.frames;
}

/** Keys of the snapshot a fresh client gets for `message` on Token/list. */
async function snapshotKeys(server: TestServer, message: Entity): Promise<string[]> {
  const frames = await framesAfterSubscribe(server, { type: "subscribe", view: LIST, ...message });
  return snapshotEntities(frames, LIST).map((e) => e.key);
}

Deno.test("§1 handshake: any non-route path upgrades, and nothing is sent before a subscribe", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1));
  for (const path of ["", "/", "/ws", "/any/path?hs_token=x"]) {
    await using client = await TestClient.connect(`${server.wsUrl}${path}`);
    client.send({ type: "ping" });
    client.send({ type: "subscribe", view: LIST });
    // The barrier: a session answers in order, so anything sent on connect or for the ping
    // would come before the subscription's frames.
    await client.waitFor((f) => f.length >= 2, 5000, `frames on "${path}"`);
    assert.deepEqual(
      client.frames.map((f) => f.json.op),
      ["subscribed", "snapshot"],
      `no hello frame and no ping reply on "${path}"`,
    );
  }
});

Deno.test("§3 subscribed: the first frame of a subscription, exact JSON per view kind", async (t) => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 100, 5));

  const cases = [
    {
      name: "list view: sort by _seq desc",
      message: { type: "subscribe", view: LIST },
      ack:
        '{"op":"subscribed","view":"Token/list","mode":"list","sort":{"field":["_seq"],"order":"desc"}}',
    },
    {
      name: "state view: no sort",
      message: { type: "subscribe", view: STATE, key: "mintA" },
      ack: '{"op":"subscribed","view":"Token/state","mode":"state"}',
    },
    {
      name: "append view: no sort",
      message: { type: "subscribe", view: APPEND },
      ack: '{"op":"subscribed","view":"Token/append","mode":"append"}',
    },
    {
      name: "derived view: its own sort field path and order",
      message: { type: "subscribe", view: LATEST },
      ack:
        '{"op":"subscribed","view":"Token/latest","mode":"list","sort":{"field":["lastTransfer","slot"],"order":"desc"}}',
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using client = await TestClient.connect(server.wsUrl);
      client.send(c.message);
      const frames = await client.waitFor((f) => f.length >= 2, 5000, "ack and snapshot");
      assert.equal(rawText(frames[0]!), c.ack);
      assert.ok(frames[0]!.binary, "the ack is a binary frame");
      assert.equal(frames[1]!.json.op, "snapshot", "the snapshot follows the ack");
    });
  }

  await t.step("nothing cached: the ack alone, no snapshot frame", async () => {
    const frames = await framesAfterSubscribe(server, {
      type: "subscribe",
      view: LIST,
      key: "nobody",
    });
    assert.deepEqual(framesFor(frames, LIST).map((f) => f.json.op), ["subscribed"]);
  });
});

Deno.test("§3 snapshot: batches of 50, then 100, complete only on the last", async () => {
  await using server = await startTestServer();
  const events = Array.from({ length: 180 }, (_, i) => transfer(`mint${i}`, 1000 + i));
  await server.source.emit(...events);

  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST });
  const frames = await client.waitFor(
    (f) => f.some((x) => x.json.complete === true),
    5000,
    "the complete snapshot",
  );
  const batches = opsFor(frames, LIST, "snapshot");
  assert.deepEqual(batches.map((b) => (b.json.data as unknown[]).length), [50, 100, 30]);
  assert.deepEqual(batches.map((b) => b.json.complete), [false, false, true]);
  assert.deepEqual(
    batches.map((b) => [b.json.mode, b.json.entity]),
    [["list", LIST], ["list", LIST], ["list", LIST]],
  );
  // Every entity once, most recently updated first.
  const keys = snapshotEntities(frames, LIST).map((e) => e.key);
  assert.deepEqual(keys, events.map((_, i) => `mint${i}`).reverse());
});

Deno.test("§3 compression: big snapshot batches are gzipped, small ones and live frames are not", async (t) => {
  await t.step("snapshot batches of 1024 bytes or more arrive gzipped and decode", async () => {
    await using server = await startTestServer();
    await server.source.emit(...Array.from({ length: 60 }, (_, i) => transfer(`mint${i}`, i)));
    await using client = await TestClient.connect(server.wsUrl);
    client.send({ type: "subscribe", view: LIST });
    const frames = await client.waitFor((f) => f.some((x) => x.json.complete === true));
    const batches = opsFor(frames, LIST, "snapshot");
    assert.equal(batches.length, 2);
    for (const batch of batches) {
      const plainBytes = new TextEncoder().encode(JSON.stringify(batch.json)).length;
      assert.ok(plainBytes >= 1024, `the batch is big enough to compress (${plainBytes} B)`);
      assert.ok(batch.binary && batch.gzip, "sent as binary gzip");
      assert.ok(batch.bytes.length < plainBytes, "gzip is smaller than the JSON");
    }
    assert.equal(snapshotEntities(frames, LIST).length, 60);
  });

  await t.step("a small snapshot batch arrives as plain JSON", async () => {
    await using server = await startTestServer();
    await server.source.emit(transfer("mintA", 1));
    await using client = await TestClient.connect(server.wsUrl);
    client.send({ type: "subscribe", view: LIST });
    const [, snapshot] = await client.waitFor((f) => f.length >= 2);
    assert.ok(snapshot!.bytes.length < 1024);
    assert.ok(snapshot!.binary && !snapshot!.gzip, "plain binary JSON");
    assert.equal(JSON.parse(rawText(snapshot!)).op, "snapshot");
  });

  await t.step("a large, compressible live patch is never gzipped", async () => {
    await using server = await startTestServer({ stack: docStack });
    const text = "a".repeat(8192);
    await server.source.emit(put("doc1", 1, text));
    await using client = await TestClient.connect(server.wsUrl);
    client.send({ type: "subscribe", view: "Doc/list" });
    await client.waitFor((f) => f.length >= 2);
    await server.source.emit(put("doc1", 2, text, 1));
    const frames = await client.waitFor((f) => f.length >= 3);
    const [, snapshot, patch] = frames;
    assert.ok(snapshot!.gzip, "the same data in a snapshot is compressed");
    assert.equal(patch!.json.op, "patch");
    assert.ok(patch!.binary && !patch!.gzip, "the live patch is plain binary JSON");
    assert.ok(patch!.bytes.length > 8192);
    assert.equal((patch!.json.data as Entity).text, text);
  });
});

Deno.test("§3 frame types: data frames are binary, error frames and auth replies are text", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST });
  client.send({ type: "subscribe", view: LATEST });
  client.send({ type: "subscribe", view: STATE, key: "mintA" });
  await barrier(client);
  await server.source.emit(transfer("mintB", 2), transfer("mintA", 3));
  client.send({ type: "subscribe", view: STATE }); // no key: an error frame
  client.send({ type: "refresh_auth", token: "t" });
  const frames = await client.waitFor((f) => f.filter(isAuthReply).length === 2);

  const data = frames.filter((f) => typeof f.json.op === "string");
  const ops = new Set(data.map((f) => f.json.op));
  for (const op of ["subscribed", "snapshot", "patch", "upsert"]) {
    assert.ok(ops.has(op), `saw a ${op} frame`);
  }
  assert.ok(data.every((f) => f.binary), "every data frame is binary");

  // Field order as docs/protocol.md §3 shows it.
  const order = (op: string) => Object.keys(data.find((f) => f.json.op === op)!.json);
  assert.deepEqual(order("subscribed"), ["op", "view", "mode", "sort"]);
  assert.deepEqual(order("snapshot"), ["mode", "entity", "op", "data", "complete"]);
  assert.deepEqual(order("patch"), ["mode", "entity", "op", "key", "data", "append", "seq"]);
  assert.deepEqual(order("upsert"), ["mode", "entity", "op", "key", "data"]);

  const errors = frames.filter((f) => f.json.type === "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.binary, false, "the error frame is text");
  assert.deepEqual(Object.keys(errors[0]!.json), [
    "type",
    "error",
    "message",
    "code",
    "retryable",
    "fatal",
  ]);
  assert.equal(errors[0]!.json.code, errors[0]!.json.error);
  assert.equal(errors[0]!.json.fatal, false);

  const reply = frames.findLast(isAuthReply)!;
  assert.equal(reply.binary, false, "the refresh_auth reply is text");
  assert.equal(typeof reply.json.success, "boolean");
  for (const field of ["op", "entity", "mode"]) assert.ok(!(field in reply.json));
  assert.equal(client.socket.readyState, WebSocket.OPEN);
});

Deno.test("§4 merge: append paths accumulate in the cache, capped at the newest 100", async (t) => {
  await using server = await startTestServer();

  await t.step("a late subscriber's snapshot has the concatenated array", async () => {
    await server.source.emit(transfer("mintA", 10, 1), transfer("mintA", 11, 2));
    await server.source.emit(transfer("mintA", 12, 3));
    const frames = await framesAfterSubscribe(server, {
      type: "subscribe",
      view: LIST,
      key: "mintA",
    });
    const [entity] = snapshotEntities(frames, LIST);
    const recent = entity!.data.recentTransfers as Entity[];
    assert.deepEqual(recent.map((r) => [r.slot, r.amount]), [[10, 1], [11, 2], [12, 3]]);
    assert.equal(entity!.data.transferCount, 3);
    assert.equal(entity!.data.volume, 6);
    assert.deepEqual((entity!.data.lastTransfer as Entity).slot, 12);
  });

  await t.step("live patches carry only the new element and name the append path", async () => {
    await using client = await TestClient.connect(server.wsUrl);
    client.send({ type: "subscribe", view: LIST, key: "mintA" });
    await client.waitFor((f) => f.length >= 2);
    await server.source.emit(transfer("mintA", 13, 4));
    const [, , patch] = await client.waitFor((f) => f.length >= 3);
    assert.deepEqual(patch!.json.append, ["recentTransfers"]);
    assert.deepEqual((patch!.json.data as Entity).recentTransfers, [
      { from: "alice", to: "bob", amount: 4, slot: 13 },
    ]);
  });

  await t.step("130 transfers to one mint: the array keeps the newest 100", async () => {
    const events = Array.from({ length: 130 }, (_, i) => transfer("mintB", 1000 + i, i));
    await server.source.emit(...events);
    const frames = await framesAfterSubscribe(server, {
      type: "subscribe",
      view: LIST,
      key: "mintB",
    });
    const [entity] = snapshotEntities(frames, LIST);
    const recent = entity!.data.recentTransfers as Entity[];
    assert.equal(recent.length, 100);
    assert.equal(recent[0]!.slot, 1030, "the oldest 30 were dropped");
    assert.equal(recent.at(-1)!.slot, 1129, "the last element is the newest transfer");
    assert.equal(entity!.data.transferCount, 130);
  });
});

Deno.test("§4 list snapshot set: after cursor, snapshotLimit, then the key filter", async (t) => {
  await using server = await startTestServer();
  // Update order A, B, C, D, E; _seq order D < E < B < C < A. Slot 99 sorts before
  // slot 100 only when compared as numbers ("100:…" < "99:…" as text).
  await server.source.emit(
    transfer("A", 300),
    transfer("B", 100),
    transfer("C", 200),
    transfer("D", 99, 1, { index: 3 }),
    transfer("E", 99, 1, { index: 9 }),
  );

  await t.step("neither: every cached entity, most recently updated first", async () => {
    assert.deepEqual(await snapshotKeys(server, {}), ["E", "D", "C", "B", "A"]);
  });
  await t.step("only snapshotLimit: the highest _seq first, cut to N", async () => {
    assert.deepEqual(await snapshotKeys(server, { snapshotLimit: 2 }), ["A", "C"]);
  });
  await t.step(
    "after: _seq strictly after the cursor, ascending, compared numerically",
    async () => {
      assert.deepEqual(await snapshotKeys(server, { after: "99:000000000005" }), [
        "E",
        "B",
        "C",
        "A",
      ]);
    },
  );
  await t.step("after with snapshotLimit: the first N after the cursor", async () => {
    assert.deepEqual(await snapshotKeys(server, { after: "99:000000000005", snapshotLimit: 2 }), [
      "E",
      "B",
    ]);
  });
  await t.step("after with key: only that key", async () => {
    assert.deepEqual(await snapshotKeys(server, { after: "99:000000000005", key: "C" }), ["C"]);
    assert.deepEqual(await snapshotKeys(server, { after: "99:000000000005", key: "D" }), []);
  });
  await t.step("a cursor past everything: no snapshot frame, and live frames follow", async () => {
    await using client = await TestClient.connect(server.wsUrl);
    client.send({ type: "subscribe", view: LIST, after: "300:000000000000" });
    await barrier(client);
    assert.deepEqual(framesFor(client.frames, LIST).map((f) => f.json.op), ["subscribed"]);
    await server.source.emit(transfer("F", 301));
    await client.waitFor((f) => opsFor(f, LIST, "patch").length === 1);
  });
});

Deno.test("§4 withSnapshot:false: subscribed, then only live frames", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1), transfer("mintB", 2));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST, withSnapshot: false });
  client.send({ type: "subscribe", view: LATEST, withSnapshot: false });
  await barrier(client);
  await server.source.emit(transfer("mintA", 3));
  await barrier(client);
  assert.deepEqual(framesFor(client.frames, LIST).map((f) => f.json.op), ["subscribed", "patch"]);
  assert.deepEqual(framesFor(client.frames, LATEST).map((f) => f.json.op), [
    "subscribed",
    "upsert",
  ]);
});

Deno.test("§4 derived window: delete for keys leaving, then upsert, with take from the subscription", async (t) => {
  await using server = await startTestServer();
  await server.source.emit(transfer("m1", 1), transfer("m2", 2), transfer("m3", 3));
  await server.source.emit(transfer("m0", 0));
  await using client = await TestClient.connect(server.wsUrl);
  // The client's view of the window, rebuilt from frames as HyperStack's client does.
  const window = new Map<string, Entity>();
  let applied = 0;
  const apply = () => {
    for (const frame of framesFor(client.frames, LATEST).slice(applied)) {
      applied++;
      const json = frame.json;
      if (json.op === "snapshot") {
        for (const e of json.data as { key: string; data: Entity }[]) window.set(e.key, e.data);
      } else if (json.op === "upsert") window.set(json.key as string, json.data as Entity);
      else if (json.op === "delete") window.delete(json.key as string);
    }
    return [...window.entries()]
      .sort(([, a], [, b]) =>
        ((b.lastTransfer as Entity).slot as number) - ((a.lastTransfer as Entity).slot as number)
      )
      .map(([key]) => key);
  };

  await t.step("the snapshot is the window of size take, in sort order", async () => {
    client.send({ type: "subscribe", view: LATEST, take: 3 });
    await barrier(client);
    assert.deepEqual(snapshotEntities(client.frames, LATEST).map((e) => e.key), ["m3", "m2", "m1"]);
    assert.deepEqual(apply(), ["m3", "m2", "m1"]);
  });

  await t.step("a new top entry: delete of the key that left, then upsert", async () => {
    const seen = framesFor(client.frames, LATEST).length;
    await server.source.emit(transfer("m4", 4));
    await barrier(client);
    const delta = framesFor(client.frames, LATEST).slice(seen);
    const deletes = delta.filter((f) => f.json.op === "delete");
    assert.deepEqual(deletes.map((f) => [f.json.key, f.json.data]), [["m1", null]]);
    const upserts = delta.filter((f) => f.json.op === "upsert");
    assert.ok(upserts.some((f) => f.json.key === "m4"), "m4 is upserted");
    assert.ok(delta.indexOf(deletes[0]!) < delta.indexOf(upserts[0]!), "delete comes first");
    for (const f of delta) assert.deepEqual([f.json.mode, f.json.entity], ["list", LATEST]);
    const m4 = upserts.find((f) => f.json.key === "m4")!.json.data as Entity;
    assert.equal(m4.transferCount, 1, "upserts carry the full entity");
    assert.equal(m4.mint, "m4");
    assert.deepEqual(apply(), ["m4", "m3", "m2"]);
  });

  await t.step("an entry moving up inside the window is upserted with its new data", async () => {
    await server.source.emit(transfer("m2", 5));
    await barrier(client);
    assert.deepEqual(apply(), ["m2", "m4", "m3"]);
    assert.equal(window.get("m2")!.transferCount, 2);
  });

  await t.step("a change below the window leaves it as it is", async () => {
    await server.source.emit(transfer("m0", 0, 7));
    await barrier(client);
    assert.deepEqual(apply(), ["m2", "m4", "m3"]);
  });

  await t.step("skip moves the window down the sorted order", async () => {
    const frames = await framesAfterSubscribe(server, {
      type: "subscribe",
      view: LATEST,
      skip: 1,
      take: 2,
    });
    assert.deepEqual(snapshotEntities(frames, LATEST).map((e) => e.key), ["m4", "m3"]);
  });

  await t.step("without take, the view's default (10) applies", async () => {
    const frames = await framesAfterSubscribe(server, { type: "subscribe", view: LATEST });
    assert.deepEqual(snapshotEntities(frames, LATEST).map((e) => e.key), [
      "m2",
      "m4",
      "m3",
      "m1",
      "m0",
    ]);
  });
});

Deno.test("§2 duplicate subscribe: nothing new is sent and the live stream keeps running", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST });
  await barrier(client);
  assert.deepEqual(framesFor(client.frames, LIST).map((f) => f.json.op), [
    "subscribed",
    "snapshot",
  ]);
  client.send({ type: "subscribe", view: LIST });
  client.send({ type: "subscribe", view: LIST, snapshotLimit: 1 }); // same identity
  await barrier(client);
  assert.equal(framesFor(client.frames, LIST).length, 2, "no second ack or snapshot");

  await server.source.emit(transfer("mintA", 2), transfer("mintB", 3));
  await barrier(client);
  const patches = opsFor(client.frames, LIST, "patch");
  assert.deepEqual(patches.map((f) => f.json.key), ["mintA", "mintB"], "each patch once");
});

Deno.test("§2 unsubscribe: frames stop for that view while other views continue", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST });
  client.send({ type: "subscribe", view: STATE, key: "mintA" });
  await barrier(client);
  await server.source.emit(transfer("mintA", 1));
  await barrier(client);
  assert.equal(opsFor(client.frames, LIST, "patch").length, 1);
  assert.equal(opsFor(client.frames, STATE, "patch").length, 1);

  client.send({ type: "unsubscribe", view: LIST });
  await barrier(client);
  await server.source.emit(transfer("mintA", 2), transfer("mintA", 3));
  await barrier(client);
  assert.equal(opsFor(client.frames, LIST, "patch").length, 1, "no Token/list frame after");
  assert.equal(opsFor(client.frames, STATE, "patch").length, 3, "Token/state still live");

  client.send({ type: "unsubscribe", view: STATE, key: "other" }); // not subscribed: no-op
  await server.source.emit(transfer("mintA", 4));
  await barrier(client);
  assert.equal(opsFor(client.frames, STATE, "patch").length, 4);
});

Deno.test("§2 unknown fields such as partition and filters are ignored", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1));
  const frames = await framesAfterSubscribe(server, {
    type: "subscribe",
    view: LIST,
    partition: "p1",
    filters: { mint: "mintB" },
    somethingNew: [1, 2, 3],
  });
  assert.deepEqual(framesFor(frames, LIST).map((f) => f.json.op), ["subscribed", "snapshot"]);
  assert.equal(server.telemetry.count("ws.connectionError"), 0);
});

Deno.test("§2 legacy subscribe: a bare {view} object subscribes", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ view: LIST });
  await barrier(client);
  await server.source.emit(transfer("mintA", 2));
  await barrier(client);
  assert.deepEqual(framesFor(client.frames, LIST).map((f) => f.json.op), [
    "subscribed",
    "snapshot",
    "patch",
  ]);
});

Deno.test("§3 values: big integers as decimal strings, data._seq equals the frame seq", async (t) => {
  await using server = await startTestServer();
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST });
  await barrier(client);
  const big = 2n ** 60n;
  await server.source.emit(transfer("whale", 123456789, big, { index: 42 }));
  await server.source.emit(transfer("whale", 123456789, big));
  await barrier(client);
  const patches = opsFor(client.frames, LIST, "patch");
  assert.equal(patches.length, 2);

  await t.step("integers beyond 2^53-1 arrive as exact decimal strings", () => {
    const first = patches[0]!.json.data as Entity;
    const second = patches[1]!.json.data as Entity;
    assert.equal(first.volume, String(big));
    assert.equal((first.lastTransfer as Entity).amount, String(big));
    assert.equal(second.volume, String(2n * big));
    assert.ok(rawText(patches[1]!).includes(`"volume":"${2n * big}"`), "quoted on the wire");
    assert.equal(second.transferCount, 2, "small integers stay numbers");
  });

  await t.step("seq is <slot>:<12-digit index> and equals data._seq", () => {
    assert.deepEqual(patches.map((f) => f.json.seq), [
      "123456789:000000000042",
      "123456789:000000000043",
    ]);
    for (const f of patches) assert.equal((f.json.data as Entity)._seq, f.json.seq);
  });

  await t.step("a late snapshot carries the same strings", async () => {
    const frames = await framesAfterSubscribe(server, { type: "subscribe", view: LIST });
    const [entity] = snapshotEntities(frames, LIST);
    assert.equal(entity!.data.volume, String(2n * big));
    assert.equal(entity!.data._seq, "123456789:000000000043");
  });

  await t.step("an event without a slot: no seq and no data._seq", async () => {
    const noSlot: PharosEvent = {
      type: "Transfer",
      data: { mint: "whale", from: "a", to: "b", amount: "1" },
    };
    await server.source.emit(noSlot);
    await barrier(client);
    const patch = opsFor(client.frames, LIST, "patch")[2]!;
    assert.ok(!("seq" in patch.json));
    assert.ok(!("_seq" in (patch.json.data as Entity)));
  });
});

Deno.test("§2 unknown view: no frame at all, counted, and the socket keeps working", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: "Token/nope" });
  client.send({ type: "subscribe", view: "Ghost/list", key: "x" });
  client.send({ view: "Nothing" });
  client.send({ type: "subscribe", view: LIST });
  await client.waitFor((f) => f.some((x) => x.json.op === "snapshot"));
  assert.equal(server.telemetry.count("ws.unknownView"), 3);
  await barrier(client); // everything owed so far has arrived
  // Answered in order: a frame for an unknown view would come before these.
  assert.deepEqual(
    client.frames.filter((f) => !isAuthReply(f)).map((f) => f.json.op),
    ["subscribed", "snapshot"],
    "no frame for an unknown view",
  );
  assert.ok(
    client.frames.filter((f) => !isAuthReply(f)).every((f) =>
      (f.json.view ?? f.json.entity) === LIST
    ),
  );
  assert.equal(server.telemetry.count("ws.connectionError"), 0, "not counted as an error");
});

Deno.test("§4 state view: every live patch for the key is delivered", async () => {
  await using server = await startTestServer();
  await server.source.emit(transfer("mintA", 1));
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: STATE, key: "mintA" });
  client.send({ type: "subscribe", view: LIST, key: "mintA" });
  client.send({ type: "subscribe", view: APPEND, key: "mintA" });
  await barrier(client);
  const snapshot = snapshotEntities(client.frames, STATE);
  assert.deepEqual(snapshot.map((e) => e.key), ["mintA"], "snapshot: the one cached entity");

  // 50 quick events for the key, interleaved with other keys, applied as one batch.
  const events: PharosEvent[] = [];
  for (let i = 0; i < 50; i++) events.push(transfer("mintA", 10 + i, 1), transfer("mintB", 10 + i));
  await server.source.emit(...events);
  await client.waitFor((f) => opsFor(f, STATE, "patch").length >= 50, 5000, "50 state patches");
  await barrier(client);

  const patches = opsFor(client.frames, STATE, "patch");
  assert.equal(patches.length, 50, "one patch per event, none lost or merged away");
  for (const f of patches) {
    assert.deepEqual([f.json.mode, f.json.entity, f.json.key], ["state", STATE, "mintA"]);
  }
  assert.deepEqual(
    patches.map((f) => (f.json.data as Entity).transferCount),
    Array.from({ length: 50 }, (_, i) => i + 2),
  );
  assert.equal(opsFor(client.frames, LIST, "patch").length, 50, "the key filter applies");
  assert.ok(opsFor(client.frames, LIST, "patch").every((f) => f.json.mode === "list"));
  assert.ok(opsFor(client.frames, APPEND, "patch").every((f) => f.json.mode === "append"));
  assert.equal(opsFor(client.frames, APPEND, "patch").length, 50);

  // Applying the patches to the snapshot gives what a late subscriber sees.
  let state = structuredClone(snapshot[0]!.data);
  for (const f of patches) {
    const data = f.json.data as Entity;
    state = {
      ...state,
      ...data,
      recentTransfers: [
        ...(state.recentTransfers as unknown[]),
        ...(data.recentTransfers as unknown[]),
      ],
    };
  }
  const late = await framesAfterSubscribe(server, {
    type: "subscribe",
    view: STATE,
    key: "mintA",
  });
  assert.deepEqual(state, snapshotEntities(late, STATE)[0]!.data);
});

Deno.test("§4 view cache: an LRU of the configured size, eviction silent on the wire", async () => {
  await using server = await startTestServer({ env: { PHAROS_VIEW_CACHE_SIZE: "3" } });
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: LIST });
  await barrier(client);
  await server.source.emit(...["m1", "m2", "m3", "m4", "m5"].map((m, i) => transfer(m, i + 1)));
  await barrier(client);
  assert.deepEqual(
    framesFor(client.frames, LIST).map((f) => [f.json.op, f.json.key]),
    [["subscribed", undefined], ...["m1", "m2", "m3", "m4", "m5"].map((m) => ["patch", m])],
    "one patch per event and nothing else",
  );
  assert.equal(server.telemetry.count("projector.viewCacheEviction"), 2);
  assert.deepEqual(await snapshotKeys(server, {}), ["m5", "m4", "m3"]);
});
