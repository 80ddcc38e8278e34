/**
 * The benchmark scenarios: fan-out (fixed rate, then flood, with the health probe during
 * the flood), idle connections, and start-up (event throughput is in event_scenario.ts).
 * Each runs against Pharos and the baseline in the same invocation so the report can
 * divide one by the other.
 * @module
 */
import { openConsole } from "./console_reader.ts";
import type { PhaseResult } from "./load_gen.ts";
import type { FanoutPlan, IdlePlan } from "./plan.ts";
import { type ProbeResult, startProbe } from "./probe.ts";
import {
  createPhaseCpu,
  freePort,
  rssBytes,
  serverArgs,
  type ServerSpec,
  startLoad,
  startServer,
} from "./processes.ts";

/** Sizes and durations of one benchmark run. */
export interface BenchSettings {
  readonly clients: number;
  readonly fixedDeliveriesPerSecond: number;
  readonly fixedSeconds: number;
  readonly floodSeconds: number;
  readonly floodWindow: number;
  readonly floodBatch: number;
  readonly floodMaxPosts: number;
  readonly keys: number;
  readonly idleConnections: number;
  readonly startupRuns: number;
  readonly probeIntervalMs: number;
  /** Fan-out and event-throughput runs per target (interleaved); the report uses medians. */
  readonly repeats: number;
  /** Event throughput: seconds per phase. */
  readonly eventSeconds: number;
  /** Event throughput: events per POST at saturation. */
  readonly eventBatch: number;
  /** Event throughput: POSTs whose events have not reached every subscriber, at most. */
  readonly eventMaxPosts: number;
  /** The same with many subscribers (each POST is a subscriber count of frames per event). */
  readonly eventManyMaxPosts: number;
  /** Event throughput: distinct mints. */
  readonly eventKeys: number;
  /** Event throughput: subscribers in the many-subscriber phase. */
  readonly eventSubscribers: number;
  /** Event throughput: the fixed rate of the latency phase, events per second. */
  readonly eventFixedRate: number;
  /** Event throughput: the latency phase posts what is due this often. */
  readonly eventPostIntervalMs: number;
  /** Event throughput: events whose bodies are built before each saturation phase. */
  readonly eventPrebuiltEvents: number;
  /** Event throughput: many subscribers wait this long after a small read (0: never). */
  readonly eventReadPauseMs: number;
  /** Sandbox: the fixed rate at which process and inline isolation are compared, events/s. */
  readonly sandboxFixedRate: number;
  /** Sandbox: the handler time budget of the runaway runs, ms. */
  readonly sandboxBudgetMs: number;
  /** Sandbox: runaway handlers, one after another. */
  readonly sandboxRunaways: number;
  /** Sandbox: handler hosts killed from outside, one after another. */
  readonly sandboxKills: number;
  /** Cluster: the fixed rate of the A → B latency phase (and its standalone twin), events/s. */
  readonly clusterFixedRate: number;
  /** Cluster: `PHAROS_CLUSTER_LEASE_MS` of every instance. */
  readonly clusterLeaseMs: number;
  /** Cluster faults: seconds the producer posts in each fault run. */
  readonly clusterFaultSeconds: number;
  /** Cluster faults: ms after the producer starts that the fault happens. */
  readonly clusterFaultAtMs: number;
  /** Cluster faults: the producer's rate, events/s (a POST every 20 ms). */
  readonly clusterFaultRate: number;
  /** Cluster faults: how long Redis stays stopped, ms. */
  readonly clusterRedisDownMs: number;
  /** Cluster lease handover: lines of the replay file the holder is replaying. */
  readonly clusterReplayEvents: number;
  /** Cluster lease handover: the file's recorded pace, events/s. */
  readonly clusterReplayRate: number;
  /** Cluster bootstrap: events the checkpoint covers. */
  readonly clusterCheckpointEvents: number;
  /** Cluster bootstrap: events after the checkpoint, which a fresh instance replays. */
  readonly clusterTailEvents: number;
  /** Cluster bootstrap: distinct mints (under the view cache's 500, so a snapshot counts all). */
  readonly clusterBootstrapKeys: number;
  /** Row rules: owners the clients are spread over (divides `clients`), one mint each. */
  readonly rowsOwners: number;
  /** Row rules: seconds of the flood. */
  readonly rowsSeconds: number;
  /**
   * Row rules: events per POST when each event reaches one owner's clients; a run where
   * each reaches every client posts proportionally fewer, for the same frames per POST.
   */
  readonly rowsBatch: number;
  /** Row rules: POSTs whose events have not reached every client they go to, at most. */
  readonly rowsMaxPosts: number;
  /** Row rules: events whose bodies are built before the flood (scaled as `rowsBatch`). */
  readonly rowsPrebuiltEvents: number;
}

/** The full run (a few minutes). */
export const FULL: BenchSettings = {
  clients: 1000,
  fixedDeliveriesPerSecond: 20_000,
  fixedSeconds: 6,
  floodSeconds: 6,
  floodWindow: 200,
  floodBatch: 20,
  floodMaxPosts: 4,
  keys: 100,
  idleConnections: 10_000,
  startupRuns: 5,
  probeIntervalMs: 10,
  repeats: 3,
  eventSeconds: 5,
  eventBatch: 500,
  eventMaxPosts: 4,
  eventManyMaxPosts: 2,
  eventKeys: 1000,
  eventSubscribers: 100,
  eventFixedRate: 5000,
  eventPostIntervalMs: 10,
  eventPrebuiltEvents: 1_000_000,
  eventReadPauseMs: 50,
  sandboxFixedRate: 1000,
  sandboxBudgetMs: 250,
  sandboxRunaways: 10,
  sandboxKills: 10,
  clusterFixedRate: 1000,
  clusterLeaseMs: 2000,
  clusterFaultSeconds: 6,
  clusterFaultAtMs: 2000,
  clusterFaultRate: 500,
  clusterRedisDownMs: 1500,
  clusterReplayEvents: 3000,
  clusterReplayRate: 250,
  clusterCheckpointEvents: 20_000,
  clusterTailEvents: 100_000,
  clusterBootstrapKeys: 400,
  rowsOwners: 100,
  rowsSeconds: 6,
  rowsBatch: 500,
  rowsMaxPosts: 4,
  rowsPrebuiltEvents: 400_000,
};

/** The smoke run for CI (seconds): every code path, no meaningful figures. */
export const SMOKE: BenchSettings = {
  clients: 20,
  fixedDeliveriesPerSecond: 400,
  fixedSeconds: 1,
  floodSeconds: 1,
  floodWindow: 40,
  floodBatch: 5,
  floodMaxPosts: 2,
  keys: 10,
  idleConnections: 100,
  startupRuns: 1,
  probeIntervalMs: 10,
  repeats: 1,
  eventSeconds: 0.3,
  eventBatch: 500,
  eventMaxPosts: 4,
  eventManyMaxPosts: 2,
  eventKeys: 1000,
  eventSubscribers: 10,
  eventFixedRate: 5000,
  eventPostIntervalMs: 10,
  eventPrebuiltEvents: 20_000,
  eventReadPauseMs: 50,
  sandboxFixedRate: 1000,
  sandboxBudgetMs: 100,
  sandboxRunaways: 1,
  sandboxKills: 1,
  clusterFixedRate: 1000,
  clusterLeaseMs: 1000,
  clusterFaultSeconds: 2,
  clusterFaultAtMs: 700,
  clusterFaultRate: 200,
  clusterRedisDownMs: 1000,
  clusterReplayEvents: 400,
  clusterReplayRate: 200,
  clusterCheckpointEvents: 1000,
  clusterTailEvents: 2000,
  clusterBootstrapKeys: 100,
  rowsOwners: 5,
  rowsSeconds: 0.5,
  rowsBatch: 100,
  rowsMaxPosts: 2,
  rowsPrebuiltEvents: 5_000,
};

/** The ingest token the benchmark configures Pharos with. */
export const BENCH_TOKEN = "bench-ingest-token";

/** Pharos fed by ingest only, sized for the idle-connection run. */
export const PHAROS_INGEST_ENV: Record<string, string> = {
  PHAROS_SOURCES: "ingest",
  PHAROS_INGEST_TOKEN: BENCH_TOKEN,
  PHAROS_MAX_CLIENTS: "12000",
  // All load comes from one loopback address: per-IP limits would measure themselves.
  PHAROS_MAX_CONNECTIONS_PER_IP: "0",
  PHAROS_HANDSHAKES_PER_MINUTE: "0",
};

/** Where the load generator finds a server on `port`: its socket, ingest, token and view. */
export function endpointsOf(port: number): {
  wsUrl: string;
  ingestUrl: string;
  token: string;
  view: string;
} {
  return {
    wsUrl: `ws://127.0.0.1:${port}/`,
    ingestUrl: `http://127.0.0.1:${port}/ingest`,
    token: BENCH_TOKEN,
    view: "Token/list",
  };
}

/** What a fan-out run measured. */
export interface FanoutResult {
  readonly target: string;
  readonly connected: number;
  readonly fixed: PhaseResult;
  readonly flood: PhaseResult;
  /** Server CPU use during each phase, % of one core. */
  readonly server_cpu_pct: { readonly fixed: number; readonly flood: number };
  /** `/ready` and `/health` latency during the flood. */
  readonly probe: ProbeResult;
  readonly server_output_lines: number;
}

/**
 * Runs fixed-rate then flood fan-out against `spec`; with `withConsole`, a console
 * (bench/console_reader.ts: its feed and its entity socket) is open the whole time.
 */
export async function runFanout(
  target: string,
  spec: ServerSpec,
  settings: BenchSettings,
  withConsole = false,
): Promise<FanoutResult> {
  await using server = await startServer(spec);
  await using openedConsole = withConsole ? await openConsole(server.port) : undefined;
  const base = `127.0.0.1:${server.port}`;
  const plan: FanoutPlan = {
    mode: "fanout",
    ...endpointsOf(server.port),
    clients: settings.clients,
    connectConcurrency: 50,
    keys: settings.keys,
    drainIdleMs: 2000,
    phases: [
      {
        name: "fixed",
        rate: settings.fixedDeliveriesPerSecond / settings.clients,
        seconds: settings.fixedSeconds,
      },
      {
        name: "flood",
        seconds: settings.floodSeconds,
        window: settings.floodWindow,
        batch: settings.floodBatch,
        maxPosts: settings.floodMaxPosts,
      },
    ],
  };
  const phases: Record<string, PhaseResult> = {};
  const phaseCpu = createPhaseCpu(server.pid);
  let connected = 0;
  let probe: ReturnType<typeof startProbe> | undefined;
  let probeResult: Promise<ProbeResult> | undefined;
  await using load = startLoad(plan, (line) => {
    phaseCpu.onLine(line);
    if (line.event === "connected") connected = line.clients as number;
    if (line.event === "phase-start" && line.phase === "flood") {
      probe = startProbe(`http://${base}`, settings.probeIntervalMs);
    }
    if (line.event === "phase-sent" && line.phase === "flood") probeResult = probe?.stop();
    if (line.event === "phase-end") {
      const result = line.result as PhaseResult;
      phases[result.phase] = result;
    }
  });
  await load.done;
  const cpu = await phaseCpu.result();
  if (phases.fixed === undefined || phases.flood === undefined || probeResult === undefined) {
    throw new Error(`${target}: the load generator did not finish both phases`);
  }
  if (openedConsole !== undefined && openedConsole.counts().updates === 0) {
    throw new Error(`${target}: the console received no update`);
  }
  return {
    target,
    connected,
    fixed: phases.fixed,
    flood: phases.flood,
    server_cpu_pct: { fixed: cpu.fixed ?? NaN, flood: cpu.flood ?? NaN },
    probe: await probeResult,
    server_output_lines: server.linesWritten(),
  };
}

/** What holding idle connections cost the server. */
export interface IdleResult {
  readonly target: string;
  readonly connections: number;
  readonly failed: number;
  readonly rss_before_bytes: number;
  readonly rss_held_bytes: number;
  readonly bytes_per_connection: number;
}

/** Opens `settings.idleConnections` subscribed, silent clients and reads the server's RSS. */
export async function runIdle(
  target: string,
  spec: ServerSpec,
  settings: BenchSettings,
): Promise<IdleResult> {
  await using server = await startServer(spec);
  await sleep(1000);
  const before = await rssBytes(server.pid);
  const plan: IdlePlan = {
    mode: "idle",
    wsUrl: `ws://127.0.0.1:${server.port}/`,
    view: "Token/list",
    connections: settings.idleConnections,
    connectConcurrency: 100,
  };
  let onHeld: (line: Record<string, unknown>) => void = () => {};
  const held = new Promise<Record<string, unknown>>((resolve) => (onHeld = resolve));
  await using load = startLoad(plan, (line) => {
    if (line.event === "held") onHeld(line);
  });
  const line = await Promise.race([
    held,
    load.done.then(() => {
      throw new Error(`${target}: load generator ended before holding its connections`);
    }),
  ]);
  await sleep(2000); // let the allocator and GC settle
  const rss = await rssBytes(server.pid);
  await load.release();
  await load.done;
  const connections = line.connections as number;
  return {
    target,
    connections,
    failed: line.failed as number,
    rss_before_bytes: before,
    rss_held_bytes: rss,
    bytes_per_connection: connections > 0 ? Math.round((rss - before) / connections) : NaN,
  };
}

/** Start-up to the first 200 from `/ready`, per run. */
export interface StartupResult {
  readonly target: string;
  readonly runs_ms: readonly number[];
  readonly median_ms: number;
}

/** Starts `spec` `settings.startupRuns` times, timing process start to `/ready` 200. */
export async function runStartup(
  target: string,
  spec: ServerSpec,
  settings: BenchSettings,
): Promise<StartupResult> {
  const runs: number[] = [];
  for (let i = 0; i < settings.startupRuns; i++) {
    const port = freePort();
    const args = serverArgs(spec, port);
    const started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: new URL("../", import.meta.url),
      env: { NO_COLOR: "1", PORT: String(port), PHAROS_HOST: "127.0.0.1", ...spec.env },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = started + 30_000;
    let readyAt: number | undefined;
    while (performance.now() < deadline) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/ready`);
        await response.body?.cancel();
        if (response.status === 200) {
          readyAt = performance.now();
          break;
        }
      } catch { /* not listening yet */ }
      await sleep(2);
    }
    child.kill("SIGTERM");
    await child.status;
    if (readyAt === undefined) throw new Error(`${target}: /ready never answered 200`);
    runs.push(Math.round(readyAt - started));
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { target, runs_ms: runs, median_ms: sorted[Math.floor(sorted.length / 2)]! };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
