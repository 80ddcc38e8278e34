import assert from "node:assert/strict";
import { parseCaptureParams } from "./capture_params.ts";

const parse = (query: string, what: "profile" | "heap" = "profile") =>
  parseCaptureParams(new URLSearchParams(query), what);

Deno.test("capture parameters", async (t) => {
  await t.step(
    "defaults: the server, 10 s of CPU profile; a heap snapshot takes no seconds",
    () => {
      assert.deepEqual(parse(""), { target: "server", seconds: 10 });
      assert.deepEqual(parse("", "heap"), { target: "server", seconds: 0 });
      assert.deepEqual(parse("target=host", "heap"), { target: "host", seconds: 0 });
    },
  );

  await t.step("seconds: a whole number from 1 to 60", () => {
    assert.deepEqual(parse("seconds=1&target=host"), { target: "host", seconds: 1 });
    assert.deepEqual(parse("seconds=60"), { target: "server", seconds: 60 });
    for (const bad of ["0", "61", "1.5", "-1", "abc", "", "1e1", " 5", "0x10", "1000"]) {
      assert.throws(
        () => parse(`seconds=${encodeURIComponent(bad)}`),
        (error: Error) =>
          error instanceof RangeError && /"seconds" must be a whole number/.test(error.message),
        bad,
      );
    }
  });

  await t.step("an unknown target, an unknown or repeated parameter is refused", () => {
    assert.throws(() => parse("target=worker"), /"target" must be "server" or "host"/);
    assert.throws(() => parse("second=5"), /Unknown parameter "second"/);
    assert.throws(() => parse("seconds=5", "heap"), /Unknown parameter "seconds"/);
    assert.throws(() => parse("seconds=5&seconds=6"), /"seconds" is repeated/);
  });
});
