import type { StackPermissions } from "./permissions.ts";

/** An upstream event as Pharos receives it. */
export interface PharosEvent {
  /** Event type; selects the handler (`Transfer`, …). */
  readonly type: string;
  /** Entity key, for stacks whose entities take the key from the event itself. */
  readonly key?: string;
  /** Upstream position (e.g. a Solana slot); gives mutations a `_seq` cursor. */
  readonly slot?: number;
  /** Position within the slot; defaults to arrival order within the slot. */
  readonly index?: number;
  /** Event payload, handed to handlers untouched. */
  readonly data: Readonly<Record<string, unknown>>;
  /** W3C trace context of the producer, when it sent one. */
  readonly traceparent?: string;
}

/** A partial entity a handler returns; deep-merged into the entity's state. */
export type Patch = Record<string, unknown>;

/** What a handler run gets besides state and event. */
export interface HandlerContext {
  /** The entity key this run is for. */
  readonly key: string;
  /** Aborted when the run exceeds its time budget; long async work should watch it. */
  readonly signal: AbortSignal;
}

/**
 * A stack handler ("guest function"): turns the entity's current state (undefined for a
 * new entity) and an event into a patch, or `undefined` for no change. May be async.
 * `state` is the VM's own copy, handed over without cloning for speed: read it, never
 * modify it (changes made to it directly reach no subscriber).
 */
export type Handler = (
  state: Readonly<Record<string, unknown>> | undefined,
  event: PharosEvent,
  context: HandlerContext,
) => Patch | undefined | Promise<Patch | undefined>;

/** Sort order of a derived view. */
export type SortOrder = "asc" | "desc";

/** A derived view's window size when neither the subscriber nor the stack gives a `take`. */
export const DERIVED_VIEW_TAKE = 100;

/** A derived sorted view over an entity's list: a window of entities ordered by one field. */
export interface DerivedViewDefinition {
  /** Dotted path of the sort field, e.g. `lastTransfer.slot`. */
  readonly sortBy: string;
  /** Default `asc`. */
  readonly order?: SortOrder;
  /** Window size when the subscriber gives no `take`; default {@link DERIVED_VIEW_TAKE}. */
  readonly take?: number;
}

/**
 * A row rule: a client sees a row of the views it covers only when the row's `field` equals
 * its token's `claim` (`{ field: "owner", claim: "sub" }`: each user sees their own rows).
 * Declarative, so the server checks it per frame without running guest code.
 */
export interface RowRule {
  /** Dotted path of the entity field compared, e.g. `owner` or `account.tenant`. */
  readonly field: string;
  /** The token claim it must equal, e.g. `sub`. */
  readonly claim: string;
  /**
   * Names of the views it covers (`list`, `state`, `append`, derived view names); default
   * every view of the entity, so a view added later is covered too.
   */
  readonly views?: readonly string[];
}

/** One entity type of a stack. */
export interface EntityDefinition {
  /** Extracts the entity key from an event; `undefined` skips the event. Default: `event.key`. */
  readonly key?: (event: PharosEvent) => string | undefined;
  /** Handlers by event type. */
  readonly handlers: Readonly<Record<string, Handler>>;
  /** Dotted paths of arrays that patches append to instead of replacing. */
  readonly append?: readonly string[];
  /** Derived sorted views by name (`latest` → `Entity/latest`). */
  readonly views?: Readonly<Record<string, DerivedViewDefinition>>;
  /** Who may see which rows: one rule or several (each view at most one); default all see all. */
  readonly rows?: RowRule | readonly RowRule[];
}

/**
 * A source a stack module asks for: its `kind` (a kind of the sources registry,
 * `src/sources/registry.ts`), an optional instance `name` (default: the kind), and the
 * kind's own fields (README's "Sources" lists them). Used when `PHAROS_SOURCES` is not set;
 * secrets (tokens) still come from the environment. The kind's fields are checked
 * when the server builds its sources, every problem reported together at start-up.
 */
export interface SourceSpec {
  readonly kind: string;
  readonly name?: string;
  readonly [field: string]: unknown;
}

/** A stack as written by users. */
export interface StackDefinition {
  readonly name: string;
  readonly entities: Readonly<Record<string, EntityDefinition>>;
  /** Sources to run when `PHAROS_SOURCES` is not set; default: the registry's default source. */
  readonly sources?: readonly SourceSpec[];
  /**
   * What handlers may reach from their sandbox (`PHAROS_HANDLER_ISOLATION=process`);
   * default nothing. Inline isolation cannot enforce it.
   */
  readonly permissions?: StackPermissions;
}

/** A validated stack, as returned by `defineStack`. */
export interface Stack extends StackDefinition {
  /** Marks a value that went through validation. */
  readonly validated: true;
}
