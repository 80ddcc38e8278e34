/**
 * Sandboxed handlers on a real server (`main.ts` as `deno task start` runs it): a handler
 * that loops, blows its heap, exits, throws or reaches for secrets never freezes the
 * server, the events after it reach a subscriber, the right counter moves, nothing secret
 * is streamed, and SIGTERM still drains cleanly; a stack gets exactly the permissions it
 * declares, and a malformed declaration stops start-up with exit code 2.
 */
import assert from "node:assert/strict";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { framesFor } from "./_helpers.ts";
import { until } from "../wait.ts";

const TOKEN = "ingest-secret-do-not-stream";

function post(base: string, events: unknown[]): Promise<Response> {
  return fetch(`${base}/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-ndjson" },
    body: events.map((event) => JSON.stringify(event)).join("\n"),
  });
}

async function metric(base: string, series: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Keys of the `Item/list` patches `client` has received. */
function patchedKeys(client: TestClient): string[] {
  return framesFor(client.frames, "Item/list").filter((f) => f.json.op === "patch")
    .map((f) => String(f.json.key));
}

const act = (key: string, mode?: string) => ({
  type: "Act",
  key,
  slot: 1,
  data: mode === undefined ? {} : { mode },
});

Deno.test("a misbehaving handler never takes the server with it", async (t) => {
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_STACK: "tests/fixtures/hostile_stack.ts",
    PHAROS_INGEST_TOKEN: TOKEN,
    // Generous, so the heap bomb dies of memory before the watchdog, even on a loaded machine.
    PHAROS_HANDLER_TIMEOUT_MS: "1000",
    PHAROS_HANDLER_MEMORY_MB: "32",
  });
  const port = await server.port;
  const base = `http://127.0.0.1:${port}`;
  await using client = await TestClient.connect(`ws://127.0.0.1:${port}/`);
  client.send({ type: "subscribe", view: "Item/list" });

  const cases: [mode: string, series: string][] = [
    ["loop", 'handler_cancellations_total{entity="Item",reason="timeout"}'],
    ["asyncLoop", 'handler_cancellations_total{entity="Item",reason="timeout"}'],
    ["bomb", 'handler_cancellations_total{entity="Item",reason="memory"}'],
    ["exit", 'handler_cancellations_total{entity="Item",reason="crash"}'],
    ["throw", 'handler_errors_total{entity="Item",code="RangeError"}'],
    ["env", 'handler_errors_total{entity="Item",code="NotCapable"}'],
    ["read", 'handler_errors_total{entity="Item",code="NotCapable"}'],
  ];
  for (const [mode, series] of cases) {
    await t.step(`${mode}: /health answers, the next event arrives, ${series} moves`, async () => {
      const before = await metric(base, series);
      assert.equal(
        (await post(base, [act(`${mode}-bad`, mode), act(`${mode}-after`)])).status,
        202,
      );
      // While the host is stuck (or dying), the server itself keeps answering.
      for (let i = 0; i < 5; i++) {
        const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
        assert.equal(health.status, 200);
        await health.body?.cancel();
      }
      await client.waitFor(() => patchedKeys(client).includes(`${mode}-after`), 10_000);
      assert.ok(!patchedKeys(client).includes(`${mode}-bad`), `${mode}: the bad event was skipped`);
      assert.equal(await metric(base, series), before + 1);
    });
  }

  await t.step("nothing secret reached the subscriber", () => {
    const everything = JSON.stringify(client.frames.map((f) => f.json));
    assert.ok(!everything.includes(TOKEN), "the ingest token was streamed");
    const hostname = Deno.readTextFileSync("/etc/hostname").trim();
    assert.ok(!everything.includes(`"host":"${hostname}`), "a file was streamed");
  });

  await t.step("/status shows the host: mode, pid, restarts and memory", async () => {
    const status = await (await fetch(`${base}/status`)).json();
    assert.equal(status.handlers.isolation, "process");
    assert.equal(typeof status.handlers.pid, "number");
    assert.equal(status.handlers.restarts, 4); // loop, asyncLoop, bomb, exit
    assert.equal(status.handlers.permissions, "none");
    assert.ok(status.handlers.memory === null || status.handlers.memory.rssBytes > 0);
    assert.equal(await metric(base, 'handler_host_restarts_total{reason="timeout"}'), 2);
  });

  await t.step("SIGTERM during a runaway handler still drains and exits 0", async () => {
    assert.equal((await post(base, [act("final", "loop")])).status, 202);
    const startedAt = Date.now();
    server.child.kill("SIGTERM");
    const status = await server.exited;
    assert.equal(status.code, 0, server.stderr());
    assert.ok(Date.now() - startedAt < 10_000);
    assert.match(server.stdout(), /Shutdown complete/);
  });
});

Deno.test("a stack gets exactly the permissions it declares", async () => {
  await using peer = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response("pong"),
  );
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_STACK: "tests/fixtures/permitted_stack.ts",
    PHAROS_INGEST_TOKEN: TOKEN,
    PRICE_API_KEY: "price-key-1",
    OTHER_SECRET: "not-for-handlers",
  });
  const port = await server.port;
  const base = `http://127.0.0.1:${port}`;
  assert.match(
    server.stdout(),
    /permissions net=\[127\.0\.0\.1\] env=\[PRICE_API_KEY\] read=\[\.\/tests\/fixtures\/transfers\.ndjson\]/,
  );
  await using client = await TestClient.connect(`ws://127.0.0.1:${port}/`);
  client.send({ type: "subscribe", view: "Probe/list" });
  const reach = (key: string, data: Record<string, string>) => ({ type: "Reach", key, data });
  const peerUrl = `http://127.0.0.1:${peer.addr.port}/`;
  const events = [
    reach("net-ok", { url: peerUrl }),
    reach("net-denied", { url: `http://localhost:${peer.addr.port}/` }),
    reach("env-ok", { env: "PRICE_API_KEY" }),
    reach("env-denied", { env: "OTHER_SECRET" }),
    reach("read-ok", { file: "./tests/fixtures/transfers.ndjson" }),
    reach("read-denied", { file: "./deno.json" }),
    reach("done", {}),
  ];
  const before = await metric(base, 'handler_errors_total{entity="Probe",code="NotCapable"}');
  assert.equal((await post(base, events)).status, 202);
  await client.waitFor(() => {
    const keys = framesFor(client.frames, "Probe/list").map((f) => f.json.key);
    return ["net-ok", "env-ok", "read-ok"].every((key) => keys.includes(key));
  }, 10_000);
  const data = Object.fromEntries(
    framesFor(client.frames, "Probe/list").filter((f) => f.json.op === "patch")
      .map((f) => [f.json.key, f.json.data]),
  );
  assert.deepEqual(data["net-ok"], { status: 200, body: "pong" });
  assert.deepEqual(data["env-ok"], { env: "price-key-1" });
  assert.equal(typeof (data["read-ok"] as { bytes: number }).bytes, "number");
  for (const denied of ["net-denied", "env-denied", "read-denied"]) {
    assert.equal(data[denied], undefined, `${denied} was allowed`);
  }
  assert.equal(
    await metric(base, 'handler_errors_total{entity="Probe",code="NotCapable"}'),
    before + 3,
  );
});

Deno.test("a malformed permission declaration stops start-up with exit code 2", async () => {
  await using server = spawnServer({
    PORT: "0",
    PHAROS_STACK: "tests/fixtures/bad_permissions_stack.ts",
  });
  const status = await server.exited;
  assert.equal(status.code, 2);
  const stderr = server.stderr();
  assert.match(stderr, /permissions\.net: "https:\/\/api\.example\.com\/v1" is not a host/);
  assert.match(stderr, /permissions\.env: "PHAROS_AUTH_PRIVATE_KEY" would give handlers/);
});

Deno.test("no handler host can start: /ready is 503 until one can, then 200 again", async () => {
  // A stack whose module imports a file the test then removes: hosts that are up keep
  // running, new ones cannot load it.
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const mod = new URL("../../src/mod.ts", import.meta.url).href;
    await Deno.writeTextFile(`${dir}/dep.ts`, "export const step = 1;\n");
    await Deno.writeTextFile(
      `${dir}/stack.ts`,
      `import { defineStack } from ${JSON.stringify(mod)};
import { step } from "./dep.ts";
export default defineStack({
  name: "fragile",
  entities: { Item: { handlers: { Act: (s) => ({ n: ((s?.n as number) ?? 0) + step }) } } },
  sources: [{ kind: "ingest" }],
});
`,
    );
    await using server = spawnServer({
      PORT: "0",
      PHAROS_HOST: "127.0.0.1",
      PHAROS_STACK: `${dir}/stack.ts`,
      PHAROS_INGEST_TOKEN: TOKEN,
    });
    const base = `http://127.0.0.1:${await server.port}`;
    const handlers = async () => (await (await fetch(`${base}/status`)).json()).handlers;
    const readyStatus = async () => {
      const response = await fetch(`${base}/ready`);
      await response.body?.cancel();
      return response.status;
    };
    await until(async () => (await handlers()).sparePid !== null, "a warm spare", 10_000);
    assert.equal(await readyStatus(), 200);
    await using client = await TestClient.connect(`ws://127.0.0.1:${new URL(base).port}/`);
    client.send({ type: "subscribe", view: "Item/list" });

    await Deno.remove(`${dir}/dep.ts`);
    const first = await handlers();
    Deno.kill(first.pid, "SIGKILL");
    // The spare takes over at the next batch; the host started to replace it cannot load.
    assert.equal((await post(base, [act("a")])).status, 202);
    await until(
      async () => {
        const now = await handlers();
        return now.pid !== null && now.pid !== first.pid;
      },
      "the spare promoted",
      10_000,
    );
    // The event sent as its host died is not lost: it ran on the spare.
    await client.waitFor(() => patchedKeys(client).includes("a"), 10_000);
    Deno.kill((await handlers()).pid, "SIGKILL");
    await until(async () => (await readyStatus()) === 503, "/ready 503", 10_000);
    assert.equal((await handlers()).available, false);

    await Deno.writeTextFile(`${dir}/dep.ts`, "export const step = 1;\n");
    await until(async () => (await readyStatus()) === 200, "/ready 200 again", 10_000);
    assert.equal((await handlers()).available, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
