import type { ViewInfo } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { WsTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { encodeSnapshotBatches, FIRST_SNAPSHOT_BATCH, maybeGzip, SNAPSHOT_BATCH } from "./codec.ts";
import type { OutboundQueue } from "./_outbound_queue.ts";
import { roundMs, type SessionLog } from "./_session_log.ts";

/** Where a subscription's snapshot goes: its session's queue, and what its lines need. */
export interface SnapshotTarget {
  readonly session: { readonly id: string; readonly closed: boolean };
  readonly context: {
    readonly clock: Clock;
    readonly log: Logger;
    readonly telemetry: WsTelemetry;
    readonly limits: { readonly maxSnapshotRows: number };
  };
  readonly queue: OutboundQueue;
  /** Whether frames are logged at trace, as the session read it once. */
  readonly traceFrames: boolean;
  readonly lines: SessionLog;
}

/** One snapshot to queue: the view's entities, read at monotonic `startedAt` ms. */
export interface Snapshot {
  readonly info: ViewInfo;
  readonly entities: Parameters<typeof encodeSnapshotBatches>[1];
  readonly startedAt: number;
}

/** At most `maxSnapshotRows` entities (in the order the view gave them). */
export function capSnapshot<T>(target: SnapshotTarget, entities: T[]): T[] {
  const { telemetry, log, limits } = target.context;
  const max = limits.maxSnapshotRows;
  if (entities.length <= max) return entities;
  telemetry.limitExceeded("snapshot-rows");
  log.debug("Snapshot for client {client_id} cut to {max} of {count} entities", {
    client_id: target.session.id,
    max,
    count: entities.length,
  });
  return entities.slice(0, max);
}

/**
 * Queues the snapshot's batches. At debug, one line for the snapshot (entities, batches,
 * the time to read and encode it) and one per batch once it is ready to send (its
 * entities, bytes raw and on the wire, and the time since the snapshot was read).
 */
export function queueSnapshot(target: SnapshotTarget, snapshot: Snapshot): void {
  const { session, queue } = target;
  const { log, clock } = target.context;
  const { info, entities, startedAt } = snapshot;
  const debug = log.isEnabledFor("debug");
  if (entities.length === 0 || !queue.acceptsReply()) {
    if (debug && !session.closed) {
      log.debug("Snapshot for client {client_id} on {view}: no entities", {
        client_id: session.id,
        view: info.id,
        entities: 0,
        batches: 0,
        duration_ms: roundMs(clock.monotonic() - startedAt),
      });
    }
    return;
  }
  const batches = encodeSnapshotBatches(info, entities);
  if (debug) {
    log.debug(
      "Snapshot for client {client_id} on {view}: {entities} entities in {batches} batches",
      {
        client_id: session.id,
        view: info.id,
        entities: entities.length,
        batches: batches.length,
        duration_ms: roundMs(clock.monotonic() - startedAt),
      },
    );
  }
  let first = 0;
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i]!;
    const size = i === 0 ? FIRST_SNAPSHOT_BATCH : SNAPSHOT_BATCH;
    const batchEntities = Math.min(size, entities.length - first);
    first += batchEntities;
    // Compression is asynchronous; the reserved place keeps the batch ahead of live
    // frames published meanwhile.
    const fill = queue.reserve(batch.length);
    const ready = (data: Uint8Array) => {
      fill(data);
      if (session.closed) return;
      if (debug) {
        log.debug(
          "Snapshot batch {batch}/{batches} for client {client_id} on {view}: {entities} entities, {bytes} bytes",
          {
            client_id: session.id,
            view: info.id,
            batch: i + 1,
            batches: batches.length,
            entities: batchEntities,
            bytes: data.length,
            raw_bytes: batch.length,
            gzip: data !== batch,
            duration_ms: roundMs(clock.monotonic() - startedAt),
          },
        );
      }
      if (target.traceFrames) target.lines.traceReply("snapshot", data, info.id);
    };
    maybeGzip(batch).then(ready, (error) => {
      log.warn("Snapshot compression failed, sending uncompressed: {error}", {
        client_id: session.id,
        error,
      });
      ready(batch);
    });
  }
}
