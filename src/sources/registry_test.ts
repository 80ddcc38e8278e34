import * as assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { getLogger, isLogTarget } from "../log/mod.ts";
import {
  buildSources,
  DEFAULT_SOURCE_KIND,
  isSingletonKind,
  SOURCE_KIND_NAMES,
  SOURCE_KINDS,
  sourceOptionProblems,
  sourceOptionRows,
  SOURCES_DEFAULTS,
  type SourcesConfig,
  sourceSpecs,
} from "./registry.ts";
import type { SocketUpgrader } from "./types.ts";

const refuseUpgrade: SocketUpgrader = () => new Response(null, { status: 400 });
const deps = (config: SourcesConfig = SOURCES_DEFAULTS) => ({
  config,
  clock: new FakeClock(),
  log: getLogger(["pharos", "sources"]),
  upgrade: refuseUpgrade,
});
const withIngestToken: SourcesConfig = {
  ...SOURCES_DEFAULTS,
  ingest: { ...SOURCES_DEFAULTS.ingest, token: "s3cret" },
};

Deno.test("sources registry: each kind's spec fields are checked, every problem at once", () => {
  const { sources, problems } = buildSources([
    { kind: "upstream", url: "http://nope" },
    { kind: "replay", file: "", pace: "slow" },
    { kind: "ingest" },
    { kind: "ingest", name: "second" },
    { kind: "kafka" },
    { kind: "demo", ratePerSecond: -1 },
    { kind: "upstream", name: "feed", url: "wss://feed.example", subscribe: [] },
  ], deps(withIngestToken));
  assert.equal(problems.length, 7, problems.join("\n"));
  assert.match(problems[0]!, /source 0: url must be a ws:\/\/ or wss:\/\/ URL/);
  assert.match(problems[1]!, /source 1: file is required/);
  assert.match(problems[2]!, /source 1: pace must be/);
  assert.match(problems[3]!, /source 3: only one ingest source/);
  assert.match(
    problems[4]!,
    new RegExp(`source 4: kind must be one of ${SOURCE_KIND_NAMES.join(", ")}`),
  );
  assert.match(problems[5]!, /source 5: ratePerSecond must be a non-negative integer/);
  assert.match(problems[6]!, /source 6: subscribe must be an object/);
  assert.deepEqual(sources.map((source) => [source.name, source.kind]), [["ingest", "ingest"]]);
});

Deno.test("sources registry: a kind refuses to build without what it needs", () => {
  const { sources, problems } = buildSources([{ kind: "ingest", name: "producers" }], deps());
  assert.equal(sources.length, 0);
  assert.deepEqual(problems, [
    'source "producers" is ingest: set PHAROS_INGEST_TOKEN (ingest is never open)',
  ]);
});

Deno.test("sources registry: specs come from PHAROS_SOURCES, else the stack, else the default", () => {
  const stackSources = [{ kind: "replay", file: "a.ndjson" }];
  assert.deepEqual(sourceSpecs(SOURCES_DEFAULTS, undefined), [{ kind: DEFAULT_SOURCE_KIND }]);
  assert.deepEqual(sourceSpecs(SOURCES_DEFAULTS, stackSources), stackSources);
  const listed: SourcesConfig = {
    ...SOURCES_DEFAULTS,
    kinds: ["replay", "upstream"],
    replay: { file: "b.ndjson", pace: "fast" },
    upstream: { ...SOURCES_DEFAULTS.upstream, url: "ws://u", subscribe: '{"from":"{{cursor}}"}' },
  };
  assert.deepEqual(sourceSpecs(listed, stackSources), [
    { kind: "replay", file: "b.ndjson", pace: "fast" },
    { kind: "upstream", url: "ws://u", subscribe: { from: "{{cursor}}" } },
  ]);
});

Deno.test("sources registry: option problems only when PHAROS_SOURCES is set", () => {
  const unset = { ...SOURCES_DEFAULTS, ingest: { ...SOURCES_DEFAULTS.ingest, token: "t" } };
  assert.deepEqual(sourceOptionProblems(unset), []);
  assert.deepEqual(sourceOptionProblems({ ...unset, kinds: ["demo"] }), [
    "PHAROS_INGEST_TOKEN is set but PHAROS_SOURCES does not include ingest",
  ]);
  assert.deepEqual(sourceOptionProblems({ ...SOURCES_DEFAULTS, kinds: ["upstream", "replay"] }), [
    "PHAROS_SOURCES includes upstream: set PHAROS_UPSTREAM_URL",
    "PHAROS_SOURCES includes replay: set PHAROS_REPLAY_FILE",
  ]);
});

Deno.test("sources registry: every kind is whole and its options are unique", () => {
  const envs = sourceOptionRows().map((row) => row.option.env);
  assert.equal(new Set(envs).size, envs.length, envs.join(", "));
  for (const kind of SOURCE_KINDS) {
    for (const option of kind.options) {
      assert.ok(option.field in kind.defaults, `${kind.kind}.${option.field} has a default`);
      assert.match(option.env, /^PHAROS_[A-Z_]+$/);
    }
  }
  // Only producers' ingest runs on every instance of a cluster; an unknown kind is held to one.
  assert.deepEqual(SOURCE_KIND_NAMES.filter((name) => !isSingletonKind(name)), ["ingest"]);
  assert.equal(isSingletonKind("kafka"), true);
});

Deno.test("every source kind logs under a target the log filter knows", () => {
  // A kind's lines are under pharos.sources.<kind>: a filter naming it must not be ignored.
  for (const kind of SOURCE_KIND_NAMES) {
    assert.ok(isLogTarget(`pharos.sources.${kind}`), `LOG_TARGETS lacks pharos.sources.${kind}`);
  }
});
