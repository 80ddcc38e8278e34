import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import {
  configureLogging,
  createLogFilterControl,
  createLogFilterEndpoint,
  getLogger,
  LOG_FILTER_PATH,
  type LogRecord,
  parseLogFilter,
} from "./mod.ts";

const URL_ = `http://pharos.test${LOG_FILTER_PATH}`;

/** The endpoint over real logging (filter `info`), its records kept, on a FakeClock. */
async function setup() {
  const clock = new FakeClock();
  const records: LogRecord[] = [];
  const logging = await configureLogging({
    filter: parseLogFilter("info"),
    format: "text",
    clock,
    sink: (record) => void records.push(record),
  });
  const control = createLogFilterControl({ logging, clock, log: getLogger(["pharos", "log"]) });
  const endpoint = createLogFilterEndpoint(control);
  return {
    clock,
    logging,
    /** Calls the endpoint; answers status and parsed body. */
    async call(method: string, body?: string, headers: Record<string, string> = {}) {
      const response = await endpoint(
        new Request(URL_, { method, headers, ...(body === undefined ? {} : { body }) }),
        "192.0.2.9",
      );
      return {
        status: response.status,
        headers: response.headers,
        body: await response.json() as Record<string, unknown>,
      };
    },
    warnings: () => records.filter((r) => r.level === "warning").map((r) => r.message.join("")),
    async [Symbol.asyncDispose]() {
      control[Symbol.dispose]();
      await logging[Symbol.asyncDispose]();
    },
  };
}

Deno.test("/debug/log", async (t) => {
  await t.step("GET: the start-up filter, no time limit", async () => {
    await using s = await setup();
    const answer = await s.call("GET");
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("cache-control"), "no-store");
    assert.deepEqual(answer.body, {
      filter: "info",
      startup_filter: "info",
      ttl_s: null,
      remaining_s: null,
      expires_at: null,
    });
  });

  await t.step("PUT sets the filter; GET shows it and the time it has left", async () => {
    await using s = await setup();
    const put = await s.call("PUT", '{"filter": "info,pharos::ws=DEBUG", "ttl_s": 90}');
    assert.equal(put.status, 200);
    assert.equal(put.body.filter, "info,pharos.ws=debug");
    assert.equal(put.body.remaining_s, 90);
    assert.equal(s.logging.filter.spec, "info,pharos.ws=debug");
    assert.deepEqual(s.warnings(), [
      "Log filter set to info,pharos.ws=debug by 192.0.2.9 for 90 s, then info",
    ]);
    s.clock.advance(30_000);
    const get = await s.call("GET");
    assert.deepEqual(get.body, {
      filter: "info,pharos.ws=debug",
      startup_filter: "info",
      ttl_s: 90,
      remaining_s: 60,
      expires_at: new Date(s.clock.now() + 60_000).toISOString(),
    });
    s.clock.advance(60_000);
    assert.equal((await s.call("GET")).body.filter, "info");
    assert.equal(s.warnings().length, 2, "the return is logged too");
  });

  await t.step("PUT without ttl_s: 600 s", async () => {
    await using s = await setup();
    assert.equal((await s.call("PUT", '{"filter": "debug"}')).body.ttl_s, 600);
  });

  await t.step("DELETE puts the start-up filter back now", async () => {
    await using s = await setup();
    await s.call("PUT", '{"filter": "trace", "ttl_s": 600}');
    const deleted = await s.call("DELETE");
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.filter, "info");
    assert.equal(deleted.body.remaining_s, null);
    assert.equal(s.logging.filter.spec, "info");
    assert.match(s.warnings()[1]!, /^Log filter trace reset by 192\.0\.2\.9: back to info$/);
  });

  const refused: [name: string, body: string, status: number, error: string, message: RegExp][] = [
    ["not JSON", "filter=debug", 400, "invalid-request", /not JSON; send \{"filter"/],
    ["not an object", '["debug"]', 400, "invalid-request", /must be a JSON object/],
    ["no filter", '{"ttl_s": 60}', 400, "invalid-request", /"filter" must be a string/],
    ["a filter not a string", '{"filter": 3}', 400, "invalid-request", /"filter" must be/],
    ["an unknown field", '{"filter": "debug", "ttl": 60}', 400, "invalid-request", /"ttl"/],
    ["bad syntax", '{"filter": "pharos..ws=debug"}', 400, "invalid-filter", /not a target/],
    ["an unknown level", '{"filter": "pharos.ws=loud"}', 400, "invalid-filter", /"loud"/],
    [
      "an unknown target, naming the closest",
      '{"filter": "info,pharos.wss=debug"}',
      400,
      "unknown-log-target",
      /^Pharos does not log under pharos\.wss \(closest known target: pharos\.ws\)$/,
    ],
    ["a TTL of 0", '{"filter": "debug", "ttl_s": 0}', 400, "invalid-ttl", /from 1 to 86400/],
    ["a TTL over a day", '{"filter": "debug", "ttl_s": 86401}', 400, "invalid-ttl", /86400/],
    ["a fractional TTL", '{"filter": "debug", "ttl_s": 1.5}', 400, "invalid-ttl", /whole/],
    ["a TTL as text", '{"filter": "debug", "ttl_s": "60"}', 400, "invalid-ttl", /a number/],
    [
      "a body over 4 KiB",
      JSON.stringify({ filter: "x".repeat(5000) }),
      413,
      "invalid-request",
      /4096/,
    ],
  ];
  for (const [name, body, status, error, message] of refused) {
    await t.step(`PUT refused: ${name} (${status}), nothing changed`, async () => {
      await using s = await setup();
      const answer = await s.call("PUT", body);
      assert.equal(answer.status, status);
      assert.equal(answer.body.error, error);
      assert.match(String(answer.body.message), message);
      assert.equal(s.logging.filter.spec, "info");
      assert.deepEqual(s.warnings(), []);
    });
  }

  await t.step("a chunked body over 4 KiB is refused too", async () => {
    await using s = await setup();
    const chunks = [new TextEncoder().encode('{"filter": "'), new Uint8Array(5000).fill(120)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const endpoint = createLogFilterEndpoint(
      createLogFilterControl({
        logging: s.logging,
        clock: s.clock,
        log: getLogger(["pharos", "log"]),
      }),
    );
    const response = await endpoint(new Request(URL_, { method: "PUT", body }), "peer");
    assert.equal(response.status, 413);
    await response.body?.cancel();
  });

  await t.step("other methods: 405 with Allow", async () => {
    await using s = await setup();
    const answer = await s.call("POST", '{"filter": "debug"}');
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.get("allow"), "GET, PUT, DELETE");
    assert.equal(answer.body.error, "method-not-allowed");
  });
});
