import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { demoStack } from "../stack/mod.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { HostPool, type HostSpec } from "./mod.ts";
import { createHostedVm } from "./hosted_vm.ts";

// A pool that is never asked for a host starts no process: its report is that of a server
// whose first host is not up yet.
Deno.test("createHostedVm reports its handler hosts under /status handlers", async (t) => {
  const clock = new FakeClock();
  const telemetry = createRecordingTelemetry().vm;
  const log = getLogger(["pharos", "vm"]);
  const spec: HostSpec = {
    module: { url: "file:///nowhere/stack.ts", exportName: "default" },
    settings: { stateTableSize: 100, handlerTimeoutMs: 50, functionCallMetrics: false },
    permissions: { net: ["example.com:443"] },
    memoryMb: 64,
    configPath: undefined,
    env: {},
  };
  const pool = new HostPool({ spec, clock, log, telemetry, watchdogMs: 100 });
  const vm = createHostedVm({
    stack: demoStack,
    pool,
    clock,
    telemetry,
    log,
    stateTableSize: 100,
    handlerTimeoutMs: 50,
  });

  await t.step("the pool's own report: process isolation, hosts, restarts, permissions", () => {
    assert.deepEqual(vm.handlersStatus(), pool.status());
    assert.deepEqual(vm.handlersStatus(), {
      isolation: "process",
      pid: null,
      uptimeMs: null,
      restarts: 0,
      memory: null,
      sparePid: null,
      available: true,
      permissions: "net=[example.com:443]",
    });
  });
});
