import assert from "node:assert/strict";
import { getLogger } from "../../src/log/mod.ts";
import { createUpstreamSource } from "../../src/sources/mod.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { transfer } from "../fakes/manual_source.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { UpstreamFeed } from "../fakes/upstream_feed.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until } from "../wait.ts";

const HEARTBEAT_MS = 500;

async function getJson(url: string): Promise<[number, Record<string, unknown>]> {
  const response = await fetch(url);
  return [response.status, await response.json()];
}

/** A transfer of mintA at `slot` (10…15), amount 2^(slot − 10): the volume says which were applied. */
const tx = (slot: number) => transfer("mintA", slot, 2 ** (slot - 10), { index: 0 });

Deno.test("a dead upstream turns /ready off; its return resumes from the cursor", async () => {
  await using feed = new UpstreamFeed();
  // Readiness and the reconnect backoff run on a fake clock: the outage lasts exactly as long
  // as the test moves it on. The sockets are real.
  const clock = new FakeClock(Date.now());
  const upstream = createUpstreamSource({
    url: feed.url,
    token: "upstream-token",
    subscribe: JSON.stringify({ type: "subscribe", from: "{{cursor}}" }),
    clock,
    log: getLogger(["pharos", "sources", "upstream"]),
    backoff: { initialMs: 20, maxMs: 100 },
  });
  // The test server always adds a ManualSource "manual"; it never gets events here, so it
  // would go stale after 2 × heartbeat: only the upstream gates readiness.
  await using server = await startTestServer({
    clock,
    extraSources: [upstream],
    env: { PHAROS_REQUIRED_SOURCES: "upstream", PHAROS_HEARTBEAT_MS: String(HEARTBEAT_MS) },
  });
  const upstreamEntry = async () => {
    const [, status] = await getJson(`${server.httpUrl}/status`);
    const entry = (status.sources as Record<string, unknown>[]).find((s) => s.name === "upstream");
    return { status, entry: entry! };
  };

  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));

  await until(() => feed.subscribes.length === 1, "the upstream subscription");
  assert.equal(feed.requests[0]?.get("authorization"), "Bearer upstream-token");
  assert.deepEqual(feed.subscribes[0], { type: "subscribe" });
  feed.publish(tx(10), tx(11), tx(12));
  await until(
    () => server.app.vm.state("Token", "mintA")?.transferCount === 3,
    "the first three events",
  );
  const [ready] = await getJson(`${server.httpUrl}/ready`);
  assert.equal(ready, 200);
  {
    const { status, entry } = await upstreamEntry();
    assert.equal(status.status, "Connected");
    assert.deepEqual([entry.kind, entry.required, entry.status, entry.healthy, entry.events], [
      "upstream",
      true,
      "Connected",
      true,
      3,
    ]);
  }

  // The upstream dies. Reconnecting counts as healthy for 2 × heartbeat, then not.
  await feed.kill();
  await until(
    () => server.app.health.get("upstream")?.status().kind === "Reconnecting",
    "reconnecting",
  );
  clock.advance(2 * HEARTBEAT_MS);
  assert.deepEqual(
    await getJson(`${server.httpUrl}/ready`),
    [200, { ready: true }],
    "a brief outage (2 × heartbeat) does not flap readiness",
  );
  clock.advance(1);
  assert.deepEqual(await getJson(`${server.httpUrl}/ready`), [503, { ready: false }]);
  {
    const { status, entry } = await upstreamEntry();
    assert.equal(status.status, "Reconnecting");
    assert.equal(status.healthy, false);
    assert.deepEqual([entry.status, entry.healthy], ["Reconnecting", false]);
  }

  // Meanwhile the upstream got two more events; it comes back on the same port.
  feed.log.push(tx(13), tx(14));
  feed.revive();
  // The next attempt is due within the backoff's longest wait (100 ms).
  await until(() => {
    clock.advance(100);
    return feed.subscribes.length === 2;
  }, "the resubscription");
  assert.deepEqual(feed.subscribes[1], { type: "subscribe", from: "12:000000000000" });
  await until(
    () => server.app.vm.state("Token", "mintA")?.transferCount === 5,
    "the replayed events",
  );
  const [restored] = await getJson(`${server.httpUrl}/ready`);
  assert.equal(restored, 200);
  assert.equal((await upstreamEntry()).status.status, "Connected");
  feed.publish(tx(15));
  await until(() => server.app.vm.state("Token", "mintA")?.transferCount === 6, "the live event");

  // Replayed from 12 inclusive, yet each event applied exactly once, in order.
  const state = server.app.vm.state("Token", "mintA")!;
  const applied = (state.recentTransfers as { slot: number }[]).map((t) => t.slot);
  assert.deepEqual(applied, [10, 11, 12, 13, 14, 15]);
  assert.equal(state.volume, 63n);
  assert.equal(upstream.cursor(), "15:000000000000");
  assert.equal(upstream.duplicateEvents, 1);

  // The subscriber saw the same: one patch per event, none repeated, none missing.
  const frames = await client.waitFor((f) =>
    f.some((frame) => frame.json.seq === "15:000000000000")
  );
  const seqs = frames.filter((f) => typeof f.json.seq === "string").map((f) => f.json.seq);
  assert.deepEqual(seqs, [10, 11, 12, 13, 14, 15].map((slot) => `${slot}:000000000000`));
});
