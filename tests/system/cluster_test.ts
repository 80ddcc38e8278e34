/**
 * Cluster mode on a real redis-server (Debian's `redis-server`; `.ci/run` installs it):
 * instances are real `main.ts` processes, their clients real WebSockets, their producers
 * real HTTP POSTs. Covers cross-instance delivery with two and three instances, the same
 * state and `_seq` everywhere, de-duplication by position, a SIGKILLed lease holder, a
 * fresh instance bootstrapping from a checkpoint, Redis stopped and restarted, and a
 * flushed log (a new epoch, and full snapshots for clients).
 */
import assert from "node:assert/strict";
import { ingest, startInstance } from "../fakes/cluster_instance.ts";
import { until } from "../wait.ts";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { startRedis } from "../fakes/redis_server.ts";
import { startStallingProxy } from "../fakes/stalling_proxy.ts";
import { UpstreamFeed } from "../fakes/upstream_feed.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { countOf, MINTS, settled, snapshotOf, transfer, transfers } from "./_cluster.ts";
import { CLUSTER_METRICS } from "./_cluster_metrics.ts";

Deno.test("cluster: two instances share one log; a client of B sees what A ingested", async () => {
  await using redis = await startRedis();
  await using a = await startInstance({ id: "a", redisUrl: redis.url });
  await using b = await startInstance({ id: "b", redisUrl: redis.url });
  await Promise.all([a.ready(), b.ready()]);

  await using client = await TestClient.connect(`ws://127.0.0.1:${b.port}/`);
  client.send({ type: "subscribe", view: "Token/state", key: "MintA" });
  await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));

  const sent = await ingest(a, [transfer("MintA", 100, 0)]);
  assert.equal(sent.status, 202);
  const [patch] = await client.waitFor(
    (frames) => frames.some((f) => f.json.op === "patch"),
    5_000,
    "the patch on B",
  ).then((frames) => frames.filter((f) => f.json.op === "patch"));
  assert.equal(patch!.json.seq, "100:000000000000");
  assert.equal((patch!.json.data as Record<string, unknown>).transferCount, 1);

  // The same position again, through either instance: appended once only.
  assert.equal((await ingest(b, [transfer("MintA", 100, 0)])).status, 202);
  assert.equal(
    (await ingest(a, [transfer("MintA", 100, 0), transfer("MintA", 100, 1)])).status,
    202,
  );
  await settled([a, b], 2);
  const [onA, onB] = [await snapshotOf(a), await snapshotOf(b)];
  assert.equal(countOf(onA, "MintA"), 2, "a repeated position is not applied twice");
  assert.deepEqual(onA, onB, "both instances hold the same state, _seq included");

  const [statusA, statusB] = [await a.status(), await b.status()];
  assert.equal(statusA.cluster.epoch, statusB.cluster.epoch);
  assert.equal(statusA.cluster.redis, "up");
  assert.equal(
    [statusA, statusB].filter((status) => status.cluster.lease.held).length,
    1,
    "exactly one instance holds the lease",
  );
  assert.equal(statusA.cluster.lease.holder, statusB.cluster.lease.holder);

  const metrics = await (await fetch(`${a.url}/metrics`)).text();
  for (const name of CLUSTER_METRICS) {
    assert.match(metrics, new RegExp(`^${name} `, "m"), `${name} on a cluster instance's /metrics`);
  }
  assert.match(metrics, /^cluster_redis_up 1$/m);
  assert.match(metrics, /^cluster_log_lag_events 0$/m);
});

Deno.test("cluster: three instances, producers on each, hold the same state", async () => {
  await using redis = await startRedis();
  await using a = await startInstance({ id: "a", redisUrl: redis.url });
  await using b = await startInstance({ id: "b", redisUrl: redis.url });
  await using c = await startInstance({ id: "c", redisUrl: redis.url });
  const instances = [a, b, c];
  await Promise.all(instances.map((instance) => instance.ready()));
  // Interleaved producers: each instance appends its own batches, all in one order.
  await Promise.all(instances.map(async (instance, i) => {
    for (let batch = 0; batch < 10; batch++) {
      const events = transfers(1000 + i * 100 + batch, 8);
      assert.equal((await ingest(instance, events)).status, 202);
    }
  }));
  await settled(instances, 240);
  const views = await Promise.all(instances.map(snapshotOf));
  assert.equal(views[0]!.size, MINTS.length);
  for (const mint of MINTS) assert.equal(countOf(views[0]!, mint), 60, mint);
  assert.deepEqual(views[1], views[0]);
  assert.deepEqual(views[2], views[0]);
});

Deno.test("cluster: the lease holder SIGKILLed: another takes over, _seq never repeats", async () => {
  await using redis = await startRedis();
  const env = { PHAROS_DEMO_RATE: "40", PHAROS_DEMO_KEYS: "4" };
  await using a = await startInstance({
    id: "a",
    redisUrl: redis.url,
    sources: "demo,ingest",
    env,
  });
  await using b = await startInstance({
    id: "b",
    redisUrl: redis.url,
    sources: "demo,ingest",
    env,
  });
  await Promise.all([a.ready(), b.ready()]);
  let holder = "";
  await until(
    async () => {
      holder = (await a.status()).cluster.lease.holder ?? "";
      return holder !== "";
    },
    "a lease holder",
    10_000,
  );
  const [victim, survivor] = holder === "a" ? [a, b] : [b, a];

  await using client = await TestClient.connect(`ws://127.0.0.1:${survivor.port}/`);
  client.send({ type: "subscribe", view: "Token/list", withSnapshot: false });
  await client.waitFor((frames) => frames.filter((f) => f.json.op === "patch").length >= 10);
  await victim.kill();
  const killedAt = Date.now();
  await until(
    async () => (await survivor.status()).cluster.lease.held,
    "the survivor to take the lease",
    5_000,
  );
  const tookOverMs = Date.now() - killedAt;
  assert.ok(tookOverMs < 1500 + 1000, `taken over in ${tookOverMs} ms (lease 1500 ms)`);
  const before = client.frames.filter((f) => f.json.op === "patch").length;
  await client.waitFor(
    (frames) => frames.filter((f) => f.json.op === "patch").length >= before + 20,
    5_000,
    "demo events from the new holder",
  );
  const seqs = client.frames.filter((f) => f.json.op === "patch").map((f) => String(f.json.seq));
  assert.equal(new Set(seqs).size, seqs.length, "no _seq delivered twice across the handover");
  const status = await survivor.status();
  assert.equal(status.sources.find((s) => s.name === "demo")?.status, "Connected");
});

Deno.test("cluster: a holder shut down gracefully gives the lease up at once; every instance names the new holder", async () => {
  await using redis = await startRedis();
  const env = { PHAROS_CLUSTER_LEASE_MS: "20000", PHAROS_DEMO_RATE: "20" };
  await using a = await startInstance({ id: "a", redisUrl: redis.url, sources: "demo", env });
  await a.ready();
  await until(async () => (await a.status()).cluster.lease.held, "a holds the lease", 10_000);
  await using b = await startInstance({ id: "b", redisUrl: redis.url, sources: "demo", env });
  await using c = await startInstance({ id: "c", redisUrl: redis.url, sources: "demo", env });
  await Promise.all([b.ready(), c.ready()]);
  for (const instance of [a, b, c]) {
    const { lease } = (await instance.status()).cluster;
    assert.deepEqual([lease.holder, lease.holder_known], ["a", true], "every instance names a");
  }
  a.process.child.kill("SIGTERM");
  const stoppedAt = Date.now();
  assert.equal((await a.process.exited).code, 0);
  // Well inside the 20 s lease: the lease was released, not left to expire.
  let next = "";
  await until(
    async () => {
      const held = await Promise.all(
        [b, c].map(async (i) => (await i.status()).cluster.lease.held),
      );
      next = held[0] ? "b" : held[1] ? "c" : "";
      return next !== "";
    },
    "b or c to take over",
    5_000,
  );
  const tookOverMs = Date.now() - stoppedAt;
  assert.ok(tookOverMs < 3_000, `${next} took over ${tookOverMs} ms after the SIGTERM`);
  // Right after the handover, both instances name the new holder: neither reports the one
  // that left, nor "nobody".
  const after = await Promise.all([b, c].map(async (i) => (await i.status()).cluster.lease));
  assert.deepEqual(after.map((lease) => [lease.holder, lease.holder_known]), [
    [next, true],
    [next, true],
  ]);
  assert.deepEqual(after.map((lease) => lease.held), [next === "b", next === "c"]);
  assert.equal(await redis.cli("GET", "pharos:tokens:lease"), next);
});

Deno.test("cluster: the upstream source moves with the lease and resumes from the log's cursor", async () => {
  await using redis = await startRedis();
  await using feed = new UpstreamFeed();
  const env = {
    PHAROS_UPSTREAM_URL: feed.url,
    PHAROS_UPSTREAM_SUBSCRIBE: '{"type":"subscribe","from":"{{cursor}}"}',
  };
  await using a = await startInstance({ id: "a", redisUrl: redis.url, sources: "upstream", env });
  await using b = await startInstance({ id: "b", redisUrl: redis.url, sources: "upstream", env });
  await Promise.all([a.ready(), b.ready()]);
  await until(() => feed.sockets.size === 1, "the lease holder connected to the upstream", 10_000);
  const holder = (await a.status()).cluster.lease.holder;
  const [victim, survivor] = holder === "a" ? [a, b] : [b, a];
  feed.publish(...transfers(9000, 20));
  await settled([a, b], 20);

  await victim.kill();
  feed.log.push(...transfers(9001, 20)); // published while nobody reads the feed
  await until(() => feed.sockets.size === 1, "the new holder connected", 8_000);
  await settled([survivor], 40);
  // It subscribed from the last event in the log, not from the start of the feed.
  assert.equal(feed.subscribes.at(-1)?.from, "9000:000000000019");
  const view = await snapshotOf(survivor);
  for (const mint of MINTS) assert.equal(countOf(view, mint), 10, `${mint}: each event once`);
});

Deno.test("cluster: a fresh instance loads the checkpoint, replays the tail, holds the same state", async () => {
  await using redis = await startRedis();
  const env = { PHAROS_CLUSTER_CHECKPOINT_MS: "1000" };
  await using a = await startInstance({ id: "a", redisUrl: redis.url, env });
  await a.ready();
  for (let batch = 0; batch < 5; batch++) {
    assert.equal((await ingest(a, transfers(2000 + batch, 40))).status, 202);
  }
  // The epoch's first checkpoint (offset 0) is replaced by the holder's within a second.
  await until(
    async () => Number(await redis.cli("HGET", "pharos:tokens:checkpoint", "n")) === 200,
    "a checkpoint of the 200 events",
    10_000,
  );
  assert.equal((await ingest(a, transfers(3000, 40))).status, 202); // the tail after it
  assert.notEqual((await a.status()).cluster.checkpoint.age_seconds, null);

  await using fresh = await startInstance({ id: "fresh", redisUrl: redis.url, env });
  await fresh.ready();
  await settled([a, fresh], 240);
  const [onA, onFresh] = [await snapshotOf(a), await snapshotOf(fresh)];
  for (const mint of MINTS) assert.equal(countOf(onA, mint), 60, mint);
  assert.deepEqual(onFresh, onA);
  // The log was trimmed behind an earlier checkpoint, never past the newest one.
  const first = await redis.cli("XRANGE", "pharos:tokens:log", "-", "+", "COUNT", "1");
  assert.notEqual(first, "", "the log still holds the tail");
});

Deno.test("cluster: Redis stopped and restarted: /ready follows, ingest 503, nothing acknowledged lost", async () => {
  await using redis = await startRedis({ appendonly: true });
  await using a = await startInstance({ id: "a", redisUrl: redis.url });
  await using b = await startInstance({ id: "b", redisUrl: redis.url });
  await Promise.all([a.ready(), b.ready()]);
  let acknowledged = 0;
  const send = async (slot: number) => {
    const result = await ingest(a, transfers(slot, 4)).catch(() => ({ status: 0, body: {} }));
    if (result.status === 202) acknowledged += 4;
    return result;
  };
  for (let slot = 5000; slot < 5010; slot++) assert.equal((await send(slot)).status, 202);

  await redis.stop();
  const stoppedAt = Date.now();
  await until(
    async () => (await a.readyCode()) === 503 && (await b.readyCode()) === 503,
    "/ready 503",
    3_000,
  );
  const notReadyMs = Date.now() - stoppedAt;
  assert.ok(notReadyMs <= 1500, `/ready turned 503 after ${notReadyMs} ms`);
  const refused = await fetch(`${a.url}/ingest`, {
    method: "POST",
    body: JSON.stringify(transfer("MintA", 6000, 0)),
    headers: { authorization: "Bearer cluster-ingest-token" },
  });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal((await refused.json()).error, "log-unavailable");
  assert.equal((await a.status()).cluster.redis, "down");
  for (const instance of [a, b]) {
    const { lease, instance: name } = (await instance.status()).cluster;
    // Redis cannot be asked: only an instance still holding the lease knows who holds it;
    // the other says it does not know, rather than "nobody".
    const expected = lease.held ? [name, true] : [null, false];
    assert.deepEqual([lease.holder, lease.holder_known], expected, JSON.stringify(lease));
  }

  await redis.start();
  await Promise.all([a.ready(), b.ready()]);
  for (let slot = 5010; slot < 5020; slot++) assert.equal((await send(slot)).status, 202);
  await settled([a, b], acknowledged);
  const [onA, onB] = [await snapshotOf(a), await snapshotOf(b)];
  let applied = 0;
  for (const mint of MINTS) applied += Number(countOf(onA, mint) ?? 0);
  assert.equal(applied, acknowledged, "every acknowledged event applied exactly once");
  assert.deepEqual(onB, onA);
});

Deno.test("cluster: the log flushed: a new epoch, clients reconnect for full snapshots", async () => {
  await using redis = await startRedis();
  await using a = await startInstance({ id: "a", redisUrl: redis.url });
  await using b = await startInstance({ id: "b", redisUrl: redis.url });
  await Promise.all([a.ready(), b.ready()]);
  assert.equal((await ingest(a, transfers(7000, 8))).status, 202);
  await settled([a, b], 8);
  const epoch = (await a.status()).cluster.epoch;
  await using onA = await TestClient.connect(`ws://127.0.0.1:${a.port}/`);
  await using onB = await TestClient.connect(`ws://127.0.0.1:${b.port}/`);
  for (const client of [onA, onB]) client.send({ type: "subscribe", view: "Token/list" });
  await onA.waitFor((frames) => frames.some((f) => f.json.op === "snapshot"));
  await onB.waitFor((frames) => frames.some((f) => f.json.op === "snapshot"));

  await redis.cli("FLUSHALL");
  await until(
    async () => {
      const [sa, sb] = [await a.status(), await b.status()];
      return sa.cluster.epoch !== epoch && sa.cluster.epoch === sb.cluster.epoch;
    },
    "both instances in one new epoch",
    10_000,
  );
  // One instance started the epoch with its state and kept its clients; the other loaded
  // that state, and its clients were told to reconnect (1012) for full snapshots.
  const closed = await Promise.race([
    onA.closed.then((event) => ({ who: "a", event })),
    onB.closed.then((event) => ({ who: "b", event })),
  ]);
  assert.equal(closed.event.code, 1012);
  assert.match(closed.event.reason, /^state-replaced/);
  await Promise.all([a.ready(), b.ready()]);
  const [viewA, viewB] = [await snapshotOf(a), await snapshotOf(b)];
  assert.deepEqual(viewB, viewA, "both serve the state the new epoch started with");
  for (const mint of MINTS) assert.equal(countOf(viewA, mint), 2, mint);

  // The new epoch goes on: appends and cross-instance delivery work again.
  assert.equal((await ingest(b, transfers(8000, 4))).status, 202);
  await settled([a, b]);
  for (const mint of MINTS) assert.equal(countOf(await snapshotOf(a), mint), 3, mint);
  const metrics = await (await fetch(`${a.url}/metrics`)).text();
  const metricsB = await (await fetch(`${b.url}/metrics`)).text();
  const changes = [metrics, metricsB].map((text) =>
    Number(text.match(/^cluster_epoch_changes_total (\d+)/m)?.[1])
  );
  assert.deepEqual(changes, [1, 1], "each instance counted the epoch change once");
});

Deno.test("cluster: a consumer whose connection goes silent is found by the probe and reconnected", async () => {
  await using redis = await startRedis();
  await using proxy = startStallingProxy(redis.port);
  await using a = await startInstance({ id: "a", redisUrl: redis.url });
  await using b = await startInstance({
    id: "b",
    redisUrl: `redis://127.0.0.1:${proxy.port}`,
    env: { PHAROS_LOG: "warn,pharos.ws.server=info" },
  });
  await Promise.all([a.ready(), b.ready()]);
  await using client = await TestClient.connect(`ws://127.0.0.1:${b.port}/`);
  client.send({ type: "subscribe", view: "Token/list", withSnapshot: false });
  await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));

  // B's reader (the connection that sent XREAD) stops receiving; its commands still work.
  assert.equal(proxy.stall(/XREAD/), 1);
  const stalledAt = Date.now();
  assert.equal((await ingest(a, [transfer("MintA", 9500, 0)])).status, 202);
  await client.waitFor(
    (frames) => frames.some((f) => f.json.op === "patch"),
    10_000,
    "the event through B's new reader",
  );
  const recoveredMs = Date.now() - stalledAt;
  assert.ok(recoveredMs >= 2_500, `not a normal delivery (${recoveredMs} ms)`);
  assert.match(b.process.stdout(), /cluster-consumer-stuck|received nothing for 3 s/);
  assert.equal(await b.readyCode(), 200, "the command connection kept working throughout");
});

Deno.test("cluster: one trace runs from the producer through A's append to B's event and frame", async () => {
  await using receiver = await startOtlpReceiver();
  await using redis = await startRedis();
  const otel = (service: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_SERVICE_NAME: service,
  });
  await using a = await startInstance({ id: "a", redisUrl: redis.url, env: otel("pharos-a") });
  await using b = await startInstance({ id: "b", redisUrl: redis.url, env: otel("pharos-b") });
  await Promise.all([a.ready(), b.ready()]);
  await using client = await TestClient.connect(`ws://127.0.0.1:${b.port}/`);
  client.send({ type: "subscribe", view: "Token/list", withSnapshot: false });
  await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));

  const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const producer = "00f067aa0ba902b7";
  const sent = await ingest(a, [transfer("MintT", 9700, 0)], {
    traceparent: `00-${trace}-${producer}-01`,
  });
  assert.equal(sent.status, 202);
  await client.waitFor((frames) => frames.some((f) => f.json.op === "patch"));

  const service = (span: { resource: Record<string, unknown> }) => span.resource["service.name"];
  let spans = receiver.spans();
  await until(
    () => {
      spans = receiver.spans().filter((span) => span.traceId === trace);
      return spans.some((s) => s.name === "projector.publish" && service(s) === "pharos-b") &&
        spans.some((s) => s.name === "cluster.append");
    },
    "A's append and B's publish spans in the producer's trace",
    10_000,
  );
  const append = spans.find((s) => s.name === "cluster.append");
  assert.ok(append, `no cluster.append span; have ${spans.map((s) => s.name)}`);
  assert.equal(service(append), "pharos-a");
  assert.equal(append.kind, "producer");
  const onB = spans.find((s) => s.name === "vm.process_event" && service(s) === "pharos-b");
  assert.ok(onB, "B's event span is in the trace");
  assert.equal(onB.parentSpanId, append.spanId, "B's event continues A's append span");
  const consume = receiver.spans().filter((s) => s.name === "cluster.consume");
  assert.ok(consume.some((s) => service(s) === "pharos-b"), "B recorded its consume span");
});
