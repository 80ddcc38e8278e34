import assert from "node:assert/strict";
import { compareSeq, createSeqCounter, isSeq, toSeq } from "./mod.ts";

Deno.test("_seq cursors", async (t) => {
  await t.step("toSeq pads the index to 12 digits", () => {
    assert.equal(toSeq(123456789, 42), "123456789:000000000042");
    assert.equal(toSeq(0, 0), "0:000000000000");
  });

  await t.step("compareSeq compares slots numerically, not as text", () => {
    assert.ok(compareSeq("9:000000000000", "10:000000000000") < 0);
    assert.ok(compareSeq("10:000000000000", "9:000000000999") > 0);
    assert.ok(compareSeq("100:000000000001", "99:999999999999") > 0);
    assert.ok("9:000000000000" > "10:000000000000", "as text the order would be wrong");
  });

  await t.step("compareSeq orders by index within a slot, and equal cursors are equal", () => {
    assert.ok(compareSeq(toSeq(5, 2), toSeq(5, 10)) < 0);
    assert.ok(compareSeq(toSeq(5, 10), toSeq(5, 2)) > 0);
    assert.equal(compareSeq(toSeq(5, 7), toSeq(5, 7)), 0);
  });

  await t.step("sorting with compareSeq gives numeric order", () => {
    const seqs = [toSeq(10, 0), toSeq(9, 5), toSeq(100, 0), toSeq(9, 1), toSeq(1, 0)];
    assert.deepEqual(seqs.sort(compareSeq), [
      toSeq(1, 0),
      toSeq(9, 1),
      toSeq(9, 5),
      toSeq(10, 0),
      toSeq(100, 0),
    ]);
  });

  await t.step("isSeq accepts only well-formed cursors", () => {
    assert.equal(isSeq("0:000000000000"), true);
    assert.equal(isSeq("123:000000000042"), true);
    for (
      const bad of ["123", "123:42", "0123:000000000000", "-1:000000000000", "a:000000000000", 5]
    ) {
      assert.equal(isSeq(bad), false, String(bad));
    }
  });
});

Deno.test("a seq counter numbers events within their slot", async (t) => {
  await t.step("arrival order, its own index when it has one, never backwards", () => {
    const counter = createSeqCounter();
    const seqs = [
      { slot: 5 },
      { slot: 5 },
      { slot: 5, index: 7 },
      { slot: 5 },
      { slot: 5, index: 2 },
      { slot: 5 },
      { slot: 6 },
    ].map((event) => counter.next(event)?.seq);
    assert.deepEqual(seqs, [
      toSeq(5, 0),
      toSeq(5, 1),
      toSeq(5, 7),
      toSeq(5, 8),
      toSeq(5, 2),
      toSeq(5, 9),
      toSeq(6, 0),
    ]);
  });

  await t.step("no slot, or a slot or index that is not a position, gives or counts none", () => {
    const counter = createSeqCounter();
    assert.equal(counter.next({}), undefined);
    assert.equal(counter.next({ slot: -1 }), undefined);
    assert.equal(counter.next({ slot: 1.5 }), undefined);
    assert.deepEqual(counter.next({ slot: 3, index: -4 }), { seq: toSeq(3, 0), index: 0 });
  });

  await t.step("its state is saved and restored", () => {
    const one = createSeqCounter();
    one.next({ slot: 8 });
    one.next({ slot: 8 });
    const two = createSeqCounter();
    two.restore(one.state());
    assert.deepEqual(two.state(), { slot: 8, next: 2 });
    assert.equal(two.next({ slot: 8 })?.seq, toSeq(8, 2));
  });
});
