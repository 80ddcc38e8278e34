import { editDistance } from "../util/mod.ts";

/**
 * Every logger category Pharos logs under, as a log filter names it: the one list of them.
 * `createApp` hands each component `pharos.<component>` (`src/app*.ts`), the pipeline adds
 * `pharos.health` and `pharos.sources.<kind>` (one per kind in `src/sources/registry.ts`),
 * the handler host's console is `pharos.vm.handler`, the listener `pharos.ws.server`.
 * `targets_test.ts` checks the code names no category missing here, and the sources registry's
 * test that every kind has its target.
 */
export const LOG_TARGETS = [
  "pharos",
  "pharos.runtime",
  "pharos.health",
  "pharos.sources",
  "pharos.sources.demo",
  "pharos.sources.ingest",
  "pharos.sources.replay",
  "pharos.sources.upstream",
  "pharos.vm",
  "pharos.vm.handler",
  "pharos.projector",
  "pharos.bus",
  "pharos.ws",
  "pharos.ws.server",
  "pharos.http",
  "pharos.auth",
  "pharos.cluster",
  "pharos.telemetry",
  "pharos.log",
] as const;

/** A category Pharos logs under (`pharos.ws`). */
export type LogTarget = (typeof LOG_TARGETS)[number];

/** Whether `target` (dotted) is one of {@link LOG_TARGETS}. */
export function isLogTarget(target: string): target is LogTarget {
  return (LOG_TARGETS as readonly string[]).includes(target);
}

/**
 * The known target closest to `target` by edit distance, also trying it under `pharos.`
 * (`ws` → `pharos.ws`); on a tie the earlier, broader one in {@link LOG_TARGETS}.
 */
export function closestLogTarget(target: string): LogTarget {
  const lower = target.toLowerCase();
  let best: { target: LogTarget; distance: number } = { target: "pharos", distance: Infinity };
  for (const known of LOG_TARGETS) {
    const distance = Math.min(editDistance(lower, known), editDistance(`pharos.${lower}`, known));
    if (distance < best.distance) best = { target: known, distance };
  }
  return best.target;
}
