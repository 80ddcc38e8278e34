import assert from "node:assert/strict";
import {
  closestFlag,
  ConfigError,
  helpText,
  OPTIONS,
  parseCommandLine,
  parseConfig,
  versionText,
} from "./mod.ts";

Deno.test("command line: --help and --version win, a leading -- is dropped", () => {
  assert.deepEqual(parseCommandLine(["--", "--port", "9000"]), {
    kind: "run",
    args: ["--port", "9000"],
  });
  assert.deepEqual(parseCommandLine(["--port", "1", "--help"]), { kind: "help" });
  assert.deepEqual(parseCommandLine(["--", "-h"]), { kind: "help" });
  assert.deepEqual(parseCommandLine(["-V"]), { kind: "version" });
  assert.deepEqual(parseCommandLine([]), { kind: "run", args: [] });
});

Deno.test("--help lists every option with its variable and default; --version both versions", () => {
  const help = helpText("9.9.9");
  for (const option of OPTIONS) {
    assert.ok(help.includes(`\n  --${option.flag} `), option.flag);
    assert.ok(help.includes(`env ${option.env}`), option.env);
  }
  assert.match(help, /--port <port>\n {6}env PORT; default 8877\n {6}TCP port/);
  assert.ok(!help.includes("`"), "no Markdown in a terminal");
  assert.ok(help.split("\n").every((line) => line.length <= 100), "wrapped for a terminal");
  assert.equal(
    versionText("9.9.9", { deno: "2.9.6", v8: "15.0", typescript: "6.0.3" }),
    "pharos 9.9.9 (deno 2.9.6, v8 15.0, typescript 6.0.3)\n",
  );
});

Deno.test("closestFlag suggests a near flag, and nothing for a far one", () => {
  const flags = OPTIONS.map((option) => option.flag);
  assert.equal(closestFlag("prot", flags), "port");
  assert.equal(closestFlag("log-fromat", flags), "log-format");
  assert.equal(closestFlag("Redis-Url", flags), "redis-url");
  assert.equal(closestFlag("xyzzy-plugh-frobnicate", flags), undefined);
});

Deno.test("parseConfig: a leading --, and command-line problems worded for a person", () => {
  assert.equal(parseConfig({ env: {}, args: ["--", "--port", "9000"] }).server.port, 9000);
  assert.equal(parseConfig({ env: {}, args: ["--port=9001"] }).server.port, 9001);
  const problems = (args: string[]) => {
    try {
      parseConfig({ env: {}, args });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };
  assert.deepEqual(problems(["--prot", "9000"]), [
    "command line: unknown flag --prot (did you mean --port?)",
  ]);
  assert.deepEqual(problems(["9000"]), [
    'command line: unexpected argument "9000" (options are --flag value; see --help)',
  ]);
  assert.deepEqual(problems(["--port"]), ["command line: --port needs a value (--port <value>)"]);
  assert.deepEqual(problems(["--port", "--host", "x"]), [
    "command line: --port needs a value (--port <value>)",
  ]);
});

Deno.test("trusted proxies and JWT algorithms are validated at start-up", () => {
  const config = parseConfig({
    env: { PHAROS_TRUSTED_PROXIES: "10.0.0.0/8, ::1", PHAROS_AUTH_ALGORITHMS: "EdDSA,ES256" },
  });
  assert.deepEqual(config.auth.trustedProxies.map((cidr) => cidr.text), ["10.0.0.0/8", "::1"]);
  assert.deepEqual(config.auth.algorithms, ["EdDSA", "ES256"]);
  assert.throws(
    () => parseConfig({ env: { PHAROS_TRUSTED_PROXIES: "10.0.0.1/8" } }),
    /PHAROS_TRUSTED_PROXIES="10.0.0.1\/8": "10.0.0.1\/8": address bits are set/,
  );
  for (const algorithms of ["HS256", "none", "EdDSA,RS1"]) {
    assert.throws(
      () => parseConfig({ env: { PHAROS_AUTH_ALGORITHMS: algorithms } }),
      /PHAROS_AUTH_ALGORITHMS=.*expected comma-separated algorithms of EdDSA, ES256/,
      algorithms,
    );
  }
});
