import assert from "node:assert/strict";
import { getLogger } from "../log/mod.ts";
import { createHttpHandler, type HttpState, type RequestInfo, toPeerAddress } from "./mod.ts";

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
