/**
 * The cluster bench's fault runs: an instance SIGKILLed, Redis stopped and started, the
 * lease holder SIGKILLed mid-replay, each while a producer posts; then the survivors' state
 * says which acknowledged events were applied, and how often.
 * @module
 */
import type { RedisServer } from "../tests/fakes/redis_server.ts";
import { startRedis } from "../tests/fakes/redis_server.ts";
import {
  holdsLease,
  readyOf,
  round,
  settle,
  sleep,
  snapshotOf,
  statusOf,
  waitFor,
} from "./cluster_probe.ts";
import { BUCKETS, type ProducerCounts, startProducer } from "./cluster_producer.ts";
import { type ServerChild, type ServerSpec, startServer } from "./processes.ts";
import type { BenchSettings } from "./scenarios.ts";

/** How long after a kill the producer stops sending to the dead instance. */
const HEALTH_CHECK_MS = 1_000;

/** What the surviving instance's state said about one producer's events. */
export interface LedgerCheck {
  readonly instance: string;
  /** Acknowledged (or, for the replay, in the file) and not in the state. */
  readonly lost: number;
  /** Applications beyond the first, over every event. */
  readonly applied_twice: number;
  /** In the state but never acknowledged (sent, then given up): neither lost nor twice. */
  readonly applied_unacknowledged: number;
}

/** One fault run. */
export interface FaultRun extends ProducerCounts {
  readonly fault: "instance-killed" | "redis-restarted" | "lease-handover";
  /** Per surviving instance: the producer's events. */
  readonly ingest: readonly LedgerCheck[];
  /** Lease handover: the replay file's events on the survivor. */
  readonly replay?: {
    readonly events: number;
    readonly replayed_before_kill: number;
    readonly checks: readonly LedgerCheck[];
  };
  /**
   * Fault → recovered: the killed instance's POSTs answered elsewhere (kill), every
   * instance's `/ready` 200 again after Redis started (Redis), the survivor holding the
   * lease (handover).
   */
  readonly recovery_ms: number | undefined;
  readonly recovery: string;
  /** POSTs to the killed instance (kill, handover) or to any instance (Redis) unanswered at the fault. */
  readonly in_flight_at_fault: number;
}

/** Pharos as an instance named `id` on `redis`. */
export type InstanceSpec = (redis: RedisServer, id: string) => ServerSpec;

/** (a) Two instances; the one not holding the lease is SIGKILLed mid-stream. */
export async function faultKill(
  settings: BenchSettings,
  instance: InstanceSpec,
): Promise<FaultRun> {
  await using redis = await startRedis({ appendonly: true });
  await using a = await startServer(instance(redis, "a"));
  await readyOf(a);
  await holdsLease(a);
  await using b = await startServer(instance(redis, "b"));
  await readyOf(b);
  const live = [a, b];
  const producer = startProducer(settings, () => live);
  await sleep(settings.clusterFaultAtMs);
  const killed = await killMidPost(b, producer, live);
  await sleep(settings.clusterFaultSeconds * 1000 - settings.clusterFaultAtMs);
  const produced = await producer.stop();
  await settle([a]);
  return {
    fault: "instance-killed",
    ...produced.counts,
    ingest: [await checkLedger(a, "a", "i", produced.acked)],
    // Nothing to wait for on the cluster's side: the survivor answered throughout; the
    // producer's retries are bounded by its own health check (HEALTH_CHECK_MS).
    recovery_ms: undefined,
    recovery:
      `every POST that failed on the killed instance was sent again; it left the rotation after ${HEALTH_CHECK_MS} ms`,
    in_flight_at_fault: killed.inFlight,
  };
}

/** (b) Two instances; Redis (appendonly yes) stopped, then started on the same port. */
export async function faultRedis(
  settings: BenchSettings,
  instance: InstanceSpec,
): Promise<FaultRun> {
  await using redis = await startRedis({ appendonly: true });
  await using a = await startServer(instance(redis, "a"));
  await readyOf(a);
  await using b = await startServer(instance(redis, "b"));
  await readyOf(b);
  const live = [a, b];
  const producer = startProducer(settings, () => live);
  await sleep(settings.clusterFaultAtMs);
  const inFlight = await whenInFlight(() =>
    live.reduce((n, s) => n + producer.inFlightTo(s.port), 0)
  );
  await redis.stop();
  await sleep(settings.clusterRedisDownMs);
  await redis.start();
  const startedAt = performance.now();
  await Promise.all(live.map((server) => readyOf(server, 30_000)));
  const recoveredAt = performance.now();
  const rest = settings.clusterFaultSeconds * 1000 - settings.clusterFaultAtMs -
    settings.clusterRedisDownMs - (recoveredAt - startedAt);
  await sleep(Math.max(0, rest));
  const produced = await producer.stop();
  await settle(live);
  return {
    fault: "redis-restarted",
    ...produced.counts,
    ingest: [
      await checkLedger(a, "a", "i", produced.acked),
      await checkLedger(b, "b", "i", produced.acked),
    ],
    recovery_ms: round(recoveredAt - startedAt),
    recovery: `Redis started (after ${settings.clusterRedisDownMs} ms down) → every /ready 200`,
    in_flight_at_fault: inFlight,
  };
}

/**
 * (c) Two instances running ingest and a replay file (a singleton source); the holder,
 * replaying, is SIGKILLed while ingest goes on; the other takes the lease and resumes the
 * file after the log's cursor.
 */
export async function faultLease(
  settings: BenchSettings,
  instance: (redis: RedisServer, id: string, env: Record<string, string>) => ServerSpec,
): Promise<FaultRun> {
  const file = await Deno.makeTempFile({ prefix: "pharos-bench-replay-", suffix: ".ndjson" });
  try {
    const count = settings.clusterReplayEvents;
    const start = Date.now();
    const lines = Array.from({ length: count }, (_, i) =>
      JSON.stringify({
        type: "Mark",
        slot: i + 1,
        index: 0,
        timestamp: start + Math.round((i * 1000) / settings.clusterReplayRate),
        data: { bucket: `b${i % BUCKETS}`, id: `r${i + 1}:0` },
      }));
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const env = {
      PHAROS_STACK: "bench/cluster_stack.ts",
      PHAROS_SOURCES: "ingest,replay",
      PHAROS_REPLAY_FILE: file,
      PHAROS_REPLAY_PACE: "recorded",
      // The replay reports Disconnected at the file's end: readiness is about the cluster.
      PHAROS_REQUIRED_SOURCES: "ingest",
    };
    await using redis = await startRedis({ appendonly: true });
    await using a = await startServer(instance(redis, "a", env));
    await readyOf(a);
    await holdsLease(a);
    await using b = await startServer(instance(redis, "b", env));
    await readyOf(b);
    const live = [a, b];
    const producer = startProducer(settings, () => live);
    await sleep(settings.clusterFaultAtMs);
    const replayedBefore = (await statusOf(b)).sources.find((s) => s.name === "replay")?.events ??
      NaN;
    const killed = await killMidPost(a, producer, live);
    const killedAt = killed.at;
    await holdsLease(b, settings.clusterLeaseMs * 3);
    const heldAt = performance.now();
    await sleep(Math.max(0, settings.clusterFaultSeconds * 1000 - settings.clusterFaultAtMs));
    const produced = await producer.stop();
    // The file's last lines come at its recorded pace, after a pause for the handover.
    const replayMs = (count * 1000) / settings.clusterReplayRate;
    await waitFor(
      async () =>
        (await statusOf(b)).sources.some((s) => s.name === "replay" && s.status === "Disconnected"),
      "the replay to reach the file's end on the new holder",
      replayMs + settings.clusterLeaseMs * 3 + 10_000,
    );
    await settle([b]);
    const replayIds = new Set(Array.from({ length: count }, (_, i) => `r${i + 1}:0`));
    return {
      fault: "lease-handover",
      ...produced.counts,
      ingest: [await checkLedger(b, "b", "i", produced.acked)],
      replay: {
        events: count,
        replayed_before_kill: replayedBefore,
        checks: [await checkLedger(b, "b", "r", replayIds)],
      },
      recovery_ms: round(heldAt - killedAt),
      in_flight_at_fault: killed.inFlight,
      recovery:
        `SIGKILL of the holder → the survivor holds the lease (lease ${settings.clusterLeaseMs} ms)`,
    };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/**
 * SIGKILLs `server` while a POST to it is in flight (so some events may be in the log
 * unacknowledged), and takes it out of `live` a second later, as a balancer's health check
 * would; until then POSTs to it fail and go to the next instance. Returns when it was
 * killed and how many POSTs to it were unanswered then.
 */
async function killMidPost(
  server: ServerChild,
  producer: { inFlightTo(port: number): number },
  live: ServerChild[],
): Promise<{ at: number; inFlight: number }> {
  const inFlight = await whenInFlight(() => producer.inFlightTo(server.port));
  const at = performance.now();
  Deno.kill(server.pid, "SIGKILL");
  setTimeout(() => live.splice(live.indexOf(server), 1), HEALTH_CHECK_MS);
  return { at, inFlight };
}

/** Waits (2 s at most) until `count()` of POSTs are unanswered; returns it. */
async function whenInFlight(count: () => number): Promise<number> {
  const deadline = performance.now() + 2_000;
  while (count() === 0 && performance.now() < deadline) await sleep(0);
  return count();
}

/** Compares the `Bucket/list` state of `server` with the ids starting with `prefix` expected. */
async function checkLedger(
  server: ServerChild,
  name: string,
  prefix: string,
  expected: ReadonlySet<string>,
): Promise<LedgerCheck> {
  const buckets = await snapshotOf(server.port, "Bucket/list");
  const applied = new Map<string, number>();
  for (const bucket of buckets.values()) {
    for (const [id, times] of Object.entries((bucket.seen ?? {}) as Record<string, number>)) {
      if (id.startsWith(prefix)) applied.set(id, (applied.get(id) ?? 0) + times);
    }
  }
  let lost = 0;
  let twice = 0;
  let unacknowledged = 0;
  for (const id of expected) if (!applied.has(id)) lost++;
  for (const [id, times] of applied) {
    twice += times - 1;
    if (!expected.has(id)) unacknowledged++;
  }
  return { instance: name, lost, applied_twice: twice, applied_unacknowledged: unacknowledged };
}
