/**
 * The cluster bench's bootstrap run: a fresh instance timed from spawn to `/ready` 200 over a
 * checkpoint and a long tail of the log.
 * @module
 */
import type { RedisServer } from "../tests/fakes/redis_server.ts";
import { startRedis } from "../tests/fakes/redis_server.ts";
import {
  holdsLease,
  readyCode,
  readyOf,
  round,
  sleep,
  snapshotOf,
  statusOf,
  waitFor,
} from "./cluster_probe.ts";
import { transferBody } from "./load_common.ts";
import {
  freePort,
  serverArgs,
  type ServerChild,
  type ServerSpec,
  startServer,
} from "./processes.ts";
import { BENCH_TOKEN, type BenchSettings, endpointsOf } from "./scenarios.ts";

const ROOT = new URL("../", import.meta.url);
/** The demo stack's Redis keys under the default prefix (`{prefix}:{stack}:…`). */
const DEMO_CHECKPOINT_KEY = "pharos:tokens:checkpoint";

/** The fresh-instance bootstrap. */
export interface BootstrapRun {
  readonly checkpoint_n: number;
  readonly tail_events: number;
  /** Spawn of the process → first `/ready` 200. */
  readonly ready_ms: number;
  /** The fresh instance's applied offset, and whether its state counts every event. */
  readonly applied: number;
  readonly state_matches: boolean;
}

/**
 * A checkpoint after `clusterCheckpointEvents`, then `clusterTailEvents` with no checkpoint
 * after them, then a fresh instance timed from spawn to `/ready` 200. The instance writing
 * checkpoints (every second) is SIGKILLed once its checkpoint covers the first part; the
 * tail goes through an instance whose checkpoint interval is a day, so none is written
 * after it (the fresh instance's is a day too).
 */
export async function runBootstrap(
  settings: BenchSettings,
  instance: (redis: RedisServer, id: string, env?: Record<string, string>) => ServerSpec,
): Promise<BootstrapRun> {
  const keys = settings.clusterBootstrapKeys;
  const never = { PHAROS_CLUSTER_CHECKPOINT_MS: "86400000" };
  await using redis = await startRedis();
  await using writer = await startServer(
    instance(redis, "checkpointer", { PHAROS_CLUSTER_CHECKPOINT_MS: "1000" }),
  );
  await readyOf(writer);
  await holdsLease(writer);
  await using tail = await startServer(instance(redis, "tail", never));
  await readyOf(tail);
  const first = settings.clusterCheckpointEvents;
  await fill(writer, 1, first, keys);
  await waitFor(
    async () => Number(await redis.cli("HGET", DEMO_CHECKPOINT_KEY, "n")) === first,
    `a checkpoint at offset ${first}`,
    15_000,
  );
  Deno.kill(writer.pid, "SIGKILL");
  await fill(tail, first + 1, settings.clusterTailEvents, keys);
  const total = first + settings.clusterTailEvents;
  await waitFor(
    async () => (await statusOf(tail)).cluster.log.applied === total,
    `the tail instance to apply ${total} events`,
    60_000,
  );
  const checkpointN = Number(await redis.cli("HGET", DEMO_CHECKPOINT_KEY, "n"));

  const fresh = instance(redis, "fresh", never);
  const port = freePort();
  const startedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: serverArgs(fresh, port),
    cwd: ROOT,
    env: { NO_COLOR: "1", PORT: String(port), PHAROS_HOST: "127.0.0.1", ...fresh.env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    let readyAt: number | undefined;
    const deadline = startedAt + 60_000;
    while (readyAt === undefined && performance.now() < deadline) {
      if ((await readyCode(port)) === 200) readyAt = performance.now();
      else await sleep(2);
    }
    if (readyAt === undefined) throw new Error("the fresh instance never answered /ready 200");
    const applied = (await statusOf({ port })).cluster.log.applied;
    const tokens = await snapshotOf(port, "Token/list");
    const counted = [...tokens.values()].reduce(
      (sum, token) => sum + Number(token.transferCount ?? 0),
      0,
    );
    return {
      checkpoint_n: checkpointN,
      tail_events: total - checkpointN,
      ready_ms: round(readyAt - startedAt),
      applied,
      state_matches: applied === total && tokens.size === keys && counted === total,
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

/** Posts `count` demo transfers from `slot` on, 500 a POST, at most 4 in flight. */
async function fill(server: ServerChild, slot: number, count: number, keys: number) {
  const batch = 500;
  const inFlight = new Set<Promise<void>>();
  for (let from = slot; from < slot + count; from += batch) {
    const body = transferBody(from, Math.min(slot + count, from + batch), keys);
    const post = postUntilAccepted(server, body).finally(() => inFlight.delete(post));
    inFlight.add(post);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** POSTs `body` until it is answered 202, waiting as a 503's `Retry-After` says. */
async function postUntilAccepted(server: ServerChild, body: Uint8Array<ArrayBuffer>) {
  for (;;) {
    const response = await fetch(endpointsOf(server.port).ingestUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/x-ndjson" },
      body,
    });
    await response.body?.cancel();
    if (response.status === 202) return;
    if (response.status !== 503) throw new Error(`ingest answered ${response.status}`);
    await sleep(Number(response.headers.get("retry-after") ?? 1) * 1000);
  }
}
