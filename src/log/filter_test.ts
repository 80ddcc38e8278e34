import assert from "node:assert/strict";
import { describeIgnored, LOG_TARGETS, parseLogFilter } from "./mod.ts";

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

  // Bad syntax and unknown levels are refused (start-up exits 2); unknown targets are not.
  const invalid: [string, RegExp][] = [
    ["pharos.ws=loud", /unknown level "loud"/],
    ["pharos.ws=", /unknown level ""/],
    ["hyper=verbose", /unknown level "verbose"/], // an unknown target does not excuse it
    ["=debug", /"" is not a target such as pharos\.ws/],
    ["pharos..ws=debug", /"pharos\.\.ws" is not a target/],
    ["pharos.ws!=debug", /is not a target/],
    ["9lives", /"9lives" is neither a level nor a target/],
    ["debg", /"debg": unknown level \(did you mean debug\?/], // a bare word one edit from a level
    ["infoo", /did you mean info\?/],
    ["WARNN", /did you mean warn\?/],
    ["errors", /did you mean error\?/],
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
      () => parseLogFilter("info,infoo,pharos.ws=verbose"),
      /"infoo".*; "pharos.ws=verbose"/,
    );
  });
});

Deno.test("log filter: a target Pharos does not log under is ignored, naming the closest", async (t) => {
  const cases: [spec: string, inForce: string, ignored: [string, string][]][] = [
    // The seeds' own RUST_LOG, and a Rust neighbour's.
    ["info,hyperstack_server=debug", "info", [["hyperstack_server", "pharos.ws.server"]]],
    ["hyper=warn", "info", [["hyper", "pharos.http"]]],
    ["warn,tokio::net=trace,pharos.ws=debug", "warning,pharos.ws=debug", [[
      "tokio.net",
      "pharos.sources",
    ]]],
    // Short names and near misses find their pharos.* target.
    ["ws=debug", "info", [["ws", "pharos.ws"]]],
    ["cluster=debug", "info", [["cluster", "pharos.cluster"]]],
    ["pharos.wss=debug", "info", [["pharos.wss", "pharos.ws"]]],
    ["pharos.projektor", "info", [["pharos.projektor", "pharos.projector"]]], // bare: a target
    ["loud", "info", [["loud", "pharos.log"]]], // far from every level: a target too
  ];
  for (const [spec, inForce, ignored] of cases) {
    await t.step(JSON.stringify(spec), () => {
      const filter = parseLogFilter(spec);
      assert.equal(filter.spec, inForce, "the known directives stay in force");
      assert.deepEqual(filter.ignored.map((i) => [i.target, i.closest]), ignored);
    });
  }

  await t.step("an ignored target filters nothing: its records keep the default", () => {
    const filter = parseLogFilter("warn,hyper=trace");
    assert.equal(filter.allows(["hyper"], "trace"), false);
    assert.equal(filter.allows(["pharos", "http"], "info"), false);
    assert.equal(filter.lowestLevel, "warning");
  });

  await t.step("every known target is taken, none ignored", () => {
    const filter = parseLogFilter(LOG_TARGETS.map((target) => `${target}=debug`).join(","));
    assert.deepEqual(filter.ignored, []);
    assert.equal(filter.directives.length, LOG_TARGETS.length);
  });

  await t.step("describeIgnored words them for a person", () => {
    assert.equal(
      describeIgnored(parseLogFilter("hyper=warn,ws").ignored),
      "hyper (closest known target: pharos.http), ws (closest known target: pharos.ws)",
    );
  });
});
