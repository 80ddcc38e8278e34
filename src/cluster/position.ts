/** A place in the log: the stream id of an entry and its offset (`n`). */
export interface LogPosition {
  readonly id: string;
  readonly n: number;
}

/** The start of an empty log. */
export const LOG_START: LogPosition = Object.freeze({ id: "0-0", n: 0 });

/** Compares two stream ids (`ms-seq`) numerically. */
export function compareIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
