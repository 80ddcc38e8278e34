import assert from "node:assert/strict";
import { errorBody } from "../fakes/error_response.ts";
import { defineStack, type PharosEvent } from "../../src/stack/mod.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until } from "../wait.ts";
import { startEnvServer } from "../fakes/test_server.ts";

const TOKEN = "integration-ingest-token";
const ENV = {
  PHAROS_SOURCES: "ingest",
  PHAROS_INGEST_TOKEN: TOKEN,
  PHAROS_INGEST_MAX_BYTES: "4096",
};

function transfer(mint: string, slot: number, amount = "1"): PharosEvent {
  return { type: "Transfer", slot, data: { mint, from: "alice", to: "bob", amount } };
}

const ndjson = (...lines: unknown[]) =>
  lines.map((line) => typeof line === "string" ? line : JSON.stringify(line)).join("\n");

function post(url: string, body: BodyInit, headers: HeadersInit = {}): Promise<Response> {
  return fetch(`${url}/ingest`, {
    method: "POST",
    body,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/x-ndjson",
      ...Object.fromEntries(new Headers(headers)),
    },
  });
}

Deno.test("ingest over HTTP", async (t) => {
  await using server = await startEnvServer(ENV);
  const state = (mint: string) => server.app.vm.state("Token", mint);

  await t.step("without the token: 401 JSON, nothing applied", async () => {
    const response = await fetch(`${server.httpUrl}/ingest`, {
      method: "POST",
      body: ndjson(transfer("mintA", 1)),
    });
    const body = await errorBody(response, 401, "token-missing");
    assert.equal(body.retryable, false);
    await errorBody(
      await post(server.httpUrl, ndjson(transfer("mintA", 1)), { authorization: "Bearer nope" }),
      401,
      "invalid-static-token",
    );
    assert.equal(state("mintA"), undefined);
  });

  await t.step("with the token: events reach a subscribed WebSocket client", async () => {
    await using client = await TestClient.connect(server.wsUrl);
    client.send({ type: "subscribe", view: "Token/list" });
    await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));
    const response = await post(
      server.httpUrl,
      ndjson(transfer("mintA", 100, "5"), transfer("mintB", 101, "7")),
    );
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { accepted: 2, rejected: 0, errors: [] });
    const frames = await client.waitFor(
      (all) => ["mintA", "mintB"].every((key) => all.some((f) => f.json.key === key)),
      5000,
      "frames for both mints",
    );
    const mintA = frames.find((f) => f.json.key === "mintA")!;
    // Small volumes go on the wire as numbers (only past 2^53 as decimal strings).
    assert.equal((mintA.json.data as Record<string, unknown>).volume, 5);
  });

  await t.step("good and bad lines: 202 with line errors, the good lines applied", async () => {
    const response = await post(
      server.httpUrl,
      ndjson(transfer("mintC", 200, "3"), "{oops", { type: "Transfer" }, transfer("mintC", 201)),
    );
    assert.equal(response.status, 202);
    const body = await response.json();
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected, 2);
    assert.deepEqual(body.errors.map((e: { line: number }) => e.line), [2, 3]);
    await until(() => state("mintC")?.transferCount === 2, "mintC's two transfers");
    assert.equal(state("mintC")?.volume, 4n);
  });

  await t.step("oversized: 413 payload-too-large, nothing applied", async () => {
    const lines = Array.from({ length: 100 }, (_, i) => transfer("mintBig", 300 + i));
    await errorBody(await post(server.httpUrl, ndjson(...lines)), 413, "payload-too-large");
    // Streamed without a Content-Length: cut off at the limit all the same.
    const bytes = new TextEncoder().encode(ndjson(...lines));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000));
        controller.close();
      },
    });
    const response = await fetch(`${server.httpUrl}/ingest`, {
      method: "POST",
      body: stream,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await errorBody(response, 413, "payload-too-large");
    assert.equal(state("mintBig"), undefined);
  });

  await t.step("other methods: 405 with Allow: POST", async () => {
    const response = await fetch(`${server.httpUrl}/ingest`, {
      method: "PUT",
      body: "x",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await errorBody(response, 405, "method-not-allowed");
    assert.equal(response.headers.get("allow"), "POST");
  });
});

Deno.test("ingest: a pipeline held full answers 503 with Retry-After", async () => {
  // A stack whose handler waits for the test, so the pipeline fills up and stays full.
  let release: (() => void) | undefined;
  let held = 0;
  const stack = defineStack({
    name: "held",
    entities: {
      Item: {
        handlers: {
          Put: async (_state, event) => {
            if (event.data.hold === true) {
              held++;
              await new Promise<void>((resolve) => release = resolve);
            }
            return { n: event.data.n };
          },
        },
      },
    },
  });
  const put = (key: string, n: number, hold = false) => ({ type: "Put", key, data: { n, hold } });
  await using server = await startEnvServer({
    ...ENV,
    PHAROS_PIPELINE_CAPACITY: "2",
    PHAROS_HANDLER_TIMEOUT_MS: "60000",
  }, stack);
  try {
    assert.equal((await post(server.httpUrl, ndjson(put("a", 1, true)))).status, 202);
    await until(() => held === 1, "the handler to hold the pipeline");
    // Two more fill the queue behind the held event; a third has no room.
    assert.equal((await post(server.httpUrl, ndjson(put("b", 2), put("c", 3)))).status, 202);
    const response = await post(server.httpUrl, ndjson(put("d", 4), put("e", 5)));
    const body = await errorBody(response, 503, "pipeline-full");
    assert.equal(response.headers.get("retry-after"), "1");
    assert.equal(body.retryable, true);
    assert.equal(body.retry_after, 1);
    // The WebSocket path says the same on the socket.
    await using socket = await TestClient.connect(`${server.wsUrl}/ingest?token=${TOKEN}`);
    socket.send([put("f", 6)]);
    const [reply] = await socket.waitFor((frames) => frames.length > 0);
    assert.deepEqual(reply!.json, {
      type: "ingest-error",
      error: "pipeline-full",
      accepted: 0,
      retry_after: 1,
    });

    release!();
    await until(() => server.app.vm.state("Item", "c") !== undefined, "the queue to drain");
    assert.equal((await post(server.httpUrl, ndjson(put("d", 4)))).status, 202);
    await until(() => server.app.vm.state("Item", "d") !== undefined, "d");
    // Nothing of the refused batch or message was applied.
    assert.equal(server.app.vm.state("Item", "e"), undefined);
    assert.equal(server.app.vm.state("Item", "f"), undefined);
  } finally {
    release?.();
  }
});

Deno.test("ingest over WebSocket", async (t) => {
  await using server = await startEnvServer(ENV);
  const state = (mint: string) => server.app.vm.state("Token", mint);

  await t.step("a wrong or missing token is refused before the upgrade", async () => {
    for (const url of [`${server.wsUrl}/ingest`, `${server.wsUrl}/ingest?token=nope`]) {
      const client = new TestClient(url);
      await assert.rejects(client.opened);
      await client.closed;
    }
  });

  await t.step("messages apply; per-message errors come back on the socket", async () => {
    await using subscriber = await TestClient.connect(server.wsUrl);
    subscriber.send({ type: "subscribe", view: "Token/list" });
    await subscriber.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));

    await using producer = await TestClient.connect(
      `${server.wsUrl}/ingest?token=${encodeURIComponent(TOKEN)}`,
    );
    producer.send(transfer("wsA", 500, "2"));
    producer.send([transfer("wsA", 501, "3"), { type: "Transfer" }, transfer("wsB", 502)]);
    producer.send("not json");
    const replies = await producer.waitFor((frames) => frames.length >= 2);
    assert.equal(replies[0]!.json.type, "ingest-error");
    assert.equal(replies[0]!.json.accepted, 2);
    assert.deepEqual((replies[0]!.json.errors as { index: number }[]).map((e) => e.index), [1]);
    assert.equal(replies[1]!.json.accepted, 0);
    await subscriber.waitFor(
      (frames) => frames.some((f) => f.json.key === "wsB"),
      5000,
      "the wsB frame",
    );
    await until(() => state("wsA")?.transferCount === 2, "both wsA transfers");
    assert.equal(state("wsA")?.volume, 5n);
  });

  await t.step("a message over the limit closes the socket with 1009", async () => {
    await using producer = await TestClient.connect(`${server.wsUrl}/ingest?token=${TOKEN}`);
    producer.send(transfer("x".repeat(5000), 600));
    const closed = await producer.closed;
    assert.equal(closed.code, 1009);
  });

  await t.step("shutdown closes ingest sockets with 1001", async () => {
    const producer = await TestClient.connect(`${server.wsUrl}/ingest?token=${TOKEN}`);
    await server.app.shutdown();
    const closed = await producer.closed;
    assert.equal(closed.code, 1001);
    await producer[Symbol.asyncDispose]();
  });
});
