import assert from "node:assert/strict";
import { describePermissions, validatePermissions } from "./permissions.ts";
import { defineStack } from "./define_stack.ts";

Deno.test("validatePermissions", async (t) => {
  await t.step("accepts hosts, ports, variable names, prefixes and paths", () => {
    assert.deepEqual(
      validatePermissions({
        net: ["api.example.com:443", "127.0.0.1", "[::1]:8080", "localhost"],
        env: ["PRICE_API_KEY", "FEED_*"],
        read: ["./data", "/etc/ssl/certs"],
        write: ["/tmp/out.json"],
      }),
      [],
    );
    assert.deepEqual(validatePermissions(undefined), []);
    assert.deepEqual(validatePermissions({ net: [] }), []);
  });

  await t.step("names every malformed entry", () => {
    const problems = validatePermissions({
      net: ["https://api.example.com", "host:99999", ""],
      env: ["1BAD", "A,B"],
      read: ["a,b"],
    });
    assert.equal(problems.length, 6, problems.join("\n"));
    assert.match(problems[0]!, /permissions\.net: "https:\/\/api\.example\.com" is not a host/);
    assert.match(problems[1]!, /port outside 1\.\.65535/);
    assert.match(problems[5]!, /permissions\.read: "a,b" contains a comma/);
  });

  await t.step("refuses kinds that would leave the sandbox, and non-lists", () => {
    const problems = validatePermissions({ run: ["sh"], ffi: ["x.so"], net: "api.example.com" });
    assert.match(problems[0]!, /permissions\.run: unknown permission.*run, ffi and sys/);
    assert.match(problems[1]!, /permissions\.ffi: unknown permission/);
    assert.match(problems[2]!, /permissions\.net: must be a list of strings/);
    assert.deepEqual(validatePermissions(["net"]), [
      "permissions must be an object { net?, env?, read?, write? } of string lists",
    ]);
  });

  await t.step("never gives handlers the server's own PHAROS_* settings", () => {
    for (const name of ["PHAROS_INGEST_TOKEN", "PHAROS_*", "PH*", "PHAROS_AUTH_*"]) {
      const problems = validatePermissions({ env: [name] });
      assert.equal(problems.length, 1, name);
      assert.match(problems[0]!, /PHAROS_\* settings and secrets/);
    }
    assert.equal(validatePermissions({ env: ["*"] }).length, 1); // not a name at all
    assert.deepEqual(validatePermissions({ env: ["PHAROSX", "PRICE_*"] }), []);
  });

  await t.step("defineStack refuses a stack with malformed permissions", () => {
    assert.throws(
      () =>
        defineStack({
          name: "s",
          entities: { E: { handlers: { T: () => undefined } } },
          permissions: { env: ["PHAROS_AUTH_PRIVATE_KEY"] },
        }),
      /Invalid stack definition:[\s\S]*permissions\.env: "PHAROS_AUTH_PRIVATE_KEY"/,
    );
  });

  await t.step("describes the declaration in one line", () => {
    assert.equal(describePermissions(undefined), "none");
    assert.equal(
      describePermissions({ net: ["a:443"], env: ["K"], read: [] }),
      "net=[a:443] env=[K]",
    );
  });
});
