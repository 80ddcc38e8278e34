import assert from "node:assert/strict";
import { LruMap } from "./mod.ts";

Deno.test("LruMap", async (t) => {
  await t.step("evicts the least recently written entry when over capacity", () => {
    const evicted: [string, number][] = [];
    const lru = new LruMap<string, number>(2, (key, value) => evicted.push([key, value]));
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    assert.deepEqual(evicted, [["a", 1]]);
    assert.equal(lru.has("a"), false);
    assert.deepEqual([...lru.entries()], [["b", 2], ["c", 3]]);
    assert.equal(lru.size, 2);
  });

  await t.step("rewriting a key makes it the newest; reading does not", () => {
    const evicted: string[] = [];
    const lru = new LruMap<string, number>(2, (key) => evicted.push(key));
    lru.set("a", 1);
    lru.set("b", 2);
    assert.equal(lru.get("a"), 1); // a read must not refresh "a"
    lru.set("b", 20); // a write refreshes "b"
    lru.set("c", 3);
    assert.deepEqual(evicted, ["a"]);
    lru.set("b", 21);
    lru.set("d", 4);
    assert.deepEqual(evicted, ["a", "c"]);
    assert.deepEqual([...lru.entries()], [["b", 21], ["d", 4]]);
  });

  await t.step("rewriting a key at capacity evicts nothing", () => {
    let evictions = 0;
    const lru = new LruMap<string, number>(2, () => evictions++);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("a", 10);
    assert.equal(evictions, 0);
    assert.equal(lru.size, 2);
  });

  await t.step("newestFirst lists entries from most to least recently written", () => {
    const lru = new LruMap<string, number>(5);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    lru.set("a", 4);
    assert.deepEqual([...lru.newestFirst()], [["a", 4], ["c", 3], ["b", 2]]);
  });

  await t.step("full, delete and capacity", () => {
    const lru = new LruMap<string, number>(2);
    assert.equal(lru.capacity, 2);
    lru.set("a", 1);
    assert.equal(lru.full, false);
    lru.set("b", 2);
    assert.equal(lru.full, true);
    assert.equal(lru.delete("a"), true);
    assert.equal(lru.delete("a"), false);
    assert.equal(lru.full, false);
  });

  await t.step("rejects a capacity that is not a positive integer", () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new LruMap(capacity), RangeError, `capacity ${capacity}`);
    }
  });
});
