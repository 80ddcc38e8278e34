import assert from "node:assert/strict";
import { parseLogFilter } from "./mod.ts";

const WS_SERVER = ["pharos", "ws", "server"];
const PROJECTOR = ["pharos", "projector"];
const RUNTIME = ["pharos", "runtime"];

Deno.test("log filter grammar", async (t) => {
  // [spec, category, level, allowed]
  const cases: [string, string[], string, boolean][] = [
    ["info", RUNTIME, "info", true],
    ["info", RUNTIME, "debug", false],
    ["info", WS_SERVER, "warning", true],
    ["", RUNTIME, "info", true], // empty: the default, info
    ["", RUNTIME, "debug", false],
    ["debug", PROJECTOR, "debug", true],
    ["debug", PROJECTOR, "trace", false],
    ["pharos.ws=debug", WS_SERVER, "debug", true], // the target and its children
    ["pharos.ws=debug", RUNTIME, "debug", false], // others keep the default (info)
    ["pharos.ws=debug", RUNTIME, "info", true],
    ["info,pharos.projector=debug,pharos.ws=trace", PROJECTOR, "debug", true],
    ["info,pharos.projector=debug,pharos.ws=trace", WS_SERVER, "trace", true],
    ["info,pharos.projector=debug,pharos.ws=trace", RUNTIME, "debug", false],
    ["debug,pharos.ws=error", WS_SERVER, "warning", false], // a target can be quieter
    ["debug,pharos.ws=error", WS_SERVER, "error", true],
    ["pharos.ws=debug,pharos.ws.server=off", WS_SERVER, "fatal", false], // longest match wins
    ["pharos.ws=debug,pharos.ws.server=off", ["pharos", "ws"], "debug", true],
    ["off", RUNTIME, "fatal", false],
    ["off,pharos.health=warn", ["pharos", "health"], "warning", true],
    ["off,pharos.health=warn", RUNTIME, "error", false],
    ["pharos::ws=trace", WS_SERVER, "trace", true], // Rust's separator
    ["pharos.vm", ["pharos", "vm"], "trace", true], // a bare target means everything
    [" WARN , pharos.ws = DEBUG ", WS_SERVER, "debug", true], // spaces and case
    [" WARN , pharos.ws = DEBUG ", RUNTIME, "info", false],
    ["error,warn", RUNTIME, "warning", true], // the last bare level wins
  ];
  for (const [spec, category, level, allowed] of cases) {
    await t.step(`${JSON.stringify(spec)}: ${category.join(".")} ${level} → ${allowed}`, () => {
      assert.equal(parseLogFilter(spec).allows(category, level), allowed);
    });
  }

  await t.step("lowestLevel is the most verbose level anything may log at", () => {
    assert.equal(parseLogFilter("info").lowestLevel, "info");
    assert.equal(parseLogFilter("warn,pharos.ws=trace").lowestLevel, "trace");
    assert.equal(parseLogFilter("off").lowestLevel, "off");
    assert.equal(parseLogFilter("off,pharos.ws=error").lowestLevel, "error");
  });

  await t.step("spec is normalised", () => {
    assert.equal(parseLogFilter("WARN, pharos::ws=Debug").spec, "warning,pharos.ws=debug");
  });

  const invalid: [string, RegExp][] = [
    ["loud", /"loud" is neither a level nor a pharos\.\* target/],
    ["pharos.ws=loud", /unknown level "loud"/],
    ["pharos.ws=", /unknown level ""/],
    ["=debug", /"" is not a pharos\.\* target/],
    ["hyper=debug", /"hyper" is not a pharos\.\* target/],
    ["pharos..ws=debug", /not a pharos\.\* target/],
  ];
  for (const [spec, message] of invalid) {
    await t.step(`invalid: ${JSON.stringify(spec)}`, () => {
      assert.throws(() => parseLogFilter(spec), (error: Error) => {
        assert.ok(error instanceof SyntaxError);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  await t.step("every bad directive is named in one error", () => {
    assert.throws(
      () => parseLogFilter("info,loud,pharos.ws=verbose"),
      /"loud".*; "pharos.ws=verbose"/,
    );
  });
});
