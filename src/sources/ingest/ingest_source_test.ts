import assert from "node:assert/strict";
import { errorBody } from "../../../tests/fakes/error_response.ts";
import { FakeClock } from "../../../tests/fakes/fake_clock.ts";
import { MemoryTransport } from "../../../tests/fakes/memory_transport.ts";
import { recordLogs } from "../../../tests/fakes/recording_log.ts";
import { getLogger } from "../../log/mod.ts";
import type { PharosEvent } from "../../stack/mod.ts";
import {
  createIngestSource,
  type IngestSourceOptions,
  type SocketEvents,
  type SourceContext,
  type SourceStatus,
} from "../mod.ts";
import { nextTurn } from "../../../tests/wait.ts";

const TOKEN = "s3cret-ingest-token";
const URL_ = "http://127.0.0.1:8877/ingest";
const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

function transfer(mint: string, slot: number, amount = "1"): Record<string, unknown> {
  return { type: "Transfer", slot, data: { mint, from: "alice", to: "bob", amount } };
}

const ndjson = (...lines: unknown[]) =>
  lines.map((line) => typeof line === "string" ? line : JSON.stringify(line)).join("\n");

interface FakeSocket {
  readonly request: Request;
  readonly events: SocketEvents;
  readonly transport: MemoryTransport;
}

/** An ingest source over a fake context whose `offer` the test controls. */
async function setup(options: Partial<IngestSourceOptions> = {}) {
  const offered: PharosEvent[][] = [];
  const statuses: [SourceStatus, string | undefined][] = [];
  const pipeline = { full: false, capacity: 1000 };
  const context: SourceContext = {
    sink: () => Promise.reject(new Error("ingest must offer, never wait on the sink")),
    offer(events) {
      if (pipeline.full) return false;
      offered.push([...events]);
      return true;
    },
    get capacity() {
      return pipeline.capacity;
    },
    onStatus: (status, message) => statuses.push([status, message]),
  };
  const sockets: FakeSocket[] = [];
  const source = createIngestSource({
    token: TOKEN,
    maxBodyBytes: 4096,
    clock: new FakeClock(),
    log: getLogger(["pharos", "test"]),
    // Plays Deno.upgradeWebSocket: records the events (a 101 is not constructible).
    upgrade: (request, events) => {
      sockets.push({ request, events, transport: new MemoryTransport() });
      return new Response(null, { status: 200, headers: { "x-fake-upgrade": "yes" } });
    },
    ...options,
  });
  await source.start(context);
  const post = (body: BodyInit | null, headers: HeadersInit = {}) =>
    source.handle(
      new Request(URL_, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${TOKEN}`, ...Object.fromEntries(new Headers(headers)) },
      }),
      "127.0.0.1:50000",
    );
  /** Upgrades with `headers`/`url` and opens the socket; undefined when refused. */
  const connect = async (
    url = URL_,
    headers: HeadersInit = { authorization: `Bearer ${TOKEN}` },
  ) => {
    const response = await source.handle(
      new Request(url, {
        headers: { upgrade: "websocket", ...Object.fromEntries(new Headers(headers)) },
      }),
      "127.0.0.1:50001",
    );
    if (response.headers.get("x-fake-upgrade") !== "yes") return { response, socket: undefined };
    const socket = sockets.at(-1)!;
    socket.events.onOpen(socket.transport);
    return { response, socket };
  };
  return { source, offered, statuses, pipeline, sockets, post, connect };
}

/** Text frames a fake socket was sent, parsed. */
function replies(socket: FakeSocket): Record<string, unknown>[] {
  return socket.transport.sent.map((data) => JSON.parse(String(data)));
}

Deno.test("ingest source: options", async (t) => {
  const base = {
    maxBodyBytes: 1024,
    clock: new FakeClock(),
    log: getLogger(["pharos", "test"]),
    upgrade: () => new Response(null),
  };
  await t.step("an empty token is refused at creation", () => {
    assert.throws(() => createIngestSource({ ...base, token: "" }), TypeError);
  });
  await t.step("maxBodyBytes must be a positive integer", () => {
    assert.throws(() => createIngestSource({ ...base, token: "x", maxBodyBytes: 0 }), RangeError);
    assert.throws(() => createIngestSource({ ...base, token: "x", maxBodyBytes: 1.5 }), RangeError);
  });
  await t.step("name defaults to ingest, kind is ingest", () => {
    const source = createIngestSource({ ...base, token: "x" });
    assert.equal(source.name, "ingest");
    assert.equal(source.kind, "ingest");
    assert.equal(createIngestSource({ ...base, token: "x", name: "feed" }).name, "feed");
  });
});

Deno.test("ingest source: authentication", async (t) => {
  await t.step("no token: 401 token-missing, nothing offered", async () => {
    const { source, offered } = await setup();
    const response = await source.handle(
      new Request(URL_, { method: "POST", body: ndjson(transfer("m", 1)) }),
      "peer",
    );
    const body = await errorBody(response, 401, "token-missing");
    assert.equal(body.retryable, false);
    assert.deepEqual(offered, []);
  });

  await t.step("wrong token: 401 invalid-static-token", async () => {
    const { post, offered } = await setup();
    await errorBody(
      await post(ndjson(transfer("m", 1)), { authorization: "Bearer nope" }),
      401,
      "invalid-static-token",
    );
    // A prefix of the real token is still wrong (no length or prefix shortcut).
    await errorBody(
      await post(ndjson(transfer("m", 1)), { authorization: `Bearer ${TOKEN.slice(0, -1)}` }),
      401,
      "invalid-static-token",
    );
    await errorBody(
      await post(ndjson(transfer("m", 1)), { authorization: `Basic ${btoa(`u:${TOKEN}`)}` }),
      401,
      "invalid-static-token",
    );
    assert.deepEqual(offered, []);
  });

  await t.step("any token value works, even one that reads like a status", async () => {
    for (const token of ["missing", "malformed"]) {
      const { post, offered } = await setup({ token });
      const response = await post(ndjson(transfer("m", 1)), { authorization: `Bearer ${token}` });
      assert.equal(response.status, 202, token);
      assert.equal(offered.length, 1);
    }
  });

  await t.step("the scheme is case-insensitive", async () => {
    const { post, offered } = await setup();
    const response = await post(ndjson(transfer("m", 1)), { authorization: `bearer ${TOKEN}` });
    assert.equal(response.status, 202);
    assert.equal(offered.length, 1);
  });

  await t.step("the query token is for WebSocket upgrades only", async () => {
    const { source } = await setup();
    const response = await source.handle(
      new Request(`${URL_}?token=${TOKEN}`, { method: "POST", body: ndjson(transfer("m", 1)) }),
      "peer",
    );
    await errorBody(response, 401, "token-missing");
  });

  await t.step("the token and Authorization header never reach the logs", async () => {
    await using logs = await recordLogs(["pharos", "test-ingest-auth"]);
    const { post, connect } = await setup({ log: logs.log });
    await post(ndjson(transfer("m", 1)), { authorization: "Bearer wrong-guess-1234" });
    await post(ndjson(transfer("m", 1)));
    await connect(`${URL_}?token=${TOKEN}`, {});
    assert.ok(logs.records.length > 0, "expected something to be logged");
    const text = logs.text();
    assert.ok(!text.includes(TOKEN), text);
    assert.ok(!text.includes("wrong-guess-1234"), text);
    assert.ok(!/authorization/i.test(text), text);
  });
});

Deno.test("ingest source: POST", async (t) => {
  await t.step("NDJSON: every non-empty line is one event, offered at once", async () => {
    const { post, offered } = await setup();
    const body = ndjson(transfer("a", 1), "", "  ", transfer("b", 2)) + "\r\n";
    const response = await post(body);
    assert.equal(response.status, 202);
    assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(await response.json(), { accepted: 2, rejected: 0, errors: [] });
    assert.equal(offered.length, 1, "one offer per request");
    assert.deepEqual(offered[0]!.map((event) => event.data.mint), ["a", "b"]);
  });

  await t.step("a JSON array body: errors carry the index", async () => {
    const { post, offered } = await setup();
    const response = await post(
      `  [${JSON.stringify(transfer("a", 1))}, {"type": ""}, ${JSON.stringify(transfer("b", 2))}]`,
    );
    const body = await response.json();
    assert.equal(response.status, 202);
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected, 1);
    assert.equal(body.errors.length, 1);
    assert.equal(body.errors[0].index, 1);
    assert.match(body.errors[0].error, /field "type"/);
    assert.deepEqual(offered[0]!.map((event) => event.data.mint), ["a", "b"]);
  });

  await t.step("a single object, even over several lines, is one event", async () => {
    const { post, offered } = await setup();
    const response = await post(JSON.stringify(transfer("a", 7), null, 2));
    assert.deepEqual(await response.json(), { accepted: 1, rejected: 0, errors: [] });
    assert.equal(offered[0]![0]!.slot, 7);
  });

  await t.step("good and bad lines: 202, 1-based line errors, the good ones applied", async () => {
    const { post, offered } = await setup();
    const response = await post(
      ndjson(transfer("a", 1), "not json at all", { type: "Transfer" }, "", transfer("b", 2), [1]),
    );
    assert.equal(response.status, 202);
    const body = await response.json();
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected, 3);
    assert.deepEqual(body.errors.map((e: { line: number }) => e.line), [2, 3, 6]);
    assert.match(body.errors[0].error, /^Cannot parse JSON/);
    assert.match(body.errors[1].error, /field "data"/);
    assert.deepEqual(offered[0]!.map((event) => event.data.mint), ["a", "b"]);
  });

  await t.step("only bad lines: 202 with nothing accepted and nothing offered", async () => {
    const { post, offered } = await setup();
    const body = await (await post(ndjson("{", "nope"))).json();
    assert.equal(body.accepted, 0);
    assert.equal(body.rejected, 2);
    assert.deepEqual(offered, []);
  });

  await t.step("the error list stops at 100; rejected counts them all", async () => {
    const { post, offered } = await setup({ maxBodyBytes: 64 * 1024 });
    const lines = Array.from({ length: 150 }, (_, i) => i % 3 === 0 ? transfer("m", i) : "x");
    const body = await (await post(ndjson(...lines))).json();
    assert.equal(body.accepted, 50);
    assert.equal(body.rejected, 100);
    assert.equal(body.errors.length, 100);
    const lines2 = Array.from({ length: 250 }, () => "x");
    const body2 = await (await post(ndjson(...lines2))).json();
    assert.equal(body2.rejected, 250);
    assert.equal(body2.errors.length, 100);
    assert.equal(body2.errors.at(-1).line, 100);
    assert.equal(offered.length, 1);
  });

  await t.step("bad content is never echoed back whole", async () => {
    const { post } = await setup({ maxBodyBytes: 64 * 1024 });
    const secret = "Q".repeat(5000);
    const text = await (await post(ndjson(`{"type": ${secret}}`, `"${secret}"`))).text();
    assert.ok(!text.includes("Q".repeat(300)), `echoed: ${text.length} characters`);
  });

  await t.step("an array body that does not parse: 400 invalid-body", async () => {
    const { post, offered } = await setup();
    const body = await errorBody(
      await post(`[${JSON.stringify(transfer("a", 1))},`),
      400,
      "invalid-body",
    );
    assert.match(String(body.message), /Cannot parse JSON/);
    assert.deepEqual(offered, []);
  });

  await t.step("a body that is not UTF-8: 400 invalid-body", async () => {
    const { post } = await setup();
    await errorBody(await post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), 400, "invalid-body");
  });

  await t.step("an empty body: 202 with nothing accepted", async () => {
    const { post, offered } = await setup();
    assert.deepEqual(await (await post(null)).json(), { accepted: 0, rejected: 0, errors: [] });
    assert.deepEqual(offered, []);
  });

  await t.step("traceparent: attached to events that carry none", async () => {
    const { post, offered } = await setup();
    const own = "00-11111111111111111111111111111111-2222222222222222-01";
    await post(ndjson(transfer("a", 1), { ...transfer("b", 2), traceparent: own }), {
      traceparent: TRACEPARENT,
    });
    assert.deepEqual(offered[0]!.map((event) => event.traceparent), [TRACEPARENT, own]);
    await post(ndjson(transfer("c", 3)), { traceparent: "not-a-traceparent" });
    assert.equal(offered[1]![0]!.traceparent, undefined);
  });

  await t.step("pipeline full: 503 pipeline-full with Retry-After, nothing applied", async () => {
    const { post, offered, pipeline } = await setup();
    pipeline.full = true;
    const response = await post(ndjson(transfer("a", 1), transfer("b", 2)));
    const body = await errorBody(response, 503, "pipeline-full");
    assert.equal(response.headers.get("retry-after"), "1");
    assert.equal(body.retryable, true);
    assert.equal(body.retry_after, 1);
    assert.deepEqual(offered, []);
    pipeline.full = false;
    assert.equal((await post(ndjson(transfer("a", 1)))).status, 202);
  });

  await t.step(
    "a batch bigger than the whole pipeline: 413, not a retry that cannot work",
    async () => {
      const { post, offered, pipeline, connect } = await setup();
      pipeline.capacity = 2;
      const response = await post(ndjson(transfer("a", 1), transfer("b", 2), transfer("c", 3)));
      const body = await errorBody(response, 413, "batch-too-large");
      assert.equal(body.retryable, false);
      assert.match(String(body.message), /3 events is more than the pipeline holds \(2\)/);
      assert.equal(response.headers.get("retry-after"), null);
      const { socket } = await connect();
      socket!.events.onMessage(
        JSON.stringify([transfer("a", 1), transfer("b", 2), transfer("c", 3)]),
      );
      const reply = JSON.parse(socket!.transport.sent.at(-1) as string);
      assert.deepEqual([reply.type, reply.error, reply.accepted], [
        "ingest-error",
        "batch-too-large",
        0,
      ]);
      assert.deepEqual(offered, []);
    },
  );

  await t.step("other methods: 405 with Allow: POST", async () => {
    const { source } = await setup();
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await source.handle(
        new Request(URL_, { method, headers: { authorization: `Bearer ${TOKEN}` } }),
        "peer",
      );
      await errorBody(response, 405, "method-not-allowed");
      assert.equal(response.headers.get("allow"), "POST");
    }
  });
});

Deno.test("ingest source: body limit", async (t) => {
  await t.step("Content-Length over the limit: 413 before reading anything", async () => {
    const { source, offered } = await setup({ maxBodyBytes: 100 });
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(50));
      },
    });
    const response = await source.handle(
      new Request(URL_, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${TOKEN}`, "content-length": "101" },
      }),
      "peer",
    );
    const json = await errorBody(response, 413, "payload-too-large");
    assert.equal(json.retryable, false);
    assert.ok(pulled <= 1, `read ${pulled} chunks`);
    assert.deepEqual(offered, []);
  });

  await t.step("no length: reading stops one chunk past the limit", async () => {
    const { source } = await setup({ maxBodyBytes: 100 });
    let pulled = 0;
    const line = new TextEncoder().encode(JSON.stringify(transfer("a", 1)) + "\n");
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(line);
      },
    });
    const response = await source.handle(
      new Request(URL_, {
        method: "POST",
        body: endless,
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
      "peer",
    );
    await errorBody(response, 413, "payload-too-large");
    assert.ok(pulled * line.length <= 100 + 3 * line.length, `pulled ${pulled} chunks`);
  });

  await t.step("exactly the limit is fine", async () => {
    const { post, offered } = await setup({ maxBodyBytes: 100 });
    const event = JSON.stringify(transfer("a", 1));
    const body = event + " ".repeat(100 - new TextEncoder().encode(event).length);
    assert.equal((await post(body)).status, 202);
    assert.equal((await post(body + " ")).status, 413);
    assert.equal(offered.length, 1);
  });
});

Deno.test("ingest source: status and stop", async (t) => {
  await t.step("connected on start, disconnected on stop; 503 after stop", async () => {
    const { source, statuses, post, offered } = await setup();
    assert.deepEqual(statuses, [["connected", undefined]]);
    await source.stop();
    assert.deepEqual(statuses.map(([status]) => status), ["connected", "disconnected"]);
    const body = await errorBody(await post(ndjson(transfer("a", 1))), 503, "ingest-unavailable");
    assert.equal(body.retryable, true);
    assert.deepEqual(offered, []);
  });

  await t.step("a request whose body arrives after stop is not applied", async () => {
    const { source, offered } = await setup();
    let push: (() => void) | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = () => {
          controller.enqueue(new TextEncoder().encode(JSON.stringify(transfer("a", 1))));
          controller.close();
        };
      },
    });
    const pending = source.handle(
      new Request(URL_, { method: "POST", body, headers: { authorization: `Bearer ${TOKEN}` } }),
      "peer",
    );
    await nextTurn();
    await source.stop();
    push!();
    assert.equal((await pending).status, 503);
    assert.deepEqual(offered, []);
  });
});

Deno.test("ingest source: WebSocket", async (t) => {
  await t.step("refusals are HTTP answers, never an upgrade", async () => {
    const { connect, sockets } = await setup();
    const missing = await connect(URL_, {});
    await errorBody(missing.response, 401, "token-missing");
    const wrong = await connect(`${URL_}?token=nope`, {});
    await errorBody(wrong.response, 401, "invalid-static-token");
    assert.equal(sockets.length, 0);
  });

  await t.step("the token may come as a query parameter or a header", async () => {
    const { connect } = await setup();
    assert.ok((await connect(`${URL_}?token=${encodeURIComponent(TOKEN)}`, {})).socket);
    assert.ok((await connect()).socket);
  });

  await t.step("a message is one event or an array; good ones need no answer", async () => {
    const { connect, offered } = await setup();
    const { socket } = await connect();
    socket!.events.onMessage(JSON.stringify(transfer("a", 1)));
    socket!.events.onMessage(JSON.stringify([transfer("b", 2), transfer("c", 3)]));
    assert.deepEqual(offered.map((batch) => batch.map((event) => event.data.mint)), [
      ["a"],
      ["b", "c"],
    ]);
    assert.deepEqual(socket!.transport.sent, []);
  });

  await t.step("per-message errors are answered on the socket; the good ones applied", async () => {
    const { connect, offered } = await setup();
    const { socket } = await connect();
    socket!.events.onMessage(JSON.stringify([transfer("a", 1), { type: "X" }, transfer("b", 2)]));
    socket!.events.onMessage("{ nope");
    const [first, second] = replies(socket!);
    assert.equal(first!.type, "ingest-error");
    assert.equal(first!.accepted, 2);
    assert.deepEqual((first!.errors as { index: number }[]).map((e) => e.index), [1]);
    assert.equal(second!.accepted, 0);
    assert.match((second!.errors as { error: string }[])[0]!.error, /^Cannot parse JSON/);
    assert.deepEqual(offered.map((batch) => batch.length), [2]);
    assert.equal(socket!.transport.closedWith, undefined, "errors keep the socket open");
  });

  await t.step("binary messages are read as UTF-8 text", async () => {
    const { connect, offered } = await setup();
    const { socket } = await connect();
    const bytes = new TextEncoder().encode(JSON.stringify(transfer("bin", 1)));
    socket!.events.onMessage(bytes.buffer);
    assert.equal(offered[0]![0]!.data.mint, "bin");
    socket!.events.onMessage(new Uint8Array([0xff]).buffer);
    assert.equal(replies(socket!)[0]!.type, "ingest-error");
  });

  await t.step("pipeline full: pipeline-full answer, nothing of the message applied", async () => {
    const { connect, offered, pipeline } = await setup();
    const { socket } = await connect();
    pipeline.full = true;
    socket!.events.onMessage(JSON.stringify([transfer("a", 1), transfer("b", 2)]));
    assert.deepEqual(replies(socket!), [
      { type: "ingest-error", error: "pipeline-full", accepted: 0, retry_after: 1 },
    ]);
    assert.deepEqual(offered, []);
  });

  await t.step("a message over maxBodyBytes closes the socket with 1009", async () => {
    const { connect, offered } = await setup({ maxBodyBytes: 200 });
    const { socket } = await connect();
    socket!.events.onMessage(JSON.stringify(transfer("x".repeat(300), 1)));
    assert.equal(socket!.transport.closedWith?.code, 1009);
    // Multi-byte text: 100 characters, 300 bytes.
    const second = (await connect()).socket!;
    second.events.onMessage(JSON.stringify(transfer("€".repeat(100), 1)));
    assert.equal(second.transport.closedWith?.code, 1009);
    const third = (await connect()).socket!;
    third.events.onMessage(new Uint8Array(201).buffer);
    assert.equal(third.transport.closedWith?.code, 1009);
    assert.deepEqual(offered, []);
  });

  await t.step("stop closes ingest sockets with 1001 and ignores late messages", async () => {
    const { source, connect, offered } = await setup();
    const { socket } = await connect();
    await source.stop();
    assert.equal(socket!.transport.closedWith?.code, 1001);
    socket!.events.onMessage(JSON.stringify(transfer("late", 1)));
    assert.deepEqual(offered, []);
  });

  await t.step("a closed socket is forgotten: stop does not close it again", async () => {
    const { source, connect } = await setup();
    const { socket } = await connect();
    socket!.events.onClose(1000, "bye");
    await source.stop();
    assert.equal(socket!.transport.closedWith, undefined);
  });

  await t.step("an upgrade the adapter refuses: 400 invalid-upgrade", async () => {
    const { source } = await setup({
      upgrade: () => {
        throw new TypeError("Invalid Header: 'sec-websocket-key' header must be set");
      },
    });
    const response = await source.handle(
      new Request(URL_, { headers: { upgrade: "websocket", authorization: `Bearer ${TOKEN}` } }),
      "peer",
    );
    await errorBody(response, 400, "invalid-upgrade");
  });
});
