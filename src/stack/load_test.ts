import assert from "node:assert/strict";
import { loadStack } from "./mod.ts";

const STACK_MODULE = new URL("./mod.ts", import.meta.url).href;

async function writeModule(dir: string, name: string, source: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, source);
  return path;
}

Deno.test("loadStack", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "pharos_stack_" });
  try {
    await t.step("loads a module whose default export comes from defineStack", async () => {
      await writeModule(
        dir,
        "good.ts",
        `import { defineStack } from ${JSON.stringify(STACK_MODULE)};
export default defineStack({ name: "orders", entities: { Order: { handlers: { Placed: () => ({ placed: true }) } } } });`,
      );
      // A relative specifier is resolved against the given working directory.
      const stack = await loadStack("./good.ts", dir);
      assert.equal(stack.name, "orders");
      assert.deepEqual(Object.keys(stack.entities), ["Order"]);
    });

    await t.step(
      "rejects a default export that is not a valid stack, listing its problems",
      async () => {
        const path = await writeModule(
          dir,
          "bad.ts",
          `export default { name: "bad name", entities: { Order: { handlers: { Placed: 1 } } } };`,
        );
        await assert.rejects(loadStack(path, "/"), (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^Stack module .*bad\.ts is not a valid stack: /);
          assert.match(error.message, /stack name must match/);
          assert.match(error.message, /handler "Placed" is not a function/);
          return true;
        });
      },
    );

    await t.step("paths with '#', '?', '%' or spaces are file paths, not URL syntax", async () => {
      const odd = `${dir}/odd #1?x%20 dir`;
      await Deno.mkdir(odd);
      await writeModule(
        odd,
        "stack #2.ts",
        `import { defineStack } from ${JSON.stringify(STACK_MODULE)};
export default defineStack({ name: "odd", entities: { A: { handlers: {} } } });`,
      );
      assert.equal((await loadStack("./stack #2.ts", odd)).name, "odd");
      assert.equal((await loadStack(`${odd}/stack #2.ts`, "/")).name, "odd");
    });

    await t.step("rejects a valid-looking object that did not go through defineStack", async () => {
      const path = await writeModule(
        dir,
        "plain.ts",
        `export default { name: "plain", entities: { Order: { handlers: {} } } };`,
      );
      await assert.rejects(
        loadStack(path, "/"),
        /is not a valid stack: default export was not created with defineStack\(\)/,
      );
    });

    await t.step("a module that cannot be imported is named in the error", async () => {
      await assert.rejects(loadStack("./missing.ts", dir), (error: Error) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /^Cannot load stack module \.\/missing\.ts: /);
        assert.ok(error.cause !== undefined);
        return true;
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
