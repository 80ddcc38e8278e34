/**
 * The health probe: asks `/ready` and `/health` in turn every few milliseconds, as a load
 * balancer and an orchestrator would, and records how long each answer took. It runs in
 * the orchestrator process, which is otherwise idle, so its timings are the server's.
 * @module
 */
import { Histogram, type LatencySummary } from "./histogram.ts";

/** Latencies per route and the failures seen. */
export interface ProbeResult {
  readonly ready_ms: LatencySummary;
  readonly health_ms: LatencySummary;
  /** Answers other than 200, and requests that failed. */
  readonly failures: number;
}

/** A running probe; `stop` ends it and returns what it measured. */
export interface Probe {
  stop(): Promise<ProbeResult>;
}

/** Starts probing `baseUrl` every `intervalMs`. */
export function startProbe(baseUrl: string, intervalMs: number): Probe {
  const ready = new Histogram();
  const health = new Histogram();
  let failures = 0;
  let running = true;
  const loop = (async () => {
    let turn = 0;
    while (running) {
      const [path, histogram] = turn++ % 2 === 0 ? ["/ready", ready] : ["/health", health];
      const started = performance.now();
      try {
        const response = await fetch(`${baseUrl}${path}`);
        await response.body?.cancel();
        histogram.record(performance.now() - started);
        if (response.status !== 200) failures++;
      } catch {
        failures++;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ready_ms: ready.summary(), health_ms: health.summary(), failures };
    },
  };
}
