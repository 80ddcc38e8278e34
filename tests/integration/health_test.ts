import assert from "node:assert/strict";
import { defineStack, type PharosEvent } from "../../src/stack/mod.ts";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { delay } from "../fakes/ws_client.ts";

/** A stack whose handler keeps the thread busy ~0.2 ms per event, like real work. */
const busyStack = defineStack({
  name: "load",
  entities: {
    Doc: {
      handlers: {
        Put: (_state, event) => {
          const until = performance.now() + 0.2;
          while (performance.now() < until) { /* work */ }
          return { n: event.data.n };
        },
      },
    },
  },
});

const put = (n: number): PharosEvent => ({ type: "Put", key: `k${n % 50}`, data: { n } });

async function getJson(url: string): Promise<[number, Record<string, unknown>]> {
  const response = await fetch(url);
  return [response.status, await response.json()];
}

Deno.test("/health and /ready answer while a flood of events is being processed", async () => {
  await using server = await startTestServer({
    stack: busyStack,
    env: { PHAROS_PIPELINE_CAPACITY: "100000" },
  });
  // ~1 s of handler work, queued at once.
  assert.ok(server.app.intake.offer("manual", Array.from({ length: 5000 }, (_, i) => put(i))));
  await delay(20);
  const [health] = await getJson(`${server.httpUrl}/health`);
  const [ready, body] = await getJson(`${server.httpUrl}/ready`);
  const [, status] = await getJson(`${server.httpUrl}/status`);
  const pending = server.app.intake.pending;
  assert.deepEqual([health, ready, body], [200, 200, { ready: true }]);
  assert.ok(pending > 0, "the routes answered before the flood was processed");
  assert.equal((status.pipeline as { capacity: number }).capacity, 100000);
  // A tight producer that awaits each event must not starve the routes either.
  const producer = (async () => {
    for (let i = 0; i < 3000; i++) await server.source.emit(put(i));
  })();
  await delay(20);
  const [again] = await getJson(`${server.httpUrl}/ready`);
  assert.equal(again, 200);
  let finished = false;
  await Promise.race([producer.then(() => finished = true), delay(0)]);
  assert.equal(finished, false, "/ready answered while the producer was still running");
  await producer;
});

Deno.test("a silent source turns /ready 503 after 2 × heartbeat; an event restores it", async () => {
  await using server = await startTestServer({ env: { PHAROS_HEARTBEAT_MS: "100" } });
  await server.source.emit(transfer("mintA", 1));
  const [fresh] = await getJson(`${server.httpUrl}/ready`);
  assert.equal(fresh, 200);
  await delay(260);
  const [stale, body] = await getJson(`${server.httpUrl}/ready`);
  assert.deepEqual([stale, body], [503, { ready: false }]);
  const [, status] = await getJson(`${server.httpUrl}/status`);
  const manual = (status.sources as Record<string, unknown>[])[0]!;
  assert.equal(status.status, "Connected", "stale is not a status change");
  assert.equal(manual.healthy, false);
  assert.ok((manual.last_event_age_ms as number) > 200);
  assert.equal(manual.events, 1);
  await server.source.emit(transfer("mintA", 2));
  const [restored] = await getJson(`${server.httpUrl}/ready`);
  assert.equal(restored, 200);
});

Deno.test("/status reports each source; only required sources gate /ready", async () => {
  const { ManualSource } = await import("../fakes/manual_source.ts");
  const optional = new ManualSource("backfill");
  await using server = await startTestServer({
    env: { PHAROS_REQUIRED_SOURCES: "manual" },
    extraSources: [optional],
  });
  await optional.stop();
  // The optional source reports an error: reported, but /ready stays 200.
  optional.fail("disk unreadable");
  const [ready] = await getJson(`${server.httpUrl}/ready`);
  assert.equal(ready, 200);
  const [, status] = await getJson(`${server.httpUrl}/status`);
  const sources = status.sources as Record<string, unknown>[];
  assert.deepEqual(sources.map((s) => [s.name, s.required, s.status, s.healthy]), [
    ["manual", true, "Connected", true],
    ["backfill", false, "Error", false],
  ]);
  assert.equal(sources[1]!.message, "disk unreadable");
  assert.equal(status.error_count, 1);
  assert.equal(status.status, "Connected");
});
