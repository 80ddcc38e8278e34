import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { TokenBucket } from "./token_bucket.ts";

Deno.test("token bucket: a second's worth at once, then the rate", () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(clock, 10);
  const takes = (n: number) =>
    Array.from({ length: n }, () => bucket.take()).filter(Boolean).length;
  assert.equal(takes(25), 10, "full at start: one second's worth");
  assert.equal(bucket.hasToken(), false);
  clock.advance(250);
  assert.equal(takes(25), 2, "2.5 tokens in 250 ms: two whole ones");
  clock.advance(50);
  assert.equal(bucket.hasToken(), true, "the half token and 0.5 more make one");
  assert.equal(bucket.takeRefilled(), true);
  assert.equal(bucket.takeRefilled(), false);
  clock.advance(60_000);
  assert.equal(takes(100), 10, "never more than the burst, however long it waited");
});
