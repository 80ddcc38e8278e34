/**
 * `POST /debug/profile` and `POST /debug/heap` against real servers with real handler
 * hosts: valid `.cpuprofile` and `.heapsnapshot` files of the server and of its host,
 * `/health` answering while a profile runs (its p99 printed), one capture at a time, the
 * admin token, no routes without an admin token or port, and the permissions they need
 * (`deno task start`'s set grants the inspector; without `sys` the server's profile is a
 * clear 503).
 */
import assert from "node:assert/strict";
import { spawnDeno, spawnServer } from "../fakes/server_process.ts";
import { startEnvServer } from "../fakes/test_server.ts";
import { ROOT } from "./_tasks.ts";

const TOKEN = "diagnostics-admin-token";

/** POSTs `path`, with the admin token unless `token` says another (null: none). */
function post(base: string, path: string, token: string | null = TOKEN): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

async function errorCode(response: Response): Promise<[number, string]> {
  return [response.status, (await response.json()).error];
}

/** The file of a 200 answer, parsed, after checking it is an attachment named `pattern`. */
async function attachment(response: Response, pattern: RegExp): Promise<Record<string, unknown>> {
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(response.headers.get("content-disposition") ?? "", pattern);
  const text = await response.text();
  assert.equal(
    String(new TextEncoder().encode(text).length),
    response.headers.get("content-length"),
  );
  return JSON.parse(text);
}

/** What Chrome DevTools and speedscope need of a `.cpuprofile`. */
function assertCpuProfile(profile: Record<string, unknown>): void {
  const nodes = profile.nodes as { id: number; callFrame: { functionName: string } }[];
  assert.ok(nodes.length > 0, "nodes");
  assert.ok(nodes.every((node) => typeof node.id === "number" && node.callFrame !== undefined));
  const samples = profile.samples as number[];
  assert.ok(samples.length > 0, "samples");
  assert.equal((profile.timeDeltas as number[]).length, samples.length);
  assert.ok((profile.endTime as number) > (profile.startTime as number));
}

/** What DevTools' Memory panel needs of a `.heapsnapshot`. */
function assertHeapSnapshot(snapshot: Record<string, unknown>): string[] {
  const head = snapshot.snapshot as {
    meta: { node_fields: string[]; edge_fields: string[] };
    node_count: number;
    edge_count: number;
  };
  assert.ok(head.meta.node_fields.includes("name"));
  assert.ok(head.node_count > 1000);
  assert.equal((snapshot.nodes as number[]).length, head.node_count * head.meta.node_fields.length);
  assert.equal((snapshot.edges as number[]).length, head.edge_count * head.meta.edge_fields.length);
  return snapshot.strings as string[];
}

/** Polls `/health` one request after another until `done` settles; the latencies, ms. */
async function healthWhile(base: string, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => {});
  const latencies: number[] = [];
  while (!finished) {
    const startedAt = performance.now();
    const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    latencies.push(performance.now() - startedAt);
  }
  return latencies;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

Deno.test("captures of a real server and of its handler host", async (t) => {
  await using server = await startEnvServer({
    PHAROS_ADMIN_TOKEN: TOKEN,
    PHAROS_HANDLER_ISOLATION: "process",
  });
  const base = server.httpUrl;

  await t.step("a CPU profile of the server, /health answering while it runs", async () => {
    const answer = post(base, "/debug/profile?seconds=1");
    const latencies = await healthWhile(base, answer);
    assert.ok(latencies.length >= 10, `/health answered ${latencies.length} times`);
    assertCpuProfile(
      await attachment(
        await answer,
        /^attachment; filename="pharos-server-\d{8}T\d{6}Z\.cpuprofile"$/,
      ),
    );
  });

  await t.step("a CPU profile of the handler host", async () => {
    const response = await post(base, "/debug/profile?seconds=1&target=host");
    assertCpuProfile(await attachment(response, /filename="pharos-host-.*\.cpuprofile"/));
  });

  await t.step("a heap snapshot of the server", async () => {
    const strings = assertHeapSnapshot(
      await attachment(
        await post(base, "/debug/heap"),
        /filename="pharos-server-.*\.heapsnapshot"/,
      ),
    );
    assert.ok(strings.some((s) => s.endsWith("diagnostics_test.ts")), "this process's heap");
  });

  await t.step("a heap snapshot of the handler host", async () => {
    const response = await post(base, "/debug/heap?target=host");
    const strings = assertHeapSnapshot(
      await attachment(response, /filename="pharos-host-.*\.heapsnapshot"/),
    );
    assert.ok(strings.some((s) => s.endsWith("sandbox/host_main.ts")), "the host's heap");
    assert.ok(!strings.some((s) => s.endsWith("diagnostics_test.ts")), "not this process's");
  });

  await t.step("two captures at once: one is taken, the other is 409", async () => {
    const answers = await Promise.all([
      post(base, "/debug/profile?seconds=1&target=host"),
      post(base, "/debug/profile?seconds=1"),
    ]);
    const statuses = answers.map((response) => response.status).sort();
    assert.deepEqual(statuses, [200, 409]);
    for (const response of answers) {
      if (response.status === 409) {
        assert.equal((await response.json()).error, "capture-in-progress");
      } else assertCpuProfile(await response.json());
    }
  });

  await t.step(
    "seconds out of bounds: 400; without the token or with a wrong one: 401",
    async () => {
      assert.deepEqual(await errorCode(await post(base, "/debug/profile?seconds=61")), [
        400,
        "bad-request",
      ]);
      for (const token of [null, "wrong"]) {
        for (const path of ["/debug/profile?seconds=1", "/debug/heap"]) {
          assert.deepEqual(await errorCode(await post(base, path, token)), [
            401,
            "admin-token-required",
          ]);
        }
      }
    },
  );
});

Deno.test("no admin token or port: no /debug routes; handlers in the server: no host", async () => {
  {
    await using open = await startEnvServer({ PHAROS_HANDLER_ISOLATION: "process" });
    for (const path of ["/debug/profile?seconds=1", "/debug/heap"]) {
      const response = await post(open.httpUrl, path, null);
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
  }
  await using inline = await startEnvServer({ PHAROS_ADMIN_TOKEN: TOKEN });
  assert.deepEqual(await errorCode(await post(inline.httpUrl, "/debug/heap?target=host")), [
    409,
    "no-handler-host",
  ]);
});

Deno.test("main.ts with deno task start's permissions profiles itself; /health's p99 meanwhile", async () => {
  await using proc = spawnDeno(
    ["run", "--quiet", "-P=server", "main.ts"],
    { PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_ADMIN_TOKEN: TOKEN, PHAROS_DEMO_RATE: "200" },
    { cwd: ROOT },
  );
  const base = `http://127.0.0.1:${await proc.port}`;
  const profile = post(base, "/debug/profile?seconds=1");
  const duringProfile = await healthWhile(base, profile);
  assertCpuProfile(await attachment(await profile, /\.cpuprofile"$/));
  const hostHeap = post(base, "/debug/heap?target=host");
  const duringHostHeap = await healthWhile(base, hostHeap);
  assertHeapSnapshot(await attachment(await hostHeap, /\.heapsnapshot"$/));
  const heap = post(base, "/debug/heap");
  const duringHeap = await healthWhile(base, heap);
  const heapBytes = (await (await heap).arrayBuffer()).byteLength;
  const line = (what: string, latencies: number[]) =>
    `${what}: ${latencies.length} requests, p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
    `p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`;
  // deno-lint-ignore no-console -- the figures the docs quote
  console.log(
    [
      line("/health during a 1 s CPU profile of the server", duringProfile),
      line("during a heap snapshot of the handler host", duringHostHeap),
      line(`during a heap snapshot of the server (${heapBytes} bytes)`, duringHeap),
    ].join("\n"),
  );
  const p99 = percentile(duringProfile, 99);
  assert.ok(duringProfile.length >= 20, `/health answered ${duringProfile.length} times in 1 s`);
  assert.ok(p99 < 250, `/health p99 ${p99.toFixed(1)} ms while profiling`);
});

Deno.test("main.ts without sys: the server's CPU profile is a clear 503; the host's works", async () => {
  await using proc = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_ADMIN_TOKEN: TOKEN,
  });
  const base = `http://127.0.0.1:${await proc.port}`;
  const refused = await post(base, "/debug/profile?seconds=1");
  assert.equal(refused.status, 503);
  const body = await refused.json();
  assert.equal(body.error, "profiler-unavailable");
  assert.match(body.message, /sys/);
  assertCpuProfile(
    await attachment(await post(base, "/debug/profile?seconds=1&target=host"), /host/),
  );
  assertHeapSnapshot(await attachment(await post(base, "/debug/heap"), /server/));
});
