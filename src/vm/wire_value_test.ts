import assert from "node:assert/strict";
import { toWireValue } from "./mod.ts";

Deno.test("toWireValue", async (t) => {
  await t.step("bigints beyond ±(2^53-1) become decimal strings, safe ones numbers", () => {
    assert.equal(toWireValue(9007199254740992n), "9007199254740992");
    assert.equal(toWireValue(123456789012345678901234567890n), "123456789012345678901234567890");
    assert.equal(toWireValue(-9007199254740992n), "-9007199254740992");
    assert.equal(toWireValue(9007199254740991n), 9007199254740991);
    assert.equal(toWireValue(-9007199254740991n), -9007199254740991);
    assert.equal(toWireValue(42n), 42);
  });

  await t.step("unsafe integer numbers become their exact decimal string", () => {
    assert.equal(toWireValue(2 ** 53), "9007199254740992");
    assert.equal(toWireValue(-(2 ** 60)), "-1152921504606846976");
    assert.equal(toWireValue(1e21), "1000000000000000000000");
    assert.equal(toWireValue(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
    assert.equal(toWireValue(1.5), 1.5);
  });

  await t.step("NaN and infinities become null", () => {
    assert.equal(toWireValue(Number.NaN), null);
    assert.equal(toWireValue(Number.POSITIVE_INFINITY), null);
    assert.deepEqual(toWireValue({ x: Number.NEGATIVE_INFINITY }), { x: null });
  });

  await t.step("Date becomes its ISO string", () => {
    assert.equal(toWireValue(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), "2026-01-02T03:04:05.000Z");
  });

  await t.step("undefined, functions and symbols are dropped from objects, null in arrays", () => {
    assert.deepEqual(toWireValue({ a: undefined, f: () => 1, s: Symbol("x"), keep: 1 }), {
      keep: 1,
    });
    assert.deepEqual(toWireValue([undefined, () => 1, 2]), [null, null, 2]);
    assert.equal(toWireValue(undefined), undefined);
  });

  await t.step("nested values are converted and nothing is shared", () => {
    const input = { deep: { list: [{ big: 2n ** 64n }], when: new Date(0) } };
    const wire = toWireValue(input) as { deep: { list: { big: unknown }[] } };
    assert.deepEqual(wire, {
      deep: { list: [{ big: "18446744073709551616" }], when: "1970-01-01T00:00:00.000Z" },
    });
    assert.notEqual(wire.deep, input.deep);
    assert.equal(
      JSON.stringify(wire),
      '{"deep":{"list":[{"big":"18446744073709551616"}],"when":"1970-01-01T00:00:00.000Z"}}',
    );
  });

  await t.step("refuses nesting deeper than 64 levels", () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 70; i++) deep = { deep };
    assert.throws(() => toWireValue(deep), RangeError);
  });
});
