import assert from "node:assert/strict";
import {
  adoptPatch,
  appendPathsIn,
  clonePatchValue,
  MAX_ARRAY_ELEMENTS,
  mergeOwnedPatch,
  mergePatch,
} from "./mod.ts";

const none = new Set<string>();
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

Deno.test("mergePatch", async (t) => {
  await t.step("merges nested objects key by key", () => {
    const target = { a: 1, nested: { x: 1, y: 2, deep: { keep: true } } };
    mergePatch(target, { b: 2, nested: { y: 20, deep: { added: 1 } } }, none);
    assert.deepEqual(target, {
      a: 1,
      b: 2,
      nested: { x: 1, y: 20, deep: { keep: true, added: 1 } },
    });
  });

  await t.step("concatenates arrays at append paths, nested paths included", () => {
    const target = { log: [1, 2], inner: { events: ["a"] } };
    mergePatch(
      target,
      { log: [3], inner: { events: ["b", "c"] } },
      new Set(["log", "inner.events"]),
    );
    assert.deepEqual(target, { log: [1, 2, 3], inner: { events: ["a", "b", "c"] } });
  });

  await t.step("replaces arrays that are not at an append path", () => {
    const target = { tags: [1, 2, 3], inner: { events: ["a"] } };
    // "events" is an append path only under its full dotted name.
    mergePatch(target, { tags: [9], inner: { events: ["b"] } }, new Set(["events"]));
    assert.deepEqual(target, { tags: [9], inner: { events: ["b"] } });
  });

  await t.step("an append path with no array yet takes the incoming array", () => {
    const target: Record<string, unknown> = {};
    mergePatch(target, { log: [1] }, new Set(["log"]));
    assert.deepEqual(target, { log: [1] });
  });

  await t.step("keeps only the last 100 elements of appended and replaced arrays", () => {
    const target = { log: range(0, 90) };
    mergePatch(target, { log: range(90, 120), big: range(0, 150) }, new Set(["log"]));
    assert.equal(MAX_ARRAY_ELEMENTS, 100);
    assert.deepEqual(target.log, range(20, 120));
    assert.deepEqual((target as Record<string, unknown>).big, range(50, 150));
  });

  await t.step("null and scalars replace; undefined leaves the field alone", () => {
    const target: Record<string, unknown> = { obj: { x: 1 }, n: 1, s: "a", arr: [1], keep: 5 };
    mergePatch(
      target,
      { obj: null, n: "one", s: { now: "object" }, arr: 7, keep: undefined },
      none,
    );
    assert.deepEqual(target, { obj: null, n: "one", s: { now: "object" }, arr: 7, keep: 5 });
  });

  await t.step("values are copied from the patch, never aliased", () => {
    const target: Record<string, unknown> = { log: [0] };
    const patch = { obj: { x: 1 }, list: [{ y: 1 }], log: [{ z: 1 }] };
    mergePatch(target, patch, new Set(["log"]));
    patch.obj.x = 99;
    patch.list[0]!.y = 99;
    patch.log[0]!.z = 99;
    patch.list.push({ y: 2 });
    assert.deepEqual(target, { obj: { x: 1 }, list: [{ y: 1 }], log: [0, { z: 1 }] });
  });

  await t.step("returns the target it merged into", () => {
    const target = {};
    assert.equal(mergePatch(target, { a: 1 }, none), target);
  });
});

Deno.test("clonePatchValue copies plain data and caps arrays", () => {
  const date = new Date(0);
  const source = { a: [{ b: 1 }], date, long: range(0, 101) };
  const copy = clonePatchValue(source) as typeof source;
  assert.deepEqual(copy.a, [{ b: 1 }]);
  assert.notEqual(copy.a, source.a);
  assert.notEqual(copy.a[0], source.a[0]);
  assert.equal(copy.date, date); // not plain data: shared as is
  assert.deepEqual(copy.long, range(1, 101));
});

Deno.test("appendPathsIn lists the append paths a patch carries an array for", () => {
  const paths = ["log", "inner.events", "missing", "notArray"];
  assert.deepEqual(
    appendPathsIn({ log: [1], inner: { events: [] }, notArray: 5 }, paths),
    ["log", "inner.events"],
  );
  assert.deepEqual(appendPathsIn({ inner: 5 }, paths), []);
  assert.deepEqual(appendPathsIn({ log: [1] }, []), []);
  assert.deepEqual(appendPathsIn({ log: [1] }, ["missing", "log"]), ["log"]);
  const all = ["log", "inner.events"];
  assert.equal(appendPathsIn({ log: [], inner: { events: [2] } }, all), all, "all there: shared");
});

Deno.test("mergeOwnedPatch and adoptPatch take values over, capping arrays in place", () => {
  const long = Array.from({ length: MAX_ARRAY_ELEMENTS + 5 }, (_, i) => i);
  const entity = adoptPatch({ list: long, nested: { deep: [...long] } });
  assert.equal(entity.list, long, "the same array, not a copy");
  assert.equal((entity.list as number[]).length, MAX_ARRAY_ELEMENTS);
  assert.equal((entity.list as number[])[0], 5, "the oldest dropped first");
  assert.equal((entity.nested as { deep: number[] }).deep.length, MAX_ARRAY_ELEMENTS);
  const item = { v: 1 };
  mergeOwnedPatch(entity, { list: [item], nested: { more: true } }, new Set(["list"]));
  assert.equal((entity.list as unknown[]).at(-1), item);
  assert.equal((entity.list as unknown[]).length, MAX_ARRAY_ELEMENTS);
  assert.deepEqual(Object.keys(entity.nested as object), ["deep", "more"]);
});
