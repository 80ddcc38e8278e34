import assert from "node:assert/strict";
import { createBackoff } from "./backoff.ts";

const neutral = () => 0.5;

Deno.test("backoff", async (t) => {
  await t.step("doubles from 100 ms and caps at 60 000 ms by default", () => {
    const backoff = createBackoff({ random: neutral });
    const delays = Array.from({ length: 13 }, () => backoff.next());
    assert.deepEqual(delays, [
      100,
      200,
      400,
      800,
      1600,
      3200,
      6400,
      12_800,
      25_600,
      51_200,
      60_000,
      60_000,
      60_000,
    ]);
    assert.equal(backoff.attempts, 13);
  });

  await t.step("stays at the cap however long it runs", () => {
    const backoff = createBackoff({ initialMs: 1, maxMs: 1000, random: neutral });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = backoff.next();
    assert.equal(last, 1000);
  });

  await t.step("honours initialMs and maxMs", () => {
    const backoff = createBackoff({ initialMs: 250, maxMs: 1500, random: neutral });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => backoff.next()), [250, 500, 1000, 1500, 1500]);
  });

  await t.step("jitter stays within ±20 % of the nominal delay and never above maxMs", () => {
    const low = createBackoff({ random: () => 0 });
    const high = createBackoff({ random: () => 0.999_999 });
    assert.deepEqual([1, 2, 3].map(() => low.next()), [80, 160, 320]);
    assert.deepEqual([1, 2, 3].map(() => high.next()), [120, 240, 480]);

    for (let i = 0; i < 7; i++) high.next();
    // Nominal 51 200 × 1.2 would be 61 440: capped.
    assert.equal(high.next(), 60_000);

    const random = createBackoff();
    let nominal = 100;
    for (let i = 0; i < 200; i++) {
      const delay = random.next();
      assert.ok(delay >= Math.floor(nominal * 0.8), `${delay} ≥ 0.8 × ${nominal}`);
      assert.ok(delay <= Math.min(60_000, Math.ceil(nominal * 1.2)), `${delay} ≤ 1.2 × ${nominal}`);
      nominal = Math.min(60_000, nominal * 2);
    }
  });

  await t.step("reset starts over at the first step", () => {
    const backoff = createBackoff({ random: neutral });
    backoff.next();
    backoff.next();
    assert.equal(backoff.next(), 400);
    backoff.reset();
    assert.equal(backoff.attempts, 0);
    assert.deepEqual([backoff.next(), backoff.next()], [100, 200]);
  });

  await t.step("rejects nonsensical bounds", () => {
    assert.throws(() => createBackoff({ initialMs: 0 }), RangeError);
    assert.throws(() => createBackoff({ initialMs: 100, maxMs: 50 }), RangeError);
  });
});
