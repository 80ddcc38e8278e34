/**
 * Medians over repeated fan-out runs of one target. These machines are shared and noisy
 * (flood throughput of one configuration varied by ±15 % between runs), so every target
 * runs more than once, interleaved with the others, and the headline figures use medians.
 * @module
 */
import type { FanoutResult } from "./scenarios.ts";

/** One target's fan-out figures, each the median over its runs (loss: the sum). */
export interface FanoutSummary {
  readonly target: string;
  readonly runs: number;
  readonly fixed_delivered_per_s: number;
  readonly fixed_expected: number;
  readonly fixed_lost: number;
  readonly fixed_p50_ms: number;
  readonly fixed_p99_ms: number;
  readonly flood_delivered_per_s: number;
  readonly flood_lost: number;
  readonly ready_p50_ms: number;
  readonly ready_p99_ms: number;
  readonly health_p99_ms: number;
  readonly probe_failures: number;
  readonly clients_closed: number;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return Math.round(value * 100) / 100;
}

/** Summarises the runs of one target. */
export function summarize(target: string, runs: readonly FanoutResult[]): FanoutSummary {
  const of = (pick: (run: FanoutResult) => number) => median(runs.map(pick));
  const sum = (pick: (run: FanoutResult) => number) =>
    runs.reduce((total, run) => total + pick(run), 0);
  return {
    target,
    runs: runs.length,
    fixed_delivered_per_s: of((r) => r.fixed.delivered_per_s),
    fixed_expected: sum((r) => r.fixed.expected_deliveries),
    fixed_lost: sum((r) => r.fixed.lost),
    fixed_p50_ms: of((r) => r.fixed.latency_ms.p50),
    fixed_p99_ms: of((r) => r.fixed.latency_ms.p99),
    flood_delivered_per_s: of((r) => r.flood.delivered_per_s),
    flood_lost: sum((r) => r.flood.lost),
    ready_p50_ms: of((r) => r.probe.ready_ms.p50),
    ready_p99_ms: of((r) => r.probe.ready_ms.p99),
    health_p99_ms: of((r) => r.probe.health_ms.p99),
    probe_failures: sum((r) => r.probe.failures),
    clients_closed: sum((r) => r.fixed.clients_closed + r.flood.clients_closed),
  };
}
