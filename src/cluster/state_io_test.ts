import assert from "node:assert/strict";
import { demoStack } from "../stack/mod.ts";
import { createVm } from "../vm/mod.ts";
import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { EMPTY_STATE, exportState, importState } from "./state_io.ts";

function server() {
  const clock = new FakeClock();
  const telemetry = createRecordingTelemetry();
  const vm = createVm({ stack: demoStack, clock, telemetry: telemetry.vm });
  const { projector } = createTestProjector(demoStack);
  return { vm, projector };
}

const transfer = (mint: string, slot: number) => ({
  type: "Transfer",
  slot,
  data: { mint, from: "w1", to: "w2", amount: "9007199254740993" },
});

Deno.test("a checkpoint carries handler state (bigints too), view caches and _seq numbering", async () => {
  const first = server();
  for (const [mint, slot] of [["A", 10], ["B", 10], ["A", 11]] as const) {
    const { mutations } = await first.vm.process(transfer(mint, slot));
    first.projector.apply(mutations);
  }
  const text = exportState(first);

  const second = server();
  importState(second, text);
  assert.deepEqual(second.vm.state("Token", "A"), first.vm.state("Token", "A"));
  assert.equal(typeof second.vm.state("Token", "A")?.volume, "bigint");
  assert.deepEqual(second.projector.exportState(), first.projector.exportState());
  // Numbering goes on where it stood: the next event in slot 11 is index 1 on both.
  const next = transfer("B", 11);
  const [a, b] = [await first.vm.process(next), await second.vm.process(next)];
  assert.equal(a.mutations[0]?.seq, "11:000000000001");
  assert.deepEqual(b.mutations, a.mutations);
});

Deno.test("importing replaces what was there; the empty state clears it", async () => {
  const one = server();
  const { mutations } = await one.vm.process(transfer("A", 1));
  one.projector.apply(mutations);
  importState(one, EMPTY_STATE);
  assert.equal(one.vm.state("Token", "A"), undefined);
  assert.deepEqual(one.projector.exportState(), { Token: [] });
  assert.throws(() => importState(one, '{"v":2}'), TypeError);
});
