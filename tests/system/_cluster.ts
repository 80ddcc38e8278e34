/**
 * What the cluster tests share: demo-stack transfers with explicit positions, an instance's
 * `Token/list` as a fresh subscriber sees it, and waiting until instances have applied the
 * same offset.
 */
import type { ClusterInstance } from "../fakes/cluster_instance.ts";
import { until } from "../wait.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { snapshotEntities } from "../integration/_helpers.ts";

/** The mints the transfers go round. */
export const MINTS: readonly string[] = ["MintA", "MintB", "MintC", "MintD"];

/** A demo-stack Transfer event as posted to `/ingest`. */
export interface PositionedTransfer {
  readonly type: "Transfer";
  readonly slot: number;
  readonly index: number;
  readonly data: { mint: string; from: string; to: string; amount: string };
}

/** A demo-stack Transfer with an explicit position: appended once, however often it is sent. */
export function transfer(mint: string, slot: number, index: number): PositionedTransfer {
  return {
    type: "Transfer" as const,
    slot,
    index,
    data: { mint, from: "w1", to: "w2", amount: "1000" },
  };
}

/** `count` transfers spread over MINTS, positions from `slot` on. */
export function transfers(slot: number, count: number): PositionedTransfer[] {
  return Array.from({ length: count }, (_, i) => transfer(MINTS[i % MINTS.length]!, slot, i));
}

/** Entities by key. */
export type Entities = Map<string, Record<string, unknown>>;

/** The `Token/list` snapshot of an instance, by key (a fresh subscriber's view). */
export async function snapshotOf(instance: ClusterInstance): Promise<Entities> {
  await using client = await TestClient.connect(`ws://127.0.0.1:${instance.port}/`);
  client.send({ type: "subscribe", view: "Token/list" });
  await client.waitFor(
    (frames) =>
      frames.some((f) => f.json.op === "snapshot" && f.json.complete === true) ||
      frames.some((f) => f.json.op === "subscribed") && frames.length > 1,
    5_000,
    "the Token/list snapshot",
  ).catch(() => {}); // an empty view sends no snapshot
  return new Map(snapshotEntities(client.frames, "Token/list").map((e) => [e.key, e.data]));
}

/** Waits until every instance has applied the log up to the same offset, and returns it. */
export async function settled(instances: readonly ClusterInstance[], atLeast = 0): Promise<number> {
  let offset = -1;
  await until(
    async () => {
      const statuses = await Promise.all(instances.map((instance) => instance.status()));
      const applied = statuses.map((status) => status.cluster.log.applied);
      offset = applied[0]!;
      return applied.every((n) => n === offset) && offset >= atLeast &&
        statuses.every((status) => status.cluster.log.lag === 0);
    },
    `instances to apply the same offset (>= ${atLeast})`,
    10_000,
  );
  return offset;
}

/** A mint's `transferCount` in `entities`. */
export function countOf(entities: Entities, mint: string): unknown {
  return entities.get(mint)?.transferCount;
}
