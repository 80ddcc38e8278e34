import assert from "node:assert/strict";
import { closestLogTarget, isLogTarget, LOG_TARGETS } from "./mod.ts";

const ROOT = new URL("../../", import.meta.url);

/** The server's source files (tests aside): where loggers get their categories. */
async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield url;
  }
}

/** The literal category segments a file names: `getChild("ws")`, `log("http")`, `getLogger([…])`. */
function namedSegments(text: string): string[] {
  const segments: string[] = [];
  const calls = /\b(?:getChild|getLogger|log)\(\s*(\[[^\]]*\]|"[^"]*")/g;
  for (const [, argument] of text.matchAll(calls)) {
    for (const [, segment] of argument!.matchAll(/"([^"]*)"/g)) segments.push(segment!);
  }
  return segments;
}

Deno.test("LOG_TARGETS", async (t) => {
  await t.step("every category segment the code names is in a known target", async () => {
    const known = new Set(LOG_TARGETS.flatMap((target) => target.split(".")));
    const files = [new URL("main.ts", ROOT), new URL("boot.ts", ROOT), new URL("serve.ts", ROOT)];
    for await (const file of sourceFiles(new URL("src/", ROOT))) files.push(file);
    const missing: string[] = [];
    let seen = 0;
    for (const file of files) {
      for (const segment of namedSegments(await Deno.readTextFile(file))) {
        seen++;
        // OpenTelemetry's logger (`provider.getLogger(LOGGER_NAME)`) is no LogTape category.
        if (segment !== "" && !known.has(segment) && !segment.includes("@")) {
          missing.push(`${segment} (${file.pathname.slice(ROOT.pathname.length)})`);
        }
      }
    }
    assert.ok(seen > 20, `only ${seen} category segments found: is the pattern stale?`);
    assert.deepEqual(missing, [], "add these categories to LOG_TARGETS (src/log/targets.ts)");
  });

  await t.step("the app's component loggers are each a target", () => {
    for (
      const name of ["auth", "vm", "sources", "ws", "bus", "projector", "cluster", "http", "log"]
    ) {
      assert.ok(isLogTarget(`pharos.${name}`), `pharos.${name}`);
    }
  });

  await t.step("closestLogTarget", () => {
    assert.equal(closestLogTarget("hyperstack_server"), "pharos.ws.server");
    assert.equal(closestLogTarget("PROJECTOR"), "pharos.projector");
    assert.equal(closestLogTarget("pharos.vm.handlers"), "pharos.vm.handler");
    assert.equal(closestLogTarget("x"), "pharos"); // far from all: the broadest
  });
});
