import assert from "node:assert/strict";
import { type Bus, createMemoryBus } from "../../src/bus/mod.ts";
import { getLogger } from "../../src/log/mod.ts";
import { createProjector, type Projector, type ProjectorOptions } from "../../src/projector/mod.ts";
import type { Stack } from "../../src/stack/mod.ts";
import { createPathCache } from "../../src/vm/mod.ts";
import { FakeClock } from "./fake_clock.ts";
import { createRecordingTelemetry, type RecordingTelemetry } from "./recording_telemetry.ts";

/** A projector on a memory bus, built from fakes, for component tests. */
export interface TestProjector {
  readonly clock: FakeClock;
  readonly telemetry: RecordingTelemetry;
  readonly bus: Bus;
  readonly projector: Projector;
}

/**
 * Builds a projector for `stack` on a memory bus whose listeners must not throw (a
 * throwing listener fails the test), with a FakeClock and recording telemetry.
 */
export function createTestProjector(
  stack: Stack,
  options: Partial<Omit<ProjectorOptions, "stack" | "bus" | "clock">> = {},
): TestProjector {
  const clock = new FakeClock();
  const telemetry = createRecordingTelemetry();
  const bus = createMemoryBus({
    onListenerError: (topic, error) => assert.fail(`listener on ${topic} failed: ${error}`),
  });
  const projector = createProjector({
    stack,
    bus,
    clock,
    log: getLogger(["pharos", "test"]),
    telemetry: telemetry.projector,
    paths: createPathCache({ telemetry: telemetry.vm }),
    ...options,
  });
  return { clock, telemetry, bus, projector };
}
