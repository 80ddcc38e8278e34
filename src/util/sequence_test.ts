import assert from "node:assert/strict";
import { inOrderOnce } from "./sequence.ts";

Deno.test("inOrderOnce runs its steps one after another, once, however often it is called", async () => {
  const ran: string[] = [];
  let releaseFirst!: () => void;
  const run = inOrderOnce([
    () => new Promise<void>((resolve) => (releaseFirst = () => (ran.push("first"), resolve()))),
    () => ran.push("second"),
  ]);
  const [a, b] = [run(), run()];
  assert.equal(a, b);
  assert.deepEqual(ran, []); // the second step waits for the first
  releaseFirst();
  await a;
  assert.deepEqual(ran, ["first", "second"]);
  await run();
  assert.deepEqual(ran, ["first", "second"]);
});

Deno.test("inOrderOnce stops at a failing step and reports it to every caller", async () => {
  const ran: string[] = [];
  const run = inOrderOnce([() => Promise.reject(new Error("stuck")), () => ran.push("after")]);
  await assert.rejects(run(), /stuck/);
  await assert.rejects(run(), /stuck/);
  assert.deepEqual(ran, []);
});
