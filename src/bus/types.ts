import type { DeliveryStamp } from "./delivery_stamp.ts";

/** One frame on its way to subscribers: serialised once, shared by every session. */
export interface BusMessage {
  /** Entity key the frame is about; sessions with a key filter compare against it. */
  readonly key: string;
  /** The encoded frame (UTF-8 JSON bytes). */
  readonly bytes: Uint8Array;
  /**
   * The frame's `op` (`patch`, `upsert`, `delete`), for sessions' trace lines; absent
   * means `patch`. A constant string: it costs the publisher nothing to set.
   */
  readonly op?: FrameOp;
  /**
   * When the events behind it arrived, for the delivery lag; absent for frames no event
   * caused (a projector applied without an arrival time).
   */
  readonly stamp?: DeliveryStamp | undefined;
}

/** Operations of the data frames the bus carries. */
export type FrameOp = "patch" | "upsert" | "delete";

/**
 * The part of a LogTape `Logger` the bus logs through (the bus imports no other component;
 * any `Logger` is one).
 */
export interface BusLog {
  isEnabledFor(level: "debug" | "trace"): boolean;
  debug(message: string, properties: Record<string, unknown>): void;
  trace(message: string, properties: Record<string, unknown>): void;
}

/** Receives messages published on a topic. */
export type BusListener = (message: BusMessage) => void;

/**
 * Per-view fan-out from the projector to sessions. Topics are view ids (`Token/list`)
 * or derived-window topics handed out by {@link ViewDirectory.openWindow}. This is the
 * seam a multi-instance backend implements; `tests/contract/bus_contract.ts` is what it must pass.
 */
export interface Bus {
  /** Delivers `message` to every current listener of `topic`, synchronously, in order. */
  publish(topic: string, message: BusMessage): void;
  /** Adds a listener; dispose to remove it. */
  subscribe(topic: string, listener: BusListener): Disposable;
  /** True when anyone listens on `topic`, so publishers can skip building frames. */
  hasSubscribers(topic: string): boolean;
  /** Listeners on `topic`: how many frames one publish fans out to (publishers batch by it). */
  listenerCount(topic: string): number;
  /** Number of topics with at least one listener. */
  readonly topicCount: number;
}

/** Frame mode of a view on the wire. */
export type ViewMode = "list" | "state" | "append";
/** How a view behaves: the three base views of an entity, or a derived sorted window. */
export type ViewKind = "list" | "state" | "append" | "derived";

/** Sort announced in the `subscribed` frame. */
export interface ViewSort {
  readonly field: readonly string[];
  readonly order: "asc" | "desc";
}

/** What a session needs to know about a view before subscribing. */
export interface ViewInfo {
  readonly id: string;
  readonly entity: string;
  readonly mode: ViewMode;
  readonly kind: ViewKind;
  readonly sort?: ViewSort;
  /** Default window of a derived view. */
  readonly defaultTake?: number;
  /**
   * The stack's row rule for this view: a client sees a row only when the row's `field`
   * equals its token's `claim` (README "Security"). Absent: every client sees every row.
   */
  readonly rowRule?: { readonly field: string; readonly claim: string };
}

/** One entity in a snapshot. */
export interface SnapshotEntity {
  readonly key: string;
  readonly data: unknown;
}

/** Snapshot selection of a list-like view (docs/protocol.md §4 "List snapshot set"). */
export interface SnapshotQuery {
  readonly key?: string;
  /** Only entities whose `_seq` is after this cursor, oldest first. */
  readonly after?: string;
  readonly snapshotLimit?: number;
  /**
   * The client's row group (`rowGroupOf` its claim): a view with a row rule gives only the
   * rows of this group, and none without one.
   */
  readonly group?: string;
}

/** A derived-view window a session holds open. */
export interface WindowHandle extends Disposable {
  /** Topic on which this window's `delete`/`upsert` frames are published. */
  readonly topic: string;
  /** The window's entities now, in sort order. */
  snapshot(): SnapshotEntity[];
}

/**
 * Read side of the view caches, for subscribe-time snapshots. The projector implements
 * it; the ws layer consumes it, so data still only flows downstream.
 */
export interface ViewDirectory {
  describe(view: string): ViewInfo | undefined;
  snapshot(view: string, query: SnapshotQuery): SnapshotEntity[];
  /**
   * For a list or append view with a row rule: the keys of the rows that left `group` after
   * cursor `after` (their owner changed) and are not back, which a client resuming from
   * `after` may still hold. Empty for other views.
   */
  departed(view: string, query: { readonly group: string; readonly after: string }): string[];
  /** Opens a derived window; for a view with a row rule, over the rows of `group` only. */
  openWindow(view: string, window: WindowQuery): WindowHandle;
}

/** A derived window a session asks for. */
export interface WindowQuery {
  readonly skip: number;
  readonly take: number;
  /** The client's row group: required for a view with a row rule (see {@link SnapshotQuery}). */
  readonly group?: string;
}
