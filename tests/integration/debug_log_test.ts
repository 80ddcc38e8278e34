/**
 * The log filter as an operator meets it (README, Logging): an inherited `RUST_LOG` naming
 * targets Pharos does not have starts the server with one WARN line, a bad level still exits
 * 2, and `PUT /debug/log` changes what a running server logs: gated like the other admin
 * endpoints (the admin token; absent without a token or an admin port).
 */
import assert from "node:assert/strict";
import { configureLogging, type LogRecord, parseLogFilter } from "../../src/log/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { startTestServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until } from "../wait.ts";

const LOCAL = { PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_LOG_FORMAT: "json" };
const ADMIN_TOKEN = "admin-s3cret-token";
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };

type Line = Record<string, unknown>;

function lines(stdout: string): Line[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

Deno.test("RUST_LOG from the seeds: the server starts, with one WARN naming the closest target", async () => {
  await using server = spawnServer({ ...LOCAL, RUST_LOG: "info,hyperstack_server=debug" });
  await server.port;
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  const output = lines(server.stdout());
  const warnings = output.filter((l) => l.level === "WARN");
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0]!.target, "pharos.log");
  assert.equal(
    warnings[0]!.message,
    "Ignored log filter targets Pharos does not log under: " +
      "hyperstack_server (closest known target: pharos.ws.server)",
  );
  // The rest of the filter is in force: info lines, no debug.
  assert.ok(output.some((l) => l.message === "Starting Pharos runtime"));
  assert.ok(!output.some((l) => l.level === "DEBUG"), "no debug line at info");
});

Deno.test("an unknown level still refuses to start (exit 2), by either variable", async () => {
  for (
    const [name, value, problem] of [
      ["RUST_LOG", "info,hyperstack_server=verbose", /unknown level "verbose"/],
      ["PHAROS_LOG", "debg", /"debg": unknown level \(did you mean debug\?/],
    ] as const
  ) {
    await using server = spawnServer({ ...LOCAL, PHAROS_LOG_FORMAT: "text", [name]: value });
    assert.equal((await server.exited).code, 2, server.stdout());
    assert.match(server.stderr(), new RegExp(`${name}="${value}"`));
    assert.match(server.stderr(), problem);
    assert.doesNotMatch(server.stdout(), /listening/);
  }
});

Deno.test("PUT /debug/log changes what a running server logs; DELETE puts it back", async () => {
  await using server = spawnServer({ ...LOCAL, PHAROS_ADMIN_TOKEN: ADMIN_TOKEN });
  const port = await server.port;
  const url = `http://127.0.0.1:${port}/debug/log`;
  const logged = (check: (line: Line) => boolean, what: string) =>
    until(() => lines(server.stdout()).some(check), what, { timeoutMs: 10_000 });

  /** A client subscribes to Token/state with `key`; resolves once its info line is logged. */
  async function subscribe(key: string): Promise<void> {
    await using client = await TestClient.connect(`ws://127.0.0.1:${port}`);
    client.send({ type: "subscribe", view: "Token/state", key });
    await client.waitFor((f) => f.some((x) => x.json.op === "subscribed"), 5000, "the ack");
    // The request's debug line, when on, is logged before this info line: a barrier.
    await logged((l) => l.level === "INFO" && l.key === key, `the info line for ${key}`);
  }
  const asked = (key: string) =>
    lines(server.stdout()).filter((l) => l.level === "DEBUG" && l.key === key);

  const unauthorised = await fetch(url);
  await unauthorised.body?.cancel();
  assert.equal(unauthorised.status, 401, "the admin token is required");
  const before = await fetch(url, { headers: BEARER });
  assert.deepEqual(await before.json(), {
    filter: "info",
    startup_filter: "info",
    ttl_s: null,
    remaining_s: null,
    expires_at: null,
  });
  await subscribe("before");
  assert.deepEqual(asked("before"), [], "no debug line at info");

  const put = await fetch(url, {
    method: "PUT",
    headers: BEARER,
    body: JSON.stringify({ filter: "info,pharos.ws=debug", ttl_s: 600 }),
  });
  assert.equal(put.status, 200);
  await put.body?.cancel();
  const during = await (await fetch(url, { headers: BEARER })).json();
  assert.equal(during.filter, "info,pharos.ws=debug");
  assert.equal(during.ttl_s, 600);
  assert.ok(during.remaining_s > 0 && during.remaining_s <= 600, String(during.remaining_s));
  await subscribe("during");
  const request = asked("during");
  assert.equal(request.length, 1, "the subscribe request at debug");
  assert.match(String(request[0]!.message), /asked to subscribe to Token\/state/);

  const deleted = await fetch(url, { method: "DELETE", headers: BEARER });
  assert.equal((await deleted.json()).filter, "info");
  await subscribe("after");
  assert.deepEqual(asked("after"), [], "info again");

  // Each change at WARN, with who made it.
  const changes = lines(server.stdout()).filter((l) => l.target === "pharos.log");
  assert.equal(changes.length, 2, JSON.stringify(changes));
  for (const change of changes) assert.match(String(change.peer), /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(changes.map((l) => [l.level, l.message]), [
    ["WARN", `Log filter set to info,pharos.ws=debug by ${changes[0]!.peer} for 600 s, then info`],
    ["WARN", `Log filter info,pharos.ws=debug reset by ${changes[1]!.peer}: back to info`],
  ]);
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
});

Deno.test("/debug/log is served only with an admin token or an admin port", async (t) => {
  const records: LogRecord[] = [];
  await using logging = await configureLogging({
    filter: parseLogFilter("info"),
    format: "text",
    clock: systemClock,
    sink: (record) => void records.push(record),
  });

  await t.step("neither: 404", async () => {
    await using server = await startTestServer({ logging });
    const response = await fetch(`${server.httpUrl}/debug/log`);
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });

  await t.step("an admin token: 401 without it, 200 with it", async () => {
    await using server = await startTestServer({
      logging,
      env: { PHAROS_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    const url = `${server.httpUrl}/debug/log`;
    for (const method of ["GET", "PUT", "DELETE"]) {
      const refused = await fetch(url, { method, body: method === "PUT" ? "{}" : null });
      assert.equal(refused.status, 401, method);
      assert.equal((await refused.json()).error, "admin-token-required");
    }
    const wrong = await fetch(url, { headers: { authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const answer = await fetch(url, { headers: BEARER });
    assert.equal(answer.status, 200);
    assert.equal((await answer.json()).filter, "info");
  });

  await t.step("an admin port: on the admin listener only", async () => {
    await using server = await startTestServer({ logging, env: { PHAROS_ADMIN_PORT: "0" } });
    const main = await fetch(`${server.httpUrl}/debug/log`);
    assert.equal(main.status, 404, "not on the public listener");
    await main.body?.cancel();
    const admin = server.app.adminHandler;
    assert.ok(admin !== undefined);
    const info = { remoteAddr: { hostname: "127.0.0.1", port: 5 } };
    const answer = await admin(new Request("http://admin/debug/log"), info);
    assert.equal(answer.status, 200);
    assert.equal((await answer.json()).startup_filter, "info");
  });

  await t.step("a library app without the process's logging has no /debug/log", async () => {
    await using server = await startTestServer({ env: { PHAROS_ADMIN_TOKEN: ADMIN_TOKEN } });
    const response = await fetch(`${server.httpUrl}/debug/log`, { headers: BEARER });
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });
});
