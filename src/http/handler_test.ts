import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { createRecordingTracing } from "../../tests/fakes/recording_tracing.ts";
import { getLogger, type Logger } from "../log/mod.ts";
import { noopTracing } from "../telemetry/mod.ts";
import { TokenBucket } from "../util/mod.ts";
import {
  createHttpHandler,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpState,
  type RequestInfo,
  toPeerAddress,
} from "./mod.ts";

const info: RequestInfo = { remoteAddr: { hostname: "192.0.2.7", port: 51234 } };

function setup(upgrade?: (request: Request, peer: string) => Promise<Response>) {
  let ready = true;
  const upgrades: { path: string; peer: string }[] = [];
  const state: HttpState = {
    isReady: () => ready,
    status: () => ({ status: "Connected", connections: 3 }),
  };
  const handler = createHttpHandler({
    state,
    log: getLogger(["pharos", "test"]),
    upgrade: upgrade ?? ((request, peer) => {
      upgrades.push({ path: new URL(request.url).pathname, peer });
      return Promise.resolve(new Response("upgraded", { status: 200 }));
    }),
  });
  const call = (path: string, init: RequestInit = {}) =>
    handler(new Request(`http://localhost${path}`, init), info);
  return { call, upgrades, setReady: (value: boolean) => ready = value };
}

function assertJson(response: Response): void {
  assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(response.headers.get("cache-control"), "no-store");
}

const websocket = { headers: { upgrade: "websocket", connection: "Upgrade" } };

Deno.test("http handler", async (t) => {
  await t.step("/health answers 200 {status: ok}", async () => {
    const response = await setup().call("/health");
    assert.equal(response.status, 200);
    assertJson(response);
    assert.deepEqual(await response.json(), { status: "ok" });
  });

  await t.step("/ready follows readiness: 200 then 503", async () => {
    const { call, setReady } = setup();
    const ready = await call("/ready");
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    setReady(false);
    const notReady = await call("/ready");
    assert.equal(notReady.status, 503);
    assertJson(notReady);
    assert.deepEqual(await notReady.json(), { ready: false });
  });

  await t.step("/status returns the state's JSON", async () => {
    const response = await setup().call("/status");
    assert.equal(response.status, 200);
    assertJson(response);
    assert.deepEqual(await response.json(), { status: "Connected", connections: 3 });
  });

  await t.step("an unknown route is a JSON 404", async () => {
    const response = await setup().call("/nope?x=1");
    assert.equal(response.status, 404);
    assertJson(response);
    assert.deepEqual(await response.json(), {
      error: "not-found",
      message: "No route for GET /nope",
    });
  });

  await t.step("POST /health is a JSON 405 with Allow", async () => {
    const response = await setup().call("/health", { method: "POST", body: "{}" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "GET, HEAD");
    assertJson(response);
    assert.equal((await response.json()).error, "method-not-allowed");
  });

  await t.step("HEAD answers with the GET status and headers, and no body", async () => {
    const { call, setReady } = setup();
    const response = await call("/health", { method: "HEAD" });
    assert.equal(response.status, 200);
    assertJson(response);
    assert.equal(await response.text(), "");
    setReady(false);
    assert.equal((await call("/ready", { method: "HEAD" })).status, 503);
  });

  await t.step(
    "an upgrade request on any non-route path goes to the upgrade function",
    async () => {
      const { call, upgrades } = setup();
      const root = await call("/", websocket);
      assert.equal(await root.text(), "upgraded");
      await call("/ws", { headers: { upgrade: "WebSocket" } });
      await call("/anything/else", websocket);
      assert.deepEqual(upgrades, [
        { path: "/", peer: "192.0.2.7:51234" },
        { path: "/ws", peer: "192.0.2.7:51234" },
        { path: "/anything/else", peer: "192.0.2.7:51234" },
      ]);
    },
  );

  await t.step("an upgrade header on an HTTP route is served by the route", async () => {
    const { call, upgrades } = setup();
    const response = await call("/health", websocket);
    assert.deepEqual(await response.json(), { status: "ok" });
    assert.equal(upgrades.length, 0);
  });

  await t.step("a plain request to a non-route path is a 404, not an upgrade", async () => {
    const { call, upgrades } = setup();
    const response = await call("/ws");
    assert.equal(response.status, 404);
    await response.body?.cancel();
    assert.equal(upgrades.length, 0);
  });

  await t.step("a failing upgrade is a JSON 400", async () => {
    const { call } = setup(() => Promise.reject(new Error("not a websocket request")));
    const response = await call("/", websocket);
    assert.equal(response.status, 400);
    assertJson(response);
    assert.equal((await response.json()).error, "bad-upgrade");
  });
});

Deno.test("toPeerAddress brackets IPv6 hosts", () => {
  assert.equal(toPeerAddress(info), "192.0.2.7:51234");
  assert.equal(toPeerAddress({ remoteAddr: { hostname: "::1", port: 80 } }), "[::1]:80");
});

Deno.test("endpoints own their path: any method and upgrades, failures as JSON 500", async () => {
  const seen: string[] = [];
  const handler = createHttpHandler({
    state: { isReady: () => true, status: () => ({}) },
    log: getLogger(["pharos", "test"]),
    upgrade: () => Promise.reject(new Error("the protocol upgrade must not see /ingest")),
    endpoints: {
      "/ingest": (request, peer) => {
        seen.push(`${request.method} ${request.headers.get("upgrade") ?? "-"} ${peer}`);
        if (request.method === "DELETE") return Promise.reject(new Error("boom"));
        return Promise.resolve(new Response(null, { status: 202 }));
      },
    },
  });
  const call = (init: RequestInit) => handler(new Request("http://localhost/ingest", init), info);
  assert.equal((await call({ method: "POST", body: "{}" })).status, 202);
  assert.equal((await call(websocket)).status, 202);
  const failed = await call({ method: "DELETE" });
  assert.equal(failed.status, 500);
  assertJson(failed);
  assert.equal((await failed.json()).error, "internal-error");
  assert.deepEqual(seen, [
    "POST - 192.0.2.7:51234",
    "GET websocket 192.0.2.7:51234",
    "DELETE - 192.0.2.7:51234",
  ]);
});

Deno.test("http handler logs each request answered at debug under pharos.http", async (t) => {
  const clock = new FakeClock();
  const create = (log: Logger, options: Partial<HttpHandlerOptions> = {}) =>
    createHttpHandler({
      state: { isReady: () => false, status: () => ({}) },
      log,
      clock,
      // Rendering takes 2.5 ms on the fake clock, so the duration is known.
      metrics: () => {
        clock.advance(2.5);
        return Promise.resolve("up 1\n");
      },
      upgrade: () => Promise.resolve(new Response("upgraded")),
      endpoints: { "/ingest": () => Promise.resolve(new Response(null, { status: 202 })) },
      ...options,
    });
  const call = async (handler: HttpHandler, path: string, init: RequestInit = {}) => {
    const response = await handler(new Request(`http://localhost${path}`, init), info);
    await response.body?.cancel();
    return response.status;
  };

  await t.step("method, route, status and duration; the route, never the raw path", async () => {
    await using logs = await recordLogs(["pharos", "http"]);
    const handler = create(logs.log);
    assert.equal(await call(handler, "/metrics"), 200);
    assert.equal(await call(handler, "/ready", { method: "HEAD" }), 503);
    assert.equal(await call(handler, "/secret/path?token=x"), 404);
    assert.equal(await call(handler, "/ingest", { method: "POST", body: "{}" }), 202);
    assert.equal(await call(handler, "/health", { method: "BREW" }), 405);
    assert.deepEqual(logs.at("debug").map((r) => r.properties), [
      { method: "GET", route: "/metrics", status: 200, duration_ms: 2.5 },
      { method: "HEAD", route: "/ready", status: 503, duration_ms: 0 },
      { method: "GET", route: "/{unmatched}", status: 404, duration_ms: 0 },
      { method: "POST", route: "/ingest", status: 202, duration_ms: 0 },
      { method: "_OTHER", route: "/health", status: 405, duration_ms: 0 },
    ]);
    assert.match(logs.text(), /^GET \/metrics answered 200 in 2\.5 ms/);
    assert.doesNotMatch(logs.text(), /secret|token=/);
    assert.equal(logs.records.length, 5, "nothing at another level");
  });

  await t.step(
    "a WebSocket upgrade is not logged here (the WebSocket server logs it)",
    async () => {
      await using logs = await recordLogs(["pharos", "http"]);
      const exporting = { ...noopTracing, exporting: true };
      for (const handler of [create(logs.log), create(logs.log, { tracing: exporting })]) {
        assert.equal(await call(handler, "/", websocket), 200);
      }
      assert.deepEqual(logs.records, []);
      // The admin port upgrades nothing: there it is a plain request, answered 404.
      assert.equal(await call(create(logs.log, { exposure: "admin" }), "/", websocket), 404);
      assert.deepEqual(logs.at("debug").map((r) => r.properties["route"]), ["/{websocket}"]);
    },
  );

  await t.step("at info nothing is logged", async () => {
    await using logs = await recordLogs(["pharos", "http"], "info");
    const handler = create(logs.log);
    for (const path of ["/health", "/ready", "/metrics", "/nope"]) await call(handler, path);
    assert.deepEqual(logs.records, []);
  });
});

Deno.test("the console's routes: placed with the admin routes, only its feed behind the token", async (t) => {
  const consoleRoutes = {
    pages: {
      "/console": () => new Response("<html>"),
      "/console/app.js": () => new Response("js"),
    },
    feed: () => new Response("data: {}\n\n", { headers: { "content-type": "text/event-stream" } }),
  };
  const build = (exposure: "all" | "public" | "admin") =>
    createHttpHandler({
      state: { isReady: () => true, status: () => ({}) },
      log: getLogger(["pharos", "test"]),
      upgrade: () => Promise.resolve(new Response("upgraded")),
      console: consoleRoutes,
      exposure,
      adminToken: "admin-secret",
    });
  const get = (handler: HttpHandler, path: string, headers: Record<string, string> = {}) =>
    handler(new Request(`http://localhost${path}`, { headers }), info);

  await t.step("one listener: the page without a token, the feed with it", async () => {
    const all = build("all");
    assert.equal((await get(all, "/console")).status, 200);
    assert.equal(await (await get(all, "/console/app.js")).text(), "js");
    const refused = await get(all, "/console/feed");
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="pharos-admin"');
    await refused.body?.cancel();
    const wrong = await get(all, "/console/feed", { authorization: "Bearer nope" });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const feed = await get(all, "/console/feed", { authorization: "Bearer admin-secret" });
    assert.equal(feed.status, 200);
    assert.equal(feed.headers.get("content-type"), "text/event-stream");
    await feed.body?.cancel();
  });

  await t.step("with an admin port: on the admin listener only", async () => {
    for (const path of ["/console", "/console/app.js", "/console/feed"]) {
      const response = await get(build("public"), path);
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
    const page = await get(build("admin"), "/console");
    assert.equal(page.status, 200);
    await page.body?.cancel();
  });

  await t.step("read-only: anything but GET and HEAD is refused", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await build("all")(
        new Request("http://localhost/console/feed", {
          method,
          headers: { authorization: "Bearer admin-secret" },
        }),
        info,
      );
      assert.equal(response.status, 405, method);
      await response.body?.cancel();
    }
  });
});

Deno.test("admin endpoints: with the admin routes, any method, always behind the token", async (t) => {
  const calls: string[] = [];
  const build = (exposure: "all" | "public" | "admin", adminToken?: string) =>
    createHttpHandler({
      state: { isReady: () => true, status: () => ({}) },
      log: getLogger(["pharos", "test"]),
      upgrade: () => Promise.resolve(new Response("upgraded")),
      adminEndpoints: {
        "/debug/log": (request) => {
          calls.push(request.method);
          return Promise.resolve(new Response("filter"));
        },
      },
      exposure,
      ...(adminToken === undefined ? {} : { adminToken }),
    });
  const call = (handler: HttpHandler, method: string, headers: Record<string, string> = {}) =>
    handler(new Request("http://localhost/debug/log", { method, headers }), info);

  await t.step("the token is asked for every method; the right one passes", async () => {
    const all = build("all", "admin-secret");
    for (const method of ["GET", "PUT", "POST"]) {
      const refused = await call(all, method);
      assert.equal(refused.status, 401, method);
      assert.equal((await refused.json()).error, "admin-token-required");
    }
    assert.deepEqual(calls, []);
    const put = await call(all, "PUT", { authorization: "Bearer admin-secret" });
    assert.equal(await put.text(), "filter");
    assert.deepEqual(calls, ["PUT"]);
  });

  await t.step("on the admin listener, not on the public one", async () => {
    const onPublic = await call(build("public", "t"), "GET", { authorization: "Bearer t" });
    assert.equal(onPublic.status, 404);
    await onPublic.body?.cancel();
    const onAdmin = await call(build("admin"), "GET");
    assert.equal(await onAdmin.text(), "filter");
  });
});

Deno.test("http handler: request spans within their budget; over it, served without one", async () => {
  const clock = new FakeClock();
  const tracing = createRecordingTracing(true);
  const handler = createHttpHandler({
    state: { isReady: () => true, status: () => ({}) },
    log: getLogger(["pharos", "test"]),
    tracing,
    requestSpans: new TokenBucket(clock, 2),
    upgrade: () => Promise.resolve(new Response("upgraded")),
  });
  const call = async () => (await handler(new Request("http://localhost/ready"), info)).status;
  for (let i = 0; i < 5; i++) assert.equal(await call(), 200, "every request is answered");
  assert.equal(tracing.named("GET /ready").length, 2, "two spans: the bucket's second's worth");
  clock.advance(500);
  for (let i = 0; i < 3; i++) await call();
  assert.equal(tracing.named("GET /ready").length, 3, "one more token in half a second");
});
