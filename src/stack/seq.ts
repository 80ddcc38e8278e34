const SEQ = /^(0|[1-9]\d*):(\d{12})$/;

/** Formats a `_seq` cursor: `"<slot>:<index padded to 12 digits>"`. */
export function toSeq(slot: number, index: number): string {
  return `${slot}:${String(index).padStart(12, "0")}`;
}

/** True for a well-formed `_seq` cursor. */
export function isSeq(value: unknown): value is string {
  return typeof value === "string" && SEQ.test(value);
}

/**
 * Compares two `_seq` cursors numerically as (slot, index), never as text:
 * `"9:…"` sorts before `"10:…"`. Negative, zero or positive like `Array.sort`.
 */
export function compareSeq(a: string, b: string): number {
  const ca = a.indexOf(":");
  const cb = b.indexOf(":");
  // Slots have no leading zeros, so a longer slot is a larger one.
  if (ca !== cb) return ca - cb;
  const slot = a.slice(0, ca) < b.slice(0, cb) ? -1 : a.slice(0, ca) > b.slice(0, cb) ? 1 : 0;
  if (slot !== 0) return slot;
  const ia = a.slice(ca + 1);
  const ib = b.slice(cb + 1);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/** Where a {@link SeqCounter} stands, to be saved and restored (cluster checkpoints). */
export interface SeqCounterState {
  /** The slot last numbered, null before the first. */
  readonly slot: number | null;
  /** The index the next event of that slot without its own gets. */
  readonly next: number;
}

/**
 * Numbers events' `_seq` within their slot, as every part of Pharos must agree on it: an
 * event's own `index` when it has one, else its arrival order in the slot; a new slot starts
 * at 0, and within a slot the count only moves forward. The VM, the sources that resume from
 * a cursor and the cluster's appender each keep one.
 */
export interface SeqCounter {
  /**
   * The `_seq` and index of `event`, counting it; undefined for an event without a slot (a
   * slot or an index that is not a non-negative safe integer counts as absent).
   */
  next(event: { readonly slot?: unknown; readonly index?: unknown }):
    | { readonly seq: string; readonly index: number }
    | undefined;
  state(): SeqCounterState;
  restore(state: SeqCounterState): void;
}

const isPosition = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** Creates a {@link SeqCounter} at the start. */
export function createSeqCounter(): SeqCounter {
  let slot: number | undefined;
  let next = 0;
  return {
    next(event) {
      if (!isPosition(event.slot)) return undefined;
      if (event.slot !== slot) {
        slot = event.slot;
        next = 0;
      }
      const index = isPosition(event.index) ? event.index : next;
      next = Math.max(next, index + 1);
      return { seq: toSeq(event.slot, index), index };
    },
    state: () => ({ slot: slot ?? null, next }),
    restore(state) {
      slot = state.slot ?? undefined;
      next = state.next;
    },
  };
}
