import assert from "node:assert/strict";
import { createTaskTracker } from "./mod.ts";

Deno.test("task tracker", async (t) => {
  await t.step("idle() waits for every running task, including ones they start", async () => {
    const tasks = createTaskTracker(() => assert.fail("no task should fail"));
    const done: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    tasks.run("first", async () => {
      await gate;
      done.push("first");
      tasks.run("second", async () => {
        await Promise.resolve();
        done.push("second");
      });
    });
    assert.equal(tasks.size, 1);
    const idle = tasks.idle();
    release();
    await idle;
    assert.deepEqual(done, ["first", "second"]);
    assert.equal(tasks.size, 0);
  });

  await t.step("a failing task is reported by name and does not reject idle()", async () => {
    const failures: [string, unknown][] = [];
    const tasks = createTaskTracker((name, error) => failures.push([name, error]));
    const boom = new Error("boom");
    tasks.run("async-failure", () => Promise.reject(boom));
    tasks.run("sync-throw", () => {
      throw new TypeError("thrown before any await");
    });
    tasks.run("fine", () => Promise.resolve());
    await tasks.idle();
    const byName = new Map(failures);
    assert.equal(failures.length, 2);
    assert.equal(byName.get("async-failure"), boom);
    assert.ok(byName.get("sync-throw") instanceof TypeError);
    assert.equal(tasks.size, 0);
  });

  await t.step("idle() resolves at once when nothing runs", async () => {
    const tasks = createTaskTracker(() => {});
    await tasks.idle();
    assert.equal(tasks.size, 0);
  });
});
