import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { PIPELINE_DEFAULTS } from "../config/mod.ts";
import type { Source, SourceContext } from "../sources/mod.ts";
import { noopTelemetry } from "../telemetry/mod.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { createAppender, maxLagEventsFor } from "./appender.ts";
import type { EventLog, LogRecord } from "./event_log.ts";

/** Ingest's append through an appender whose instance trails the log by `lag` entries. */
function ingestAppend(lag: number, pipelineCapacity: number) {
  const appended: LogRecord[] = [];
  const log: Pick<EventLog, "append"> = {
    append(_epoch, records) {
      appended.push(...records);
      return Promise.resolve({ kind: "appended", appended: records.length, duplicates: 0, n: 1 });
    },
  };
  const appender = createAppender({
    log: log as EventLog,
    clock: new FakeClock(),
    logger: getLogger(["pharos", "cluster"]),
    telemetry: noopTelemetry.cluster,
    tracing: noopTelemetry.tracing,
    epoch: () => "e1",
    up: () => true,
    lag: () => lag,
    maxLag: maxLagEventsFor(pipelineCapacity),
    onEpochMismatch: () => assert.fail("no epoch mismatch here"),
    onTop: () => {},
  });
  const local: SourceContext = {
    sink: () => Promise.resolve(),
    offer: () => true,
    capacity: pipelineCapacity,
    onStatus: () => {},
  };
  const ingest = { name: "ingest", kind: "ingest" } as Source;
  const context = appender.contextFor(ingest, local, () => true);
  return { append: context.append!, appended };
}

Deno.test("maxLagEventsFor", async (t) => {
  await t.step("four pipeline capacities: 40 000 entries at the default capacity", () => {
    assert.equal(maxLagEventsFor(PIPELINE_DEFAULTS.capacity), 40_000);
    assert.equal(maxLagEventsFor(250), 1_000);
  });

  await t.step("appends go on up to that lag and are refused as full past it", async () => {
    const event = { type: "Transfer", key: "m1", data: {} };
    const atLimit = ingestAppend(1_000, 250);
    assert.equal(await atLimit.append([event]), "appended");
    assert.equal(atLimit.appended.length, 1);
    const past = ingestAppend(1_001, 250);
    assert.equal(await past.append([event]), "full");
    assert.deepEqual(past.appended, []);
  });
});
