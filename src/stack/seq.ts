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
