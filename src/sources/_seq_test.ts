import assert from "node:assert/strict";
import * as vm from "../vm/mod.ts";
import { compareSeq, isSeq, toSeq } from "./_seq.ts";

Deno.test("source cursors match the VM's _seq exactly", () => {
  const positions: [number, number][] = [[0, 0], [9, 7], [10, 0], [10, 12], [123_456_789, 42]];
  for (const [slot, index] of positions) assert.equal(toSeq(slot, index), vm.toSeq(slot, index));
  const seqs = positions.map(([slot, index]) => vm.toSeq(slot, index));
  for (const a of seqs) {
    for (const b of seqs) assert.equal(Math.sign(compareSeq(a, b)), Math.sign(vm.compareSeq(a, b)));
  }
  for (const value of ["9:000000000001", "09:000000000001", "9:1", "", 7, "x:000000000000"]) {
    assert.equal(isSeq(value), vm.isSeq(value), String(value));
  }
});
