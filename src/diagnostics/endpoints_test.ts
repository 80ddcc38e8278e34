import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { nextTurn } from "../../tests/wait.ts";
import { createHttpHandler, type Endpoint } from "../http/mod.ts";
import { getLogger } from "../log/mod.ts";
import { type CaptureKind, HostCaptureError } from "../sandbox/mod.ts";
import { createDiagnosticsEndpoints, isDiagnosticsEnabled } from "./mod.ts";
import {
  type CaptureFile,
  type CaptureTarget,
  chunked,
  ProfilerUnavailableError,
} from "./server_capture.ts";

/** A target whose captures finish (or fail) when the test says. */
class FakeTarget implements CaptureTarget {
  readonly calls: [CaptureKind, number][] = [];
  #settle: { resolve(file: CaptureFile): void; reject(error: unknown): void } | undefined;

  capture(what: CaptureKind, seconds: number): Promise<CaptureFile> {
    this.calls.push([what, seconds]);
    return new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
  }

  finish(text: string): void {
    const bytes = new TextEncoder().encode(text);
    this.#settle!.resolve({ bytes: bytes.length, body: chunked(bytes) });
  }

  fail(error: unknown): void {
    this.#settle!.reject(error);
  }
}

function setup(options: { host?: boolean } = {}) {
  const clock = new FakeClock(Date.UTC(2026, 11, 7, 22, 22, 7, 345));
  const server = new FakeTarget();
  const host = options.host === false ? undefined : new FakeTarget();
  const endpoints = createDiagnosticsEndpoints({
    log: getLogger(["pharos", "diagnostics"]),
    clock,
    server,
    host,
  });
  const call = (path: string, method = "POST") => {
    const endpoint: Endpoint = endpoints[new URL(path, "http://x").pathname]!;
    return endpoint(new Request(`http://localhost${path}`, { method }), "192.0.2.7:5000");
  };
  return { clock, server, host, call };
}

async function errorOf(response: Response, status: number, code: string): Promise<string> {
  assert.equal(response.status, status);
  const body = await response.json();
  assert.equal(body.error, code);
  return body.message;
}

/** Lets the endpoint reach its `await target.capture(…)`. */
const settled = nextTurn;

Deno.test("diagnostics endpoints", async (t) => {
  await t.step("POST /debug/profile: the target's file as a .cpuprofile attachment", async () => {
    const { server, call } = setup();
    const answer = call("/debug/profile?seconds=3");
    await settled();
    assert.deepEqual(server.calls, [["profile", 3]]);
    server.finish('{"nodes":[]}');
    const response = await answer;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("content-length"), "12");
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(
      response.headers.get("content-disposition"),
      'attachment; filename="pharos-server-20261207T222207Z.cpuprofile"',
    );
    assert.equal(await response.text(), '{"nodes":[]}');
  });

  await t.step(
    "POST /debug/heap?target=host: the host's .heapsnapshot; seconds default 10",
    async () => {
      const { server, host, call } = setup();
      const heap = call("/debug/heap?target=host");
      await settled();
      assert.deepEqual(host!.calls, [["heap", 0]]);
      host!.finish("{}");
      const response = await heap;
      assert.match(response.headers.get("content-disposition")!, /pharos-host-.*\.heapsnapshot"$/);
      await response.body!.cancel();
      const profile = call("/debug/profile");
      await settled();
      assert.deepEqual(server.calls, [["profile", 10]]);
      server.finish("{}");
      await (await profile).body!.cancel();
    },
  );

  await t.step("seconds outside 1…60, or not whole: 400, and nothing is captured", async () => {
    const { server, call } = setup();
    for (const seconds of ["0", "61", "2.5", "ten"]) {
      const message = await errorOf(
        await call(`/debug/profile?seconds=${seconds}`),
        400,
        "bad-request",
      );
      assert.match(message, /"seconds" must be a whole number from 1 to 60/);
    }
    await errorOf(await call("/debug/heap?target=worker"), 400, "bad-request");
    assert.deepEqual(server.calls, []);
  });

  await t.step("only POST: other methods 405 with Allow", async () => {
    const { server, call } = setup();
    const response = await call("/debug/heap", "GET");
    assert.equal(response.headers.get("allow"), "POST");
    await errorOf(response, 405, "method-not-allowed");
    assert.deepEqual(server.calls, []);
  });

  await t.step(
    "one capture at a time, across both targets: 409 until its file is sent",
    async () => {
      const { clock, server, host, call } = setup();
      const first = call("/debug/profile?seconds=5");
      await settled();
      clock.advance(2000);
      for (const path of ["/debug/profile?target=host", "/debug/heap", "/debug/heap?target=host"]) {
        const busy = await call(path);
        assert.equal(busy.headers.get("retry-after"), "1");
        const message = await errorOf(busy, 409, "capture-in-progress");
        assert.match(message, /A CPU profile of the server for 192\.0\.2\.7:5000 .* 2 s/);
      }
      assert.deepEqual(host!.calls, []);
      server.finish("{}");
      const response = await first;
      await errorOf(await call("/debug/heap"), 409, "capture-in-progress"); // not sent yet
      assert.equal(await response.text(), "{}");
      const next = call("/debug/heap?target=host");
      await settled();
      assert.deepEqual(host!.calls, [["heap", 0]], "free once the file was sent");
      host!.finish("{}");
      const cancelled = await next;
      await cancelled.body!.cancel(); // a client that goes away frees it too
      const after = call("/debug/heap");
      await settled();
      server.finish("{}");
      assert.equal((await after).status, 200);
      await (await after).body!.cancel();
    },
  );

  await t.step("target=host with handlers in this process: 409 no-handler-host", async () => {
    const { call } = setup({ host: false });
    const message = await errorOf(await call("/debug/heap?target=host"), 409, "no-handler-host");
    assert.match(message, /PHAROS_HANDLER_ISOLATION=inline/);
  });

  await t.step("a failed capture answers by its reason, and frees the lock", async () => {
    const { server, host, call } = setup();
    const cases: [CaptureTarget & FakeTarget, string, unknown, number, string][] = [
      [
        host!,
        "target=host",
        new HostCaptureError("died", "ended (timeout)"),
        502,
        "handler-host-died",
      ],
      [host!, "target=host", new HostCaptureError("timeout", "late"), 504, "handler-host-timeout"],
      [
        host!,
        "target=host",
        new HostCaptureError("unavailable", "none"),
        503,
        "handler-host-unavailable",
      ],
      [host!, "target=host", new HostCaptureError("failed", "oops"), 500, "capture-failed"],
      [server, "seconds=1", new ProfilerUnavailableError("no sys"), 503, "profiler-unavailable"],
      [server, "seconds=1", new Error("boom"), 500, "capture-failed"],
    ];
    for (const [target, query, error, status, code] of cases) {
      const answer = call(`/debug/profile?${query}`);
      await settled();
      target.fail(error);
      assert.equal(await errorOf(await answer, status, code), (error as Error).message);
    }
  });

  await t.step("each capture is logged at warn: who, what, target, size", async () => {
    await using logs = await recordLogs(["pharos", "diagnostics"]);
    const { host, call } = setup();
    const answer = call("/debug/heap?target=host");
    await settled();
    host!.finish("0123456789");
    await (await answer).body!.cancel();
    const [taken] = logs.at("warning");
    assert.match(
      logs.text(),
      /Heap snapshot of the handler host taken for 192\.0\.2\.7:5000: 10 bytes/,
    );
    assert.deepEqual(
      { ...taken!.properties, duration_ms: 0 },
      { what: "heap", target: "host", peer: "192.0.2.7:5000", bytes: 10, duration_ms: 0 },
    );
  });
});

Deno.test("diagnostics gating", async (t) => {
  await t.step("served only with an admin token or an admin port", () => {
    assert.equal(isDiagnosticsEnabled({ adminPort: -1, adminToken: "" }), false);
    assert.equal(isDiagnosticsEnabled({ adminPort: 9100, adminToken: "" }), true);
    assert.equal(isDiagnosticsEnabled({ adminPort: -1, adminToken: "secret" }), true);
  });

  await t.step("behind the admin token: 401 without it or with a wrong one", async () => {
    const server = new FakeTarget();
    const handler = createHttpHandler({
      state: { isReady: () => true, status: () => ({}) },
      log: getLogger(["pharos", "http"]),
      upgrade: () => Promise.resolve(new Response("upgraded")),
      adminEndpoints: createDiagnosticsEndpoints({
        log: getLogger(["pharos", "diagnostics"]),
        clock: new FakeClock(),
        server,
        host: undefined,
      }),
      adminToken: "admin-secret",
    });
    const post = (path: string, token?: string) =>
      handler(
        new Request(`http://localhost${path}`, {
          method: "POST",
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        }),
        { remoteAddr: { hostname: "192.0.2.7", port: 5000 } },
      );
    for (const token of [undefined, "wrong", "admin-secretx"]) {
      for (const path of ["/debug/profile?seconds=1", "/debug/heap"]) {
        await errorOf(await post(path, token), 401, "admin-token-required");
      }
    }
    assert.deepEqual(server.calls, []);
    const answer = post("/debug/heap", "admin-secret");
    await settled();
    assert.deepEqual(server.calls, [["heap", 0]]);
    server.finish("{}");
    assert.equal(await (await answer).text(), "{}");
  });
});
