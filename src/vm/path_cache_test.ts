import assert from "node:assert/strict";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { createPathCache } from "./mod.ts";

Deno.test("path cache", async (t) => {
  await t.step("reads dotted paths and counts misses then hits", () => {
    const telemetry = createRecordingTelemetry();
    const paths = createPathCache({ telemetry: telemetry.vm });
    const value = { lastTransfer: { slot: 7 } };
    assert.equal(paths.get(value, "lastTransfer.slot"), 7);
    assert.equal(telemetry.count("vm.pathCacheMiss"), 1);
    assert.equal(telemetry.count("vm.pathCacheHit"), 0);
    assert.equal(paths.get(value, "lastTransfer.slot"), 7);
    assert.deepEqual(paths.segments("lastTransfer.slot"), ["lastTransfer", "slot"]);
    assert.equal(telemetry.count("vm.pathCacheMiss"), 1);
    assert.equal(telemetry.count("vm.pathCacheHit"), 2);
  });

  await t.step("a missing or non-object step gives undefined", () => {
    const paths = createPathCache({ telemetry: createRecordingTelemetry().vm });
    assert.equal(paths.get({ a: 1 }, "a.b"), undefined);
    assert.equal(paths.get({ a: null }, "a.b"), undefined);
    assert.equal(paths.get(undefined, "a"), undefined);
  });

  await t.step("a full cache starts over instead of growing", () => {
    const telemetry = createRecordingTelemetry();
    const paths = createPathCache({ telemetry: telemetry.vm, capacity: 2 });
    paths.segments("a");
    paths.segments("b");
    paths.segments("c"); // clears, keeps only "c"
    paths.segments("a");
    assert.equal(telemetry.count("vm.pathCacheMiss"), 4);
    paths.segments("a");
    assert.equal(telemetry.count("vm.pathCacheHit"), 1);
  });
});
