/**
 * Pharos instances in cluster mode, each a real `main.ts` child process on its own port,
 * all on one real redis-server (tests/fakes/redis_server.ts).
 */
import { until } from "../wait.ts";
import { type ServerProcess, spawnServer } from "./server_process.ts";

/** The ingest token every test instance accepts. */
export const CLUSTER_INGEST_TOKEN = "cluster-ingest-token";

/** One running instance. */
export interface ClusterInstance extends AsyncDisposable {
  readonly id: string;
  readonly process: ServerProcess;
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `GET /status` as JSON. */
  status(): Promise<InstanceStatus>;
  /** `GET /ready`'s status code (0 when the process does not answer). */
  readyCode(): Promise<number>;
  /** Waits until `/ready` answers 200. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGKILL: no drain, no lease release. */
  kill(): Promise<void>;
}

/** The parts of `/status` the cluster tests read. */
export interface InstanceStatus {
  readonly cluster: {
    readonly instance: string;
    readonly redis: "up" | "down";
    readonly epoch: string | null;
    readonly ready: boolean;
    readonly lease: {
      readonly held: boolean;
      readonly holder: string | null;
      readonly holder_known: boolean;
    };
    readonly log: { readonly applied: number; readonly top: number; readonly lag: number };
    readonly checkpoint: { readonly age_seconds: number | null };
  };
  readonly sources: readonly { name: string; status: string; events: number }[];
  readonly [key: string]: unknown;
}

/** Options of one instance. */
export interface ClusterInstanceOptions {
  readonly id: string;
  readonly redisUrl: string;
  /** `PHAROS_SOURCES`; default `ingest`. */
  readonly sources?: string;
  /** Extra environment. */
  readonly env?: Record<string, string>;
}

/** Starts one instance and waits for its port (not for readiness: see `ready`). */
export async function startInstance(options: ClusterInstanceOptions): Promise<ClusterInstance> {
  const sources = options.sources ?? "ingest";
  const process = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_REDIS_URL: options.redisUrl,
    PHAROS_INSTANCE_ID: options.id,
    PHAROS_SOURCES: sources,
    ...(sources.split(",").includes("ingest") ? { PHAROS_INGEST_TOKEN: CLUSTER_INGEST_TOKEN } : {}),
    PHAROS_HANDLER_ISOLATION: "inline",
    PHAROS_CLUSTER_LEASE_MS: "1500",
    PHAROS_LOG: "warn,pharos.ws.server=info",
    ...options.env,
  });
  let port: number;
  try {
    port = await process.port;
  } catch (error) {
    await process[Symbol.asyncDispose]();
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  const readyCode = async () => {
    try {
      const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return response.status;
    } catch {
      return 0;
    }
  };
  return {
    id: options.id,
    process,
    port,
    url,
    async status() {
      const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2_000) });
      return await response.json() as InstanceStatus;
    },
    readyCode,
    ready: (timeoutMs = 15_000) =>
      until(async () => (await readyCode()) === 200, `${options.id} ready`, timeoutMs),
    async kill() {
      try {
        process.child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await process.exited;
    },
    [Symbol.asyncDispose]: () => process[Symbol.asyncDispose](),
  };
}

/** POSTs events to an instance's `/ingest`; returns the status code and body. */
export async function ingest(
  instance: { readonly url: string },
  events: readonly unknown[],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${instance.url}/ingest`, {
    method: "POST",
    body: events.map((event) => JSON.stringify(event)).join("\n"),
    headers: { authorization: `Bearer ${CLUSTER_INGEST_TOKEN}`, ...headers },
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.json() };
}
