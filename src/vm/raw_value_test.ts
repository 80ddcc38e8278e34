import assert from "node:assert/strict";
import { toWireValue } from "./wire_value.ts";
import { decodeRaw, encodeRaw, wireOfEncoded } from "./raw_value.ts";

/** What crossing the process boundary does to `value`. */
function roundTrip(value: unknown): unknown {
  return decodeRaw(JSON.parse(JSON.stringify(encodeRaw(value))));
}

Deno.test("raw values survive the trip through JSON", async (t) => {
  await t.step("bigint, Date, non-finite numbers and undefined array items come back", () => {
    const state = {
      volume: 2n ** 70n,
      small: -5n,
      at: new Date("2026-12-04T10:00:00.123Z"),
      ratio: NaN,
      up: Infinity,
      down: -Infinity,
      holes: [1, undefined, 3],
      nested: { deep: [{ amount: 10n }] },
      plain: "text",
      n: 1.5,
      flag: true,
      none: null,
    };
    assert.deepEqual(roundTrip(state), state);
  });

  await t.step("strings that look like tags stay strings", () => {
    const state = { a: "\u0000n12", b: "\u0000", c: "\u0000s" };
    assert.deepEqual(roundTrip(state), state);
  });

  await t.step("undefined fields, functions and symbols are dropped as JSON drops them", () => {
    assert.deepEqual(roundTrip({ a: undefined, f: () => 1, s: Symbol("x"), b: 2 }), { b: 2 });
  });

  await t.step("other objects keep their own enumerable fields", () => {
    class Point {
      constructor(readonly x: number, readonly y: number) {}
    }
    assert.deepEqual(roundTrip({ p: new Point(1, 2), m: new Map([["k", 1]]) }), {
      p: { x: 1, y: 2 },
      m: {},
    });
  });

  await t.step("nesting deeper than 64 levels is refused, not a stack overflow", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 70; i++) deep = (deep.next = {}) as Record<string, unknown>;
    assert.throws(() => encodeRaw(root), RangeError);
  });

  await t.step("an unknown tag is an error, not a silent value", () => {
    assert.throws(() => decodeRaw({ a: "\u0000zzz" }), TypeError);
  });
});

Deno.test("wireOfEncoded gives what toWireValue gives for the raw value", () => {
  const values = [
    { volume: 2n ** 70n, small: 12n, negative: -(2n ** 60n) },
    { at: new Date("2026-12-04T10:00:00.123Z"), nan: NaN, inf: -Infinity },
    { list: [1, undefined, "x", 2 ** 60, { deep: [3n] }], tagged: "\u0000n1" },
    { nothing: undefined, f: () => 1, nested: { a: null, b: true } },
  ];
  for (const value of values) {
    const encoded = JSON.parse(JSON.stringify(encodeRaw(value)));
    assert.deepEqual(wireOfEncoded(encoded), toWireValue(value));
  }
});
