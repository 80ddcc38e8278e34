/**
 * The fault runs' producer: `Mark` events of the ledger stack (bench/cluster_stack.ts) at a
 * fixed rate, round-robin over the live instances, each retried until acknowledged.
 * @module
 */
import { sleep } from "./cluster_probe.ts";
import type { ServerChild } from "./processes.ts";
import { BENCH_TOKEN, type BenchSettings, endpointsOf } from "./scenarios.ts";

/** Buckets the fault runs' events are spread over (entities of the ledger stack). */
export const BUCKETS = 64;
/** A producer gives an event up (counted, never as lost) when not acknowledged in this long. */
const GIVE_UP_MS = 60_000;
/** Pause before sending a POST again after its connection failed. */
const FAILED_RETRY_MS = 20;
/** A POST that has not answered in this long is abandoned and sent again elsewhere. */
const POST_TIMEOUT_MS = 3_000;

/** What a producer sent, and how its POSTs went. */
export interface ProducerCounts {
  readonly sent: number;
  readonly acknowledged: number;
  readonly given_up: number;
  readonly posts: number;
  readonly rejected_503: number;
  readonly failed_posts: number;
}

/** What a stopped producer reports: the ids acknowledged, and its counts. */
export interface Produced {
  readonly acked: ReadonlySet<string>;
  readonly counts: ProducerCounts;
}

/** A running producer. */
export interface Producer {
  /** POSTs to the instance on `port` not answered yet. */
  inFlightTo(port: number): number;
  /** Stops producing and waits for every POST under way to be acknowledged or given up. */
  stop(): Promise<Produced>;
}

/**
 * A producer of `Mark` events at `clusterFaultRate`, a POST every 20 ms, round-robin over
 * `live()`; each POST is retried until acknowledged: after a 503 as `Retry-After` says,
 * after a failed or stalled connection at once on the next instance. Every event has its
 * own position (slot, index 0…), so a retry of an event already appended is dropped by
 * the log's de-duplication.
 */
export function startProducer(
  settings: BenchSettings,
  live: () => readonly ServerChild[],
): Producer {
  const acked = new Set<string>();
  const posts: Promise<void>[] = [];
  let slot = 1_000_000;
  let sent = 0;
  let givenUp = 0;
  let requests = 0;
  let rejected = 0;
  let failed = 0;
  let turn = 0;
  let stopping = false;
  const inFlight = new Map<number, number>();

  /** One attempt: acknowledged, failed (no answer), or refused with 503 and a wait. */
  async function attempt(
    server: ServerChild,
    ids: string[],
    body: string,
  ): Promise<{ kind: "acked" } | { kind: "failed" } | { kind: "rejected"; retryMs: number }> {
    let response: Response;
    try {
      response = await fetch(endpointsOf(server.port).ingestUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/x-ndjson" },
        body,
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
    } catch {
      failed++; // refused, reset or timed out: the events may be in the log; sent again
      return { kind: "failed" };
    }
    if (response.status === 202) {
      const answer = await response.json() as { accepted: number };
      if (answer.accepted !== ids.length) {
        throw new Error(`ingest accepted ${answer.accepted} of ${ids.length} events`);
      }
      return { kind: "acked" };
    }
    await response.body?.cancel();
    if (response.status !== 503) throw new Error(`ingest answered ${response.status}`);
    rejected++;
    const retryMs = Math.min(5000, Number(response.headers.get("retry-after") ?? 1) * 1000);
    return { kind: "rejected", retryMs };
  }

  async function deliver(ids: string[], body: string): Promise<void> {
    const deadline = performance.now() + GIVE_UP_MS;
    while (performance.now() < deadline) {
      const servers = live();
      const server = servers[turn++ % servers.length]!;
      requests++;
      inFlight.set(server.port, (inFlight.get(server.port) ?? 0) + 1);
      let outcome;
      try {
        outcome = await attempt(server, ids, body);
      } finally {
        inFlight.set(server.port, inFlight.get(server.port)! - 1);
      }
      if (outcome.kind === "acked") {
        for (const id of ids) acked.add(id);
        return;
      }
      await sleep(outcome.kind === "failed" ? FAILED_RETRY_MS : outcome.retryMs);
    }
    givenUp += ids.length;
  }

  const running = (async () => {
    const started = performance.now();
    let scheduled = 0;
    while (!stopping) {
      const due = Math.floor(((performance.now() - started) / 1000) * settings.clusterFaultRate);
      if (due > scheduled) {
        const count = due - scheduled;
        scheduled = due;
        const at = slot++;
        const ids: string[] = [];
        const lines: string[] = [];
        for (let index = 0; index < count; index++) {
          const id = `i${at}:${index}`;
          ids.push(id);
          lines.push(JSON.stringify({
            type: "Mark",
            slot: at,
            index,
            data: { bucket: `b${(sent + index) % BUCKETS}`, id },
          }));
        }
        sent += count;
        posts.push(deliver(ids, lines.join("\n")));
      }
      await sleep(20);
    }
  })();

  return {
    /** POSTs to the instance on `port` not answered yet. */
    inFlightTo: (port: number) => inFlight.get(port) ?? 0,
    async stop(): Promise<Produced> {
      stopping = true;
      await running;
      await Promise.all(posts);
      return {
        acked,
        counts: {
          sent,
          acknowledged: acked.size,
          given_up: givenUp,
          posts: requests,
          rejected_503: rejected,
          failed_posts: failed,
        },
      };
    },
  };
}
