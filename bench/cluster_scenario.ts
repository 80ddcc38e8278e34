/**
 * The cluster scenario (issue 15): Pharos instances on one real `redis-server`
 * (tests/fakes/redis_server.ts), each a `main.ts` process like every other bench server.
 *
 * - Latency: the event scenario's fixed-rate phase (stamp before the POST, read at a raw
 *   subscriber) at `clusterFixedRate`, posting to instance A while the subscriber is on
 *   instance B, against the same phase on one standalone server.
 * - Throughput: the event scenario's one-subscriber saturation phase against one instance
 *   in cluster mode and against a standalone server.
 * - Faults: a producer posts `Mark` events of the ledger stack (bench/cluster_stack.ts),
 *   each with its own slot and index, round-robin over the live instances, retrying every
 *   event until it is acknowledged (after a 503 as `Retry-After` says, after a failed
 *   connection on the next instance), while an instance is SIGKILLed, Redis (appendonly)
 *   is stopped and started on its port, or the lease holder replaying a file is SIGKILLed.
 *   Then the surviving instances' state says which events were applied, and how often.
 * - Bootstrap: a checkpoint written after `clusterCheckpointEvents` events, then
 *   `clusterTailEvents` more with no checkpoint after them; a fresh instance is timed from
 *   spawn to its first `/ready` 200.
 * @module
 */
import { type RedisServer, startRedis } from "../tests/fakes/redis_server.ts";
import { type BootstrapRun, runBootstrap } from "./cluster_bootstrap.ts";
import { faultKill, faultLease, faultRedis, type FaultRun } from "./cluster_faults.ts";
import { readyOf } from "./cluster_probe.ts";
import type { EventPhaseResult } from "./event_load.ts";
import { eventPhases } from "./event_scenario.ts";
import type { EventPhase, EventsPlan } from "./plan.ts";
import {
  createPhaseCpu,
  type ServerChild,
  type ServerSpec,
  startLoad,
  startServer,
} from "./processes.ts";
import type { BenchSettings } from "./scenarios.ts";
import { endpointsOf } from "./scenarios.ts";

/** One load-generator run of the event scenario's phases against cluster or standalone servers. */
export interface ClusterEventsRun {
  readonly target: string;
  /** Where the events were posted and where the subscriber read them. */
  readonly ingest_at: string;
  readonly subscriber_at: string;
  readonly phases: Readonly<Record<string, EventPhaseResult>>;
  /** Each server's CPU during each phase, % of one core. */
  readonly server_cpu_pct: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Every other process (Redis included), % of one core, per phase. */
  readonly others_cpu_pct: Readonly<Record<string, number>>;
}

/** Everything the cluster scenario measured. */
export interface ClusterResult {
  readonly fixed_rate: number;
  readonly standalone: ClusterEventsRun;
  readonly cluster_one: ClusterEventsRun;
  readonly cluster_ab: ClusterEventsRun;
  readonly faults: readonly FaultRun[];
  readonly bootstrap: BootstrapRun;
}

/** Runs the whole cluster scenario with Pharos as `spec` describes it. */
export async function runCluster(
  spec: ServerSpec,
  settings: BenchSettings,
  progress: (text: string) => void,
): Promise<ClusterResult> {
  const [saturate, fixed] = eventPhases(settings) as [EventPhase, EventPhase];
  const phases: EventPhase[] = [saturate, {
    ...fixed,
    rate: settings.clusterFixedRate,
  } as EventPhase];
  const withCluster = (redis: RedisServer, id: string, env: Record<string, string> = {}) => ({
    ...spec,
    env: {
      ...spec.env,
      PHAROS_REDIS_URL: redis.url,
      PHAROS_INSTANCE_ID: id,
      PHAROS_CLUSTER_LEASE_MS: String(settings.clusterLeaseMs),
      ...env,
    },
  });

  progress("cluster: standalone (event phases)");
  let standalone: ClusterEventsRun;
  {
    await using server = await startServer(spec);
    standalone = await runEventPlan("standalone", settings, phases, { a: server }, "a", "a");
  }
  progress("cluster: one instance on Redis (event phases)");
  let clusterOne: ClusterEventsRun;
  {
    await using redis = await startRedis();
    await using a = await startServer(withCluster(redis, "a"));
    await readyOf(a);
    clusterOne = await runEventPlan("cluster-one", settings, phases, { a }, "a", "a");
  }
  progress("cluster: A → B (event phases, ingest at A, subscriber at B)");
  let clusterAb: ClusterEventsRun;
  {
    await using redis = await startRedis();
    await using a = await startServer(withCluster(redis, "a"));
    await readyOf(a);
    await using b = await startServer(withCluster(redis, "b"));
    await readyOf(b);
    clusterAb = await runEventPlan("cluster-a-to-b", settings, phases, { a, b }, "a", "b");
  }

  const ledger = { PHAROS_STACK: "bench/cluster_stack.ts", PHAROS_SOURCES: "ingest" };
  const faults: FaultRun[] = [];
  progress("cluster: faults, an instance SIGKILLed");
  faults.push(await faultKill(settings, (redis, id) => withCluster(redis, id, ledger)));
  progress("cluster: faults, Redis stopped and started");
  faults.push(await faultRedis(settings, (redis, id) => withCluster(redis, id, ledger)));
  progress("cluster: faults, the lease holder SIGKILLed mid-replay");
  faults.push(await faultLease(settings, (redis, id, env) => withCluster(redis, id, env)));

  progress(
    `cluster: bootstrap (checkpoint at ${settings.clusterCheckpointEvents}, tail of ${settings.clusterTailEvents})`,
  );
  const bootstrap = await runBootstrap(settings, withCluster);
  return {
    fixed_rate: settings.clusterFixedRate,
    standalone,
    cluster_one: clusterOne,
    cluster_ab: clusterAb,
    faults,
    bootstrap,
  };
}

/** The event scenario's load generator, posting to `ingestAt` and subscribing at `subscribeAt`. */
async function runEventPlan(
  target: string,
  settings: BenchSettings,
  phases: readonly EventPhase[],
  servers: Readonly<Record<string, ServerChild>>,
  ingestAt: string,
  subscribeAt: string,
): Promise<ClusterEventsRun> {
  const plan: EventsPlan = {
    mode: "events",
    ...endpointsOf(servers[subscribeAt]!.port),
    ingestUrl: endpointsOf(servers[ingestAt]!.port).ingestUrl,
    connectConcurrency: 50,
    keys: settings.eventKeys,
    retryAfterCapMs: 50,
    drainIdleMs: 2000,
    phases,
  };
  const results: Record<string, EventPhaseResult> = {};
  const cpus = Object.entries(servers).map(([name, server]) =>
    [name, createPhaseCpu(server.pid)] as const
  );
  await using load = startLoad(plan, (line) => {
    for (const [, cpu] of cpus) cpu.onLine(line);
    if (line.event === "phase-end") {
      const result = line.result as EventPhaseResult;
      results[result.phase] = result;
    }
  });
  await load.done;
  const missing = phases.filter((phase) => results[phase.name] === undefined);
  if (missing.length > 0) {
    throw new Error(`${target}: the load generator did not finish ${missing.map((p) => p.name)}`);
  }
  const serverCpu: Record<string, Record<string, number>> = {};
  for (const [name, cpu] of cpus) serverCpu[name] = await cpu.result();
  const machine = await cpus[0]![1].machine();
  const others: Record<string, number> = {};
  for (const phase of phases) {
    const servers = Object.values(serverCpu).reduce((sum, cpu) => sum + (cpu[phase.name] ?? 0), 0);
    others[phase.name] = Math.max(
      0,
      (machine[phase.name] ?? NaN) - servers - results[phase.name]!.loadgen_cpu_pct,
    );
  }
  return {
    target,
    ingest_at: ingestAt,
    subscriber_at: subscribeAt,
    phases: results,
    server_cpu_pct: serverCpu,
    others_cpu_pct: others,
  };
}
