/**
 * How the cluster bench reads its instances: `/status`, `/ready`, the lease, a fresh
 * subscriber's snapshot, and waiting until the instances have applied the whole log.
 * @module
 */
import type { ServerChild } from "./processes.ts";

/** A fresh subscriber's snapshot of `view`, by key (gzipped batches decoded). */
export async function snapshotOf(
  port: number,
  view: string,
): Promise<Map<string, Record<string, unknown>>> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  socket.binaryType = "arraybuffer";
  const entities = new Map<string, Record<string, unknown>>();
  const decoder = new TextDecoder();
  let chain = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no complete ${view} snapshot in 15 s`)),
        15_000,
      );
      socket.onopen = () => socket.send(JSON.stringify({ type: "subscribe", view }));
      socket.onerror = () => reject(new Error(`cannot subscribe to ${view} on port ${port}`));
      socket.onmessage = (message) => {
        chain = chain.then(async () => {
          const frame = JSON.parse(await textOf(message.data, decoder));
          if (frame.op !== "snapshot") return;
          for (const entity of frame.data as { key: string; data: Record<string, unknown> }[]) {
            entities.set(entity.key, entity.data);
          }
          if (frame.complete === true) {
            clearTimeout(timer);
            resolve();
          }
        }).catch(reject);
      };
    });
  } finally {
    socket.close();
    await chain.catch(() => {});
  }
  return entities;
}

/** A frame's text: gzipped binary frames decompressed. */
export async function textOf(data: ArrayBuffer | string, decoder: TextDecoder): Promise<string> {
  if (typeof data === "string") return data;
  const bytes = new Uint8Array(data);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return decoder.decode(bytes);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

/** The parts of `/status` read here. */
export interface Status {
  readonly cluster: {
    readonly ready: boolean;
    readonly lease: { readonly held: boolean };
    readonly log: { readonly applied: number; readonly top: number; readonly lag: number };
  };
  readonly sources: readonly {
    readonly name: string;
    readonly status: string;
    /** Events of this source applied here (from the log, on every instance). */
    readonly events: number;
  }[];
}

/** `GET /status` of the instance on `server.port`. */
export async function statusOf(server: { readonly port: number }): Promise<Status> {
  const response = await fetch(`http://127.0.0.1:${server.port}/status`, {
    signal: AbortSignal.timeout(2_000),
  });
  return await response.json() as Status;
}

/** `GET /ready`'s status code (0 when nothing answers). */
export async function readyCode(port: number): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/ready`, {
      signal: AbortSignal.timeout(2_000),
    });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

/** Waits until `server` answers `/ready` 200. */
export function readyOf(server: ServerChild, timeoutMs = 30_000): Promise<void> {
  return waitFor(async () => (await readyCode(server.port)) === 200, "/ready 200", timeoutMs);
}

/** Waits until `server` holds the singleton-source lease. */
export function holdsLease(server: ServerChild, timeoutMs = 15_000): Promise<void> {
  return waitFor(async () => (await statusOf(server)).cluster.lease.held, "the lease", timeoutMs);
}

/** Waits until every instance has applied the whole log, the same offset, for 500 ms. */
export async function settle(servers: readonly ServerChild[]): Promise<void> {
  let previous = -1;
  let since = performance.now();
  await waitFor(
    async () => {
      const statuses = await Promise.all(servers.map(statusOf));
      const applied = statuses.map((s) => s.cluster.log.applied);
      const even = statuses.every((s) =>
        s.cluster.log.lag === 0 && s.cluster.log.applied === applied[0]
      );
      if (!even || applied[0] !== previous) {
        previous = even ? applied[0]! : -1;
        since = performance.now();
        return false;
      }
      return performance.now() - since >= 500;
    },
    "the instances to apply the whole log",
    30_000,
  );
}

/** Polls `check` every 25 ms until it holds; throws with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch { /* not answering yet */ }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(25);
  }
}

/** A pause of `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `ms` to two decimals. */
export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
