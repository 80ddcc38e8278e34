import assert from "node:assert/strict";
import { decodeFrame } from "../../tests/fakes/memory_transport.ts";
import type { SnapshotEntity, ViewInfo } from "../bus/mod.ts";
import {
  encodeErrorFrame,
  encodeSnapshotBatches,
  encodeSubscribedFrame,
  maybeGzip,
  parseClientMessage,
  ProtocolError,
} from "./mod.ts";

/** Asserts that decoding `text` throws a ProtocolError of `kind`, optionally matching `message`. */
function rejects(text: string, kind: string, message?: RegExp): void {
  assert.throws(() => parseClientMessage(text), (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected ProtocolError for ${text}`);
    assert.equal(error.name, "ProtocolError");
    assert.equal(error.kind, kind, text);
    if (message) assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseClientMessage", async (t) => {
  await t.step("subscribe with every field", () => {
    assert.deepEqual(
      parseClientMessage(JSON.stringify({
        type: "subscribe",
        view: "Token/list",
        key: "mintA",
        take: 10,
        skip: 2,
        withSnapshot: false,
        after: "100:000000000001",
        snapshotLimit: 5,
      })),
      {
        type: "subscribe",
        view: "Token/list",
        key: "mintA",
        take: 10,
        skip: 2,
        withSnapshot: false,
        after: "100:000000000001",
        snapshotLimit: 5,
      },
    );
  });

  await t.step("unknown fields such as partition and filters are ignored; null is absent", () => {
    assert.deepEqual(
      parseClientMessage(
        '{"type":"subscribe","view":"Token/list","partition":"p1","filters":{"a":1},"key":null}',
      ),
      { type: "subscribe", view: "Token/list" },
    );
  });

  await t.step("the legacy bare {view} object is a subscribe", () => {
    assert.deepEqual(parseClientMessage('{"view":"Token/state","key":"k"}'), {
      type: "subscribe",
      view: "Token/state",
      key: "k",
    });
  });

  await t.step("unsubscribe, ping and refresh_auth", () => {
    assert.deepEqual(parseClientMessage('{"type":"unsubscribe","view":"Token/list"}'), {
      type: "unsubscribe",
      view: "Token/list",
    });
    assert.deepEqual(parseClientMessage('{"type":"unsubscribe","view":"Token/state","key":"k"}'), {
      type: "unsubscribe",
      view: "Token/state",
      key: "k",
    });
    assert.deepEqual(parseClientMessage('{"type":"ping"}'), { type: "ping" });
    assert.deepEqual(parseClientMessage('{"type":"refresh_auth","token":"abc"}'), {
      type: "refresh_auth",
      token: "abc",
    });
  });

  await t.step("text that is not a JSON object is rejected", () => {
    rejects("{not json", "invalid-json");
    rejects("[1,2]", "invalid-message");
    rejects("null", "invalid-message");
    rejects('"subscribe"', "invalid-message");
  });

  await t.step("wrong field types name the field", () => {
    rejects('{"type":"subscribe","view":42}', "invalid-field", /field "view"/);
    rejects('{"type":"subscribe"}', "invalid-field", /field "view" is missing/);
    rejects('{"type":"subscribe","view":""}', "invalid-field", /field "view"/);
    rejects('{"type":"subscribe","view":"T/list","key":7}', "invalid-field", /field "key"/);
    rejects('{"type":"subscribe","view":"T/list","take":-1}', "invalid-field", /field "take"/);
    rejects('{"type":"subscribe","view":"T/list","take":1.5}', "invalid-field", /field "take"/);
    rejects('{"type":"subscribe","view":"T/list","skip":"2"}', "invalid-field", /field "skip"/);
    rejects('{"type":"subscribe","view":"T/list","take":100001}', "invalid-field", /"take"/);
    rejects(
      '{"type":"subscribe","view":"T/list","withSnapshot":"yes"}',
      "invalid-field",
      /field "withSnapshot" must be a boolean/,
    );
    rejects(
      '{"type":"subscribe","view":"T/list","snapshotLimit":true}',
      "invalid-field",
      /field "snapshotLimit"/,
    );
    rejects('{"type":"refresh_auth"}', "invalid-field", /field "token" is missing/);
    rejects('{"type":"refresh_auth","token":1}', "invalid-field", /field "token"/);
  });

  await t.step("views and keys containing ':' are rejected", () => {
    rejects('{"type":"subscribe","view":"Token:list"}', "invalid-field", /field "view"/);
    rejects('{"type":"subscribe","view":"Token/list","key":"a:b"}', "invalid-field", /"key"/);
    rejects('{"type":"unsubscribe","view":"a:b"}', "invalid-field", /field "view"/);
  });

  await t.step("a bad after cursor is rejected", () => {
    rejects('{"type":"subscribe","view":"T/list","after":"123"}', "invalid-field", /"after"/);
    rejects('{"type":"subscribe","view":"T/list","after":"1:42"}', "invalid-field", /"after"/);
    rejects('{"type":"subscribe","view":"T/list","after":123}', "invalid-field", /"after"/);
  });

  await t.step("an unknown or missing type is rejected", () => {
    rejects('{"type":"hello"}', "unknown-type", /unknown type "hello"/);
    rejects("{}", "unknown-type");
  });
});

const listInfo: ViewInfo = {
  id: "Token/list",
  entity: "Token",
  mode: "list",
  kind: "list",
  sort: { field: ["_seq"], order: "desc" },
};
const stateInfo: ViewInfo = { id: "Token/state", entity: "Token", mode: "state", kind: "state" };

const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

Deno.test("encodeSubscribedFrame carries sort only when the view has one", () => {
  assert.equal(
    new TextDecoder().decode(encodeSubscribedFrame(listInfo)),
    '{"op":"subscribed","view":"Token/list","mode":"list","sort":{"field":["_seq"],"order":"desc"}}',
  );
  assert.equal(
    new TextDecoder().decode(encodeSubscribedFrame(stateInfo)),
    '{"op":"subscribed","view":"Token/state","mode":"state"}',
  );
});

Deno.test("encodeSnapshotBatches", async (t) => {
  const entities = (n: number): SnapshotEntity[] =>
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, data: { i } }));

  await t.step("120 entities: a batch of 50, then one of 70 marked complete", () => {
    const batches = encodeSnapshotBatches(listInfo, entities(120)).map(decode);
    assert.equal(batches.length, 2);
    assert.deepEqual(batches.map((b) => b.data.length), [50, 70]);
    assert.deepEqual(batches.map((b) => b.complete), [false, true]);
    assert.equal(batches[1].data[0].key, "k50");
    assert.deepEqual(Object.keys(batches[0]), ["mode", "entity", "op", "data", "complete"]);
    assert.equal(batches[0].entity, "Token/list");
    assert.equal(batches[0].op, "snapshot");
  });

  await t.step("later batches hold up to 100", () => {
    const batches = encodeSnapshotBatches(listInfo, entities(251)).map(decode);
    assert.deepEqual(batches.map((b) => b.data.length), [50, 100, 100, 1]);
    assert.deepEqual(batches.map((b) => b.complete), [false, false, false, true]);
  });

  await t.step("a single small snapshot is one complete batch, exact text", () => {
    const [batch] = encodeSnapshotBatches(stateInfo, [{ key: "a", data: { n: 1 } }]);
    assert.equal(
      new TextDecoder().decode(batch),
      '{"mode":"state","entity":"Token/state","op":"snapshot","data":[{"key":"a","data":{"n":1}}],"complete":true}',
    );
  });

  await t.step("no entities gives no batch", () => {
    assert.deepEqual(encodeSnapshotBatches(listInfo, []), []);
  });
});

Deno.test("maybeGzip", async (t) => {
  const isGzip = (bytes: Uint8Array) => bytes[0] === 0x1f && bytes[1] === 0x8b;

  await t.step("leaves data under 1024 bytes unchanged", async () => {
    const small = new TextEncoder().encode("x".repeat(1023));
    assert.equal(await maybeGzip(small), small);
  });

  await t.step("gzips compressible data of 1024 bytes or more, and it round-trips", async () => {
    const text = JSON.stringify({ data: "abc".repeat(400) });
    const bytes = new TextEncoder().encode(text);
    assert.ok(bytes.length >= 1024);
    const gz = await maybeGzip(bytes);
    assert.ok(isGzip(gz));
    assert.ok(gz.length < bytes.length);
    const decoded = await decodeFrame(gz);
    assert.equal(decoded.gzip, true);
    assert.equal(JSON.stringify(decoded.json), text);
  });

  await t.step("exactly 1024 compressible bytes are gzipped", async () => {
    assert.ok(isGzip(await maybeGzip(new Uint8Array(1024).fill(65))));
  });

  await t.step("incompressible data stays plain", async () => {
    const random = crypto.getRandomValues(new Uint8Array(2048));
    random[0] = 0x7b; // not the gzip magic, so "plain" is unambiguous
    assert.equal(await maybeGzip(random), random);
  });
});

Deno.test("encodeErrorFrame has the in-session error shape", () => {
  const text = encodeErrorFrame({
    code: "subscription-limit-exceeded",
    message: "At most 2 subscriptions per connection",
    retryable: false,
    fatal: false,
  });
  assert.equal(
    text,
    '{"type":"error","error":"subscription-limit-exceeded","message":"At most 2 subscriptions per connection","code":"subscription-limit-exceeded","retryable":false,"fatal":false}',
  );
});
