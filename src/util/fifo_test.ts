import assert from "node:assert/strict";
import { Fifo } from "./mod.ts";

Deno.test("Fifo", async (t) => {
  await t.step("first in, first out; peek leaves the item", () => {
    const fifo = new Fifo<number>();
    assert.equal(fifo.shift(), undefined);
    for (const n of [1, 2, 3]) fifo.push(n);
    assert.equal(fifo.peek(), 1);
    assert.equal(fifo.size, 3);
    assert.deepEqual([fifo.shift(), fifo.shift()], [1, 2]);
    fifo.push(4);
    assert.deepEqual([...fifo], [3, 4]);
    assert.equal(fifo.size, 2);
    fifo.clear();
    assert.equal(fifo.size, 0);
    assert.equal(fifo.peek(), undefined);
  });

  await t.step("order and size hold across compactions", () => {
    const fifo = new Fifo<number>();
    let next = 0;
    let taken = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) fifo.push(next++);
      for (let i = 0; i < 200; i++) assert.equal(fifo.shift(), taken++);
    }
    assert.equal(fifo.size, next - taken);
    assert.deepEqual([...fifo].slice(0, 3), [taken, taken + 1, taken + 2]);
  });
});
