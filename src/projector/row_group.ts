import { rowGroupOf } from "../stack/mod.ts";
import type { PathCache } from "../vm/mod.ts";

/**
 * The row group `row` is in under a row rule on `field`: the group of the value at that
 * dotted path, none for a missing row or a value no claim can equal.
 */
export function rowGroupIn(
  paths: PathCache,
  row: Readonly<Record<string, unknown>> | undefined,
  field: string,
): string | undefined {
  return row === undefined ? undefined : rowGroupOf(paths.get(row, field));
}
