import type { PharosEvent } from "../stack/mod.ts";
import type { ClusterKeys } from "./keys.ts";
import type { RedisLink } from "./redis_link.ts";
import {
  APPEND,
  CREATE_EPOCH,
  PROBE,
  RELEASE_LEASE,
  RENEW_LEASE,
  WRITE_CHECKPOINT,
} from "./scripts.ts";

/** Positions already in the log that each source's de-duplication remembers. */
export const SEEN_WINDOW = 100_000;

/** One event to append, with where its source stands after it. */
export interface LogRecord {
  readonly source: string;
  readonly event: PharosEvent;
  /** `_seq` of the event when it carries slot and index: appended once only. */
  readonly position: string | undefined;
  /** `_seq` the source resumes after, when another instance takes it over. */
  readonly cursor: string | undefined;
}

/** What an append came to. */
export type AppendResult =
  | {
    readonly kind: "appended";
    readonly appended: number;
    readonly duplicates: number;
    readonly n: number;
  }
  | { readonly kind: "epoch"; readonly epoch: string | undefined };

/** One entry read back: an event, or a probe (`probe` set, no event). */
export interface LogEntry {
  readonly id: string;
  /** Offset: 1 for the first event of the epoch, one more for each after it. */
  readonly n: number;
  readonly source: string;
  readonly payload: string | undefined;
  readonly probe: string | undefined;
}

/** What a probe learned. */
export type ProbeResult =
  | {
    readonly kind: "ok";
    readonly n: number;
    readonly checkpointAt: number | undefined;
  }
  | { readonly kind: "epoch"; readonly epoch: string | undefined };

/** A checkpoint as stored. */
export interface StoredCheckpoint {
  readonly epoch: string;
  readonly id: string;
  readonly n: number;
  readonly at: number;
  readonly state: string;
}

/** The Redis side of the cluster: every read and write of the log, meta, lease and checkpoint. */
export interface EventLog {
  append(epoch: string, records: readonly LogRecord[]): Promise<AppendResult>;
  /** Reads entries after `id`, waiting up to `blockMs` for the first. */
  read(after: string, count: number, blockMs: number): Promise<LogEntry[]>;
  /** The id of the newest entry, "0-0" for an empty log. */
  lastId(): Promise<string>;
  epoch(): Promise<string | undefined>;
  /** Starts `candidate` with `state` as its checkpoint unless an epoch exists; the epoch in force. */
  createEpoch(
    candidate: string,
    state: string,
    now: number,
  ): Promise<{ created: boolean; epoch: string }>;
  probe(epoch: string, tag: string): Promise<ProbeResult>;
  readCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** False when the epoch no longer holds. */
  writeCheckpoint(epoch: string, checkpoint: Omit<StoredCheckpoint, "epoch">): Promise<boolean>;
  /** The `_seq` cursor of `source`'s last appended event. */
  cursorOf(source: string): Promise<string | undefined>;
  /** The instance holding the lease now, undefined when none does. */
  leaseHolder(): Promise<string | undefined>;
  acquireLease(instance: string, ms: number): Promise<boolean>;
  renewLease(instance: string, ms: number): Promise<boolean>;
  releaseLease(instance: string): Promise<void>;
}

function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new TypeError(`Unexpected Redis reply: ${String(reply)}`);
  return reply;
}

const text = (value: unknown): string | undefined =>
  value === null || value === undefined || value === "" ? undefined : String(value);

/** The event log of one stack's cluster over `link`. */
export function createEventLog(link: RedisLink, keys: ClusterKeys): EventLog {
  const { commands } = link;
  return {
    async append(epoch, records) {
      const args = [epoch, keys.seenPrefix, String(SEEN_WINDOW)];
      for (const { source, event, position, cursor } of records) {
        args.push(source, position ?? "", JSON.stringify(event), cursor ?? "");
      }
      const reply = asArray(await link.run(APPEND, [keys.log, keys.meta], args));
      if (reply[0] === -1) return { kind: "epoch", epoch: text(reply[1]) };
      return {
        kind: "appended",
        appended: Number(reply[0]),
        duplicates: Number(reply[1]),
        n: Number(reply[2]),
      };
    },
    async read(after, count, blockMs) {
      const reply = await link.reader().xRead({ key: keys.log, id: after }, {
        COUNT: count,
        BLOCK: blockMs,
      }) as { messages: { id: string; message: Record<string, string> }[] }[] | null;
      const messages = reply?.[0]?.messages ?? [];
      return messages.map(({ id, message }) => ({
        id,
        n: Number(message.n ?? 0),
        source: message.s ?? "",
        payload: message.e,
        probe: message.p,
      }));
    },
    async lastId() {
      const last = await commands.xRevRange(keys.log, "+", "-", { COUNT: 1 });
      return last?.[0]?.id ?? "0-0";
    },
    async epoch() {
      return text(await commands.hGet(keys.meta, "epoch"));
    },
    async createEpoch(candidate, state, now) {
      const reply = asArray(
        await link.run(CREATE_EPOCH, [keys.meta, keys.checkpoint, keys.log], [
          candidate,
          state,
          String(now),
        ]),
      );
      return { created: reply[0] === 1, epoch: String(reply[1]) };
    },
    async probe(epoch, tag) {
      const reply = asArray(
        await link.run(PROBE, [keys.meta, keys.log, keys.checkpoint], [epoch, tag]),
      );
      if (reply[0] === -1) return { kind: "epoch", epoch: text(reply[1]) };
      const at = text(reply[2]);
      return {
        kind: "ok",
        n: Number(reply[1]),
        checkpointAt: at === undefined ? undefined : Number(at),
      };
    },
    async readCheckpoint() {
      const stored = await commands.hGetAll(keys.checkpoint) as Record<string, string>;
      if (stored.epoch === undefined || stored.id === undefined || stored.state === undefined) {
        return undefined;
      }
      return {
        epoch: stored.epoch,
        id: stored.id,
        n: Number(stored.n ?? 0),
        at: Number(stored.at ?? 0),
        state: stored.state,
      };
    },
    async writeCheckpoint(epoch, checkpoint) {
      const reply = await link.run(WRITE_CHECKPOINT, [keys.checkpoint, keys.meta, keys.log], [
        epoch,
        checkpoint.id,
        String(checkpoint.n),
        String(checkpoint.at),
        checkpoint.state,
      ]);
      return reply === 1;
    },
    async cursorOf(source) {
      return text(await commands.hGet(keys.meta, `cursor:${source}`));
    },
    async leaseHolder() {
      return text(await commands.get(keys.lease));
    },
    async acquireLease(instance, ms) {
      return (await commands.set(keys.lease, instance, { NX: true, PX: ms })) === "OK";
    },
    async renewLease(instance, ms) {
      return (await link.run(RENEW_LEASE, [keys.lease], [instance, String(ms)])) === 1;
    },
    async releaseLease(instance) {
      await link.run(RELEASE_LEASE, [keys.lease], [instance]);
    },
  };
}
