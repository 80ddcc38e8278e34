import assert from "node:assert/strict";
import { defineStack, type PharosEvent } from "../../src/stack/mod.ts";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { within } from "../wait.ts";

/** Whether {@link busyStack}'s handler works; the flood test turns it off once it is done. */
const work = { busy: true };

/** A stack whose handler keeps the thread busy ~0.2 ms per event, like real work. */
const busyStack = defineStack({
  name: "load",
  entities: {
    Doc: {
      handlers: {
        Put: (_state, event) => {
          const end = performance.now() + 0.2;
          while (work.busy && performance.now() < end) { /* work */ }
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
  // ~10 s of handler work, queued at once: far more than the routes may take to answer.
  const flood = Array.from({ length: 50_000 }, (_, i) => put(i));
  assert.ok(server.app.intake.offer("manual", flood));
  try {
    // Each answer comes while the flood is still being processed.
    const health = await getJson(`${server.httpUrl}/health`);
    assert.ok(server.app.intake.pending > 0, "/health answered during the flood");
    const [ready, body] = await getJson(`${server.httpUrl}/ready`);
    assert.ok(server.app.intake.pending > 0, "/ready answered during the flood");
    const [, status] = await getJson(`${server.httpUrl}/status`);
    assert.ok(server.app.intake.pending > 0, "/status answered during the flood");
    assert.deepEqual([health[0], ready, body], [200, 200, { ready: true }]);
    assert.equal((status.pipeline as { capacity: number }).capacity, 100000);
  } finally {
    work.busy = false; // the rest of the flood goes through at once
  }
  await server.app.intake.idle();
  work.busy = true;

  // A tight producer that awaits each event must not starve the routes either: it goes on
  // until /ready has answered.
  let answered = false;
  let emitted = 0;
  const producer = (async () => {
    while (!answered) await server.source.emit(put(emitted++));
  })();
  try {
    const [again] = await within(
      10_000,
      "/ready beside a tight producer",
      getJson(`${server.httpUrl}/ready`),
    );
    assert.equal(again, 200);
  } finally {
    answered = true;
    await producer;
  }
  assert.ok(emitted > 0, "the producer ran while /ready was asked");
});

Deno.test("a silent source turns /ready 503 after 2 × heartbeat; an event restores it", async () => {
  const clock = new FakeClock(Date.now());
  await using server = await startTestServer({ clock, env: { PHAROS_HEARTBEAT_MS: "1000" } });
  await server.source.emit(transfer("mintA", 1));
  assert.deepEqual(await getJson(`${server.httpUrl}/ready`), [200, { ready: true }]);
  clock.advance(2_000); // silent for exactly 2 × heartbeat: not stale yet
  assert.deepEqual(await getJson(`${server.httpUrl}/ready`), [200, { ready: true }]);
  clock.advance(1);
  const [stale, body] = await getJson(`${server.httpUrl}/ready`);
  assert.deepEqual([stale, body], [503, { ready: false }]);
  const [, status] = await getJson(`${server.httpUrl}/status`);
  const manual = (status.sources as Record<string, unknown>[])[0]!;
  assert.equal(status.status, "Connected", "stale is not a status change");
  assert.equal(manual.healthy, false);
  assert.equal(manual.last_event_age_ms, 2_001);
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
