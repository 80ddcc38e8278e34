import assert from "node:assert/strict";
import { compareSortValues } from "./mod.ts";

Deno.test("compareSortValues orders null < bool < number < string", () => {
  // (Array.prototype.sort moves `undefined` to the end itself, so it is checked apart.)
  const values = ["b", 10, true, null, "a", -1, false, 2.5, "10"];
  assert.deepEqual([...values].sort(compareSortValues), [
    null,
    false,
    true,
    -1,
    2.5,
    10,
    "10",
    "a",
    "b",
  ]);
  assert.equal(compareSortValues(null, undefined), 0, "missing ranks as null");
  assert.ok(compareSortValues(undefined, false) < 0);
  assert.equal(compareSortValues({}, null), 0, "unsortable values rank as null");
  assert.ok(compareSortValues(9, 10) < 0, "numbers compare numerically");
  assert.ok(compareSortValues("9", "10") > 0, "strings compare as text");
});
