import assert from "node:assert/strict";
import { ConfigError, DEFAULT_CONFIG, OPTIONS, parseConfig } from "./mod.ts";

/** Runs `fn`, expecting a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.equal(error.name, "ConfigError");
    return error;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("parseConfig", async (t) => {
  await t.step("no env and no flags gives the documented defaults, frozen", () => {
    const config = parseConfig({ env: {} });
    assert.deepEqual(config, DEFAULT_CONFIG);
    assert.equal(config.server.port, 8877);
    assert.equal(config.ws.maxClients, 10_000);
    assert.equal(config.ws.limits.queueMaxFrames, 512);
    assert.equal(config.projector.cacheSize, 500);
    assert.ok(Object.isFrozen(config));
  });

  await t.step("reads the environment; empty variables count as unset", () => {
    const config = parseConfig({
      env: { PORT: "9000", PHAROS_MAX_CLIENTS: " 42 ", PHAROS_HOST: "127.0.0.1", PHAROS_LOG: "" },
    });
    assert.equal(config.server.port, 9000);
    assert.equal(config.ws.maxClients, 42);
    assert.equal(config.server.hostname, "127.0.0.1");
    assert.equal(config.log.filter.spec, "info");
  });

  await t.step("flags win over the environment", () => {
    const config = parseConfig({
      env: { PORT: "9000", PHAROS_DEMO_RATE: "5" },
      args: ["--port", "9100", "--demo-rate=7", "--log", "debug"],
    });
    assert.equal(config.server.port, 9100);
    assert.equal(config.sources.demo.ratePerSecond, 7);
    assert.equal(config.log.filter.spec, "debug");
  });

  await t.step("PORT=abc is reported naming PORT and the bad value", () => {
    const error = configError(() => parseConfig({ env: { PORT: "abc" } }));
    assert.equal(error.problems.length, 1);
    assert.match(error.problems[0]!, /^PORT="abc": /);
    assert.match(error.message, /PORT="abc"/);
  });

  await t.step("a bad flag is reported under the flag's name", () => {
    const error = configError(() => parseConfig({ env: {}, args: ["--max-clients=lots"] }));
    assert.match(error.problems[0]!, /^--max-clients="lots": expected an integer/);
  });

  await t.step("every bad value is reported together in one error", () => {
    const error = configError(() =>
      parseConfig({
        env: { PORT: "abc", PHAROS_MAX_CLIENTS: "0", PHAROS_LOG: "debg" },
        args: ["--batch-max", "1.5"],
      })
    );
    assert.equal(error.problems.length, 4, error.message);
    const text = error.problems.join("\n");
    for (const name of ["PORT", "PHAROS_MAX_CLIENTS", "PHAROS_LOG", "--batch-max"]) {
      assert.ok(text.includes(name), `${name} missing from: ${text}`);
    }
    for (const problem of error.problems) assert.ok(error.message.includes(problem));
  });

  await t.step("the error carries the log format asked for, to be reported in it", () => {
    const json = configError(() =>
      parseConfig({ env: { PORT: "abc", PHAROS_LOG_FORMAT: "json" } })
    );
    assert.equal(json.logFormat, "json");
    const bad = configError(() => parseConfig({ env: { PORT: "abc", PHAROS_LOG_FORMAT: "xml" } }));
    assert.equal(bad.logFormat, "text", "an invalid format: text, the default");
    assert.equal(configError(() => parseConfig({ env: { PORT: "abc" } })).logFormat, "text");
  });

  await t.step("integers outside their range are rejected with the range", () => {
    const error = configError(() =>
      parseConfig({
        env: { PORT: "65536", PHAROS_QUEUE_FRAMES: "0", PHAROS_IDLE_TIMEOUT_MS: "999" },
      })
    );
    assert.equal(error.problems.length, 3, error.message);
    assert.match(error.problems.find((p) => p.startsWith("PORT="))!, /0-65535/);
    assert.match(error.problems.find((p) => p.startsWith("PHAROS_QUEUE_FRAMES="))!, /1\.\.1000000/);
    assert.match(error.problems.find((p) => p.startsWith("PHAROS_IDLE_TIMEOUT_MS="))!, /1000\.\./);
  });

  await t.step("range bounds are inclusive", () => {
    const config = parseConfig({
      env: { PORT: "0", PHAROS_DEMO_RATE: "0", PHAROS_BATCH_MAX: "1" },
    });
    assert.equal(config.server.port, 0);
    assert.equal(config.sources.demo.ratePerSecond, 0);
    assert.equal(config.pipeline.maxBatchEvents, 1);
  });

  await t.step("an unknown flag is a problem, reported with the others", () => {
    const error = configError(() => parseConfig({ env: { PORT: "x" }, args: ["--bogus", "1"] }));
    assert.equal(error.problems.length, 2, error.message);
    assert.match(error.problems.join("\n"), /command line: .*bogus/);
  });

  await t.step("PHAROS_LOG takes the RUST_LOG grammar, falling back to RUST_LOG", () => {
    assert.equal(parseConfig({ env: { PHAROS_LOG: "WARN" } }).log.filter.spec, "warning");
    assert.equal(parseConfig({ env: {}, args: ["--log=off"] }).log.filter.spec, "off");
    const both = parseConfig({ env: { PHAROS_LOG: "debug", RUST_LOG: "trace" } });
    assert.equal(both.log.filter.spec, "debug", "PHAROS_LOG wins");
    const rust = parseConfig({ env: { RUST_LOG: "info,pharos::ws=trace" } });
    assert.equal(rust.log.filter.spec, "info,pharos.ws=trace");
    // A target Pharos does not log under (the seeds' RUST_LOG) is ignored, by either variable,
    // and logged once at start-up (src/log/setup.ts); it is no config problem.
    for (
      const env of [{ RUST_LOG: "info,hyperstack_server=debug" }, { PHAROS_LOG: "hyper=warn" }]
    ) {
      const lenient = parseConfig({ env }).log.filter;
      assert.equal(lenient.spec, "info");
      assert.equal(lenient.ignored.length, 1, JSON.stringify(env));
    }
    const error = configError(() => parseConfig({ env: { RUST_LOG: "pharos.ws=loud" } }));
    assert.match(
      error.problems[0]!,
      /^RUST_LOG="pharos.ws=loud": Invalid log filter: .*unknown level "loud"/,
    );
    assert.equal(parseConfig({ env: { PHAROS_LOG_FORMAT: "json" } }).log.format, "json");
    assert.match(
      configError(() => parseConfig({ env: { PHAROS_LOG_FORMAT: "xml" } })).problems[0]!,
      /PHAROS_LOG_FORMAT="xml": expected text or json/,
    );
  });

  await t.step("a host with whitespace is rejected", () => {
    const error = configError(() => parseConfig({ env: {}, args: ["--host", "local host"] }));
    assert.match(error.problems[0]!, /--host="local host": expected a hostname/);
  });
});

Deno.test("source options", async (t) => {
  const problemsOf = (env: Record<string, string>): readonly string[] => {
    try {
      parseConfig({ env });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  await t.step("PHAROS_SOURCES unset leaves the choice to the stack (empty list)", () => {
    assert.deepEqual(parseConfig({ env: {} }).sources.kinds, []);
  });

  await t.step("every kind, with what each needs", () => {
    const config = parseConfig({
      env: {
        PHAROS_SOURCES: "demo, ingest,upstream,replay",
        PHAROS_INGEST_TOKEN: "s3cret",
        PHAROS_UPSTREAM_URL: "wss://feed.example/events",
        PHAROS_UPSTREAM_SUBSCRIBE: '{"type":"subscribe","after":"{{cursor}}"}',
        PHAROS_REPLAY_FILE: "tests/fixtures/transfers.ndjson",
        PHAROS_REPLAY_PACE: "fast",
        PHAROS_REQUIRED_SOURCES: "upstream",
        PHAROS_HEARTBEAT_MS: "5000",
      },
    });
    assert.deepEqual(config.sources.kinds, ["demo", "ingest", "upstream", "replay"]);
    assert.equal(config.sources.upstream.url, "wss://feed.example/events");
    assert.equal(config.sources.replay.pace, "fast");
    assert.deepEqual(config.pipeline.requiredSources, ["upstream"]);
    assert.equal(config.pipeline.heartbeatMs, 5000);
  });

  await t.step("bad kinds, URLs, paces and JSON are each reported", () => {
    const problems = problemsOf({
      PHAROS_SOURCES: "demo,kafka",
      PHAROS_UPSTREAM_URL: "http://not-a-websocket",
      PHAROS_REPLAY_PACE: "slow",
      PHAROS_UPSTREAM_SUBSCRIBE: "[1,2]",
    });
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.match(problems.join("\n"), /PHAROS_SOURCES="demo,kafka"/);
    assert.match(problems.join("\n"), /PHAROS_UPSTREAM_URL=.*ws:\/\/ or wss:\/\//);
    assert.match(problems.join("\n"), /PHAROS_REPLAY_PACE="slow"/);
    assert.match(problems.join("\n"), /PHAROS_UPSTREAM_SUBSCRIBE=.*JSON object/);
    assert.match(problemsOf({ PHAROS_SOURCES: "demo,demo" }).join(), /twice/);
  });

  await t.step("a source without what it needs is refused, naming the option", () => {
    const problems = problemsOf({ PHAROS_SOURCES: "ingest,upstream,replay" });
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /PHAROS_INGEST_TOKEN/);
    assert.match(problems[1]!, /PHAROS_UPSTREAM_URL/);
    assert.match(problems[2]!, /PHAROS_REPLAY_FILE/);
    assert.match(
      problemsOf({ PHAROS_SOURCES: "demo", PHAROS_INGEST_TOKEN: "t" }).join(),
      /does not include ingest/,
    );
    assert.match(
      problemsOf({ PHAROS_SOURCES: "demo", PHAROS_REQUIRED_SOURCES: "upstream" }).join(),
      /PHAROS_REQUIRED_SOURCES names upstream/,
    );
  });

  await t.step("secrets never appear in error messages", () => {
    const problems = problemsOf({
      PHAROS_INGEST_TOKEN: "has space-secret",
      PHAROS_SOURCES: "ingest",
    });
    assert.equal(problems.length, 1);
    assert.doesNotMatch(problems[0]!, /space-secret/);
    assert.match(problems[0]!, /PHAROS_INGEST_TOKEN/);
  });
});

Deno.test("PHAROS_FUNCTION_CALL_METRICS is off by default and takes 1/0 style switches", () => {
  assert.equal(parseConfig({ env: {} }).vm.functionCallMetrics, false);
  assert.equal(
    parseConfig({ env: { PHAROS_FUNCTION_CALL_METRICS: "1" } }).vm.functionCallMetrics,
    true,
  );
  assert.equal(
    parseConfig({ env: { PHAROS_FUNCTION_CALL_METRICS: "off" } }).vm.functionCallMetrics,
    false,
  );
  assert.throws(
    () => parseConfig({ env: { PHAROS_FUNCTION_CALL_METRICS: "maybe" } }),
    /PHAROS_FUNCTION_CALL_METRICS="maybe": expected 1 or 0/,
  );
});

Deno.test("every slice field is set by exactly one option", () => {
  const fields: string[] = [];
  const walk = (value: unknown, path: string): void => {
    const nested = typeof value === "object" && value !== null && !Array.isArray(value) &&
      !("spec" in value); // a LogFilter is one value
    if (!nested) fields.push(path);
    else {for (const [key, inner] of Object.entries(value)) {
        walk(inner, path ? `${path}.${key}` : key);
      }}
  };
  walk(DEFAULT_CONFIG, "");
  assert.deepEqual(OPTIONS.map((spec) => spec.path).sort(), fields.sort());
});

Deno.test("an option lands in its slice; the rest of the config keeps its defaults, frozen", () => {
  const config = parseConfig({ env: { PHAROS_MAX_SNAPSHOT_ROWS: "5", PHAROS_DEMO_KEYS: "3" } });
  assert.equal(config.ws.limits.maxSnapshotRows, 5);
  assert.equal(config.sources.demo.keys, 3);
  assert.deepEqual(
    { ...config.ws.limits, maxSnapshotRows: DEFAULT_CONFIG.ws.limits.maxSnapshotRows },
    DEFAULT_CONFIG.ws.limits,
  );
  assert.equal(config.vm, DEFAULT_CONFIG.vm, "untouched slices are shared");
  for (const slice of [config, config.ws, config.ws.limits, config.sources.demo]) {
    assert.ok(Object.isFrozen(slice));
  }
  assert.equal(DEFAULT_CONFIG.ws.limits.maxSnapshotRows, 10_000, "the defaults are untouched");
});

Deno.test("cluster options: a Redis URL is checked and never echoed; the rest have bounds", () => {
  const config = parseConfig({
    env: {
      PHAROS_REDIS_URL: "rediss://user:secret@redis.example:6380/2",
      PHAROS_INSTANCE_ID: "a-1",
    },
  });
  assert.equal(config.cluster.redisUrl, "rediss://user:secret@redis.example:6380/2");
  assert.equal(config.cluster.instanceId, "a-1");
  assert.equal(config.cluster.prefix, "pharos");
  for (const bad of ["http://x:1", "redis://:secret@/", "redis://h:1/db", "not a url secret"]) {
    const error = configError(() => parseConfig({ env: { PHAROS_REDIS_URL: bad } }));
    assert.match(error.problems[0]!, /^PHAROS_REDIS_URL: /);
    assert.ok(!error.message.includes("secret"), `the value is not echoed: ${error.message}`);
  }
  const prefix = configError(() => parseConfig({ env: { PHAROS_REDIS_PREFIX: "a b" } }));
  assert.match(prefix.problems[0]!, /PHAROS_REDIS_PREFIX/);
  configError(() => parseConfig({ env: { PHAROS_CLUSTER_LEASE_MS: "10" } }));
});

Deno.test("revocation options: jwt or static only, a file or an http(s) URL, a bounded interval", () => {
  const jwt = { PHAROS_AUTH: "jwt", PHAROS_AUTH_PUBLIC_KEYS: "/etc/jwks.json" };
  const config = parseConfig({
    env: { ...jwt, PHAROS_AUTH_REVOKED: "https://idp.example/revoked.json" },
  });
  assert.equal(config.auth.revocationList, "https://idp.example/revoked.json");
  assert.equal(config.auth.revocationIntervalMs, 2_000, "the default keeps a change within 5 s");
  const file = parseConfig({
    env: { PHAROS_AUTH: "static", PHAROS_AUTH_TOKENS: "t", PHAROS_AUTH_REVOKED: "revoked.json" },
  });
  assert.equal(file.auth.revocationList, "revoked.json");

  const none = configError(() => parseConfig({ env: { PHAROS_AUTH_REVOKED: "/r.json" } }));
  assert.match(none.problems.join("\n"), /PHAROS_AUTH_REVOKED is set but PHAROS_AUTH is none/);
  for (const bad of ["ftp://idp.example/r.json", "redis://h:1"]) {
    const error = configError(() => parseConfig({ env: { ...jwt, PHAROS_AUTH_REVOKED: bad } }));
    assert.deepEqual(error.problems, [
      "PHAROS_AUTH_REVOKED: expected a file path or an http(s) URL",
    ]);
  }
  for (const bad of ["249", "60001", "soon"]) {
    const error = configError(() =>
      parseConfig({ env: { ...jwt, PHAROS_AUTH_REVOKED_INTERVAL_MS: bad } })
    );
    assert.match(error.problems[0]!, /^PHAROS_AUTH_REVOKED_INTERVAL_MS/);
  }
});
