import assert from "node:assert/strict";
import { compareSeq } from "../../src/stack/mod.ts";
import type { SentFrame } from "../fakes/memory_transport.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { snapshotEntities } from "./_helpers.ts";
import { until } from "../wait.ts";
import { type EnvServer, startEnvServer } from "../fakes/test_server.ts";

const FIXTURE = new URL("../fixtures/transfers.ndjson", import.meta.url).pathname;
const TOKEN = "replay-comparison-token";

/** The fixture's events as parsed JSON lines. */
async function fixtureLines(): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(FIXTURE);
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/** The fixture's mints. */
async function fixtureMints(): Promise<string[]> {
  const mints = (await fixtureLines()).map((line) =>
    (line.data as Record<string, unknown>).mint as string
  );
  return [...new Set(mints)].sort();
}

/** Per-mint transfer counts in the fixture. */
async function fixtureCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of await fixtureLines()) {
    const mint = (line.data as Record<string, unknown>).mint as string;
    counts.set(mint, (counts.get(mint) ?? 0) + 1);
  }
  return counts;
}

/** Waits until every mint of the fixture has all its transfers applied. */
async function allApplied(server: EnvServer): Promise<void> {
  const counts = await fixtureCounts();
  await until(
    () =>
      [...counts].every(([mint, count]) =>
        (server.app.projector.directory.snapshot("Token/state", { key: mint })[0]?.data as
          | { transferCount?: number }
          | undefined)?.transferCount === count
      ),
    "every fixture transfer to be applied and published",
  );
}

/** A fresh subscriber's `Token/list` snapshot, by key. */
async function snapshotOf(server: EnvServer): Promise<Map<string, Record<string, unknown>>> {
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: "Token/list" });
  const frames = await client.waitFor((all) => all.some((f) => f.json.op === "snapshot"));
  return new Map(snapshotEntities(frames, "Token/list").map(({ key, data }) => [key, data]));
}

/** The source report `/status` gives for `name`. */
async function statusOf(server: EnvServer, name: string): Promise<Record<string, unknown>> {
  const status = await (await fetch(`${server.httpUrl}/status`)).json();
  return (status.sources as Record<string, unknown>[]).find((source) => source.name === name)!;
}

Deno.test("replay: the fixture replays into the same state as ingesting it live", async () => {
  await using replayed = await startEnvServer({
    PHAROS_SOURCES: "replay",
    PHAROS_REPLAY_FILE: FIXTURE,
    PHAROS_REPLAY_PACE: "fast",
  });
  await using ingested = await startEnvServer({
    PHAROS_SOURCES: "ingest",
    PHAROS_INGEST_TOKEN: TOKEN,
  });
  const response = await fetch(`${ingested.httpUrl}/ingest`, {
    method: "POST",
    body: await Deno.readFile(FIXTURE),
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-ndjson" },
  });
  assert.equal(response.status, 202);
  assert.deepEqual(await response.json(), { accepted: 40, rejected: 0, errors: [] });

  await allApplied(replayed);
  await allApplied(ingested);
  const mints = await fixtureMints();
  assert.equal(mints.length, 5);
  for (const mint of mints) {
    const state = replayed.app.vm.state("Token", mint);
    assert.ok(state !== undefined, mint);
    assert.deepEqual(state, ingested.app.vm.state("Token", mint), mint);
  }
  // What a client sees agrees too.
  const [fromReplay, fromIngest] = await Promise.all([snapshotOf(replayed), snapshotOf(ingested)]);
  assert.deepEqual([...fromReplay.keys()].sort(), mints);
  assert.deepEqual(fromReplay, fromIngest);

  // The replay ended: disconnected, with every event counted.
  const report = await statusOf(replayed, "replay");
  assert.equal(report.kind, "replay");
  assert.equal(report.status, "Disconnected");
  assert.equal(report.events, 40);
});

Deno.test("replay: its cursor is the _seq of the last event, as subscribers saw it", async () => {
  await using server = await startEnvServer({
    PHAROS_SOURCES: "replay",
    PHAROS_REPLAY_FILE: FIXTURE,
    PHAROS_REPLAY_PACE: "fast",
  });
  await allApplied(server);
  const replay = server.app.sources.find((source) => source.kind === "replay")!;
  const lines = await fixtureLines();
  const lastSlot = lines.at(-1)!.slot as number;
  const cursor = replay.cursor?.();
  assert.match(String(cursor), new RegExp(`^${lastSlot}:\\d{12}$`));
  // Every entity's latest `_seq` (sent with its snapshot row) is at or before the cursor,
  // and the newest of them is the cursor itself.
  await using client = await TestClient.connect(server.wsUrl);
  client.send({ type: "subscribe", view: "Token/list" });
  const frames: SentFrame[] = await client.waitFor((all) =>
    all.some((f) => f.json.op === "snapshot")
  );
  const seqs = snapshotEntities(frames, "Token/list").map(({ data }) => String(data._seq));
  assert.equal(seqs.sort(compareSeq).at(-1), cursor);
});

Deno.test("replay: recorded pace follows the timestamps in real time", async () => {
  const path = await Deno.makeTempFile({ dir: "/tmp", prefix: "pharos-replay-paced-" });
  try {
    const t0 = Date.UTC(2026, 0, 1);
    const line = (mint: string, slot: number, timestamp: number) =>
      JSON.stringify({
        type: "Transfer",
        slot,
        timestamp,
        data: { mint, from: "a", to: "b", amount: "1" },
      });
    await Deno.writeTextFile(path, [line("p1", 1, t0), line("p2", 2, t0 + 300)].join("\n"));
    const started = performance.now();
    await using server = await startEnvServer({
      PHAROS_SOURCES: "replay",
      PHAROS_REPLAY_FILE: path,
      PHAROS_REPLAY_PACE: "recorded",
    });
    await until(() => server.app.vm.state("Token", "p1") !== undefined, "p1");
    assert.equal(server.app.vm.state("Token", "p2"), undefined, "p2 came before its time");
    await until(() => server.app.vm.state("Token", "p2") !== undefined, "p2");
    assert.ok(performance.now() - started >= 290, "p2 arrived too early");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("replay: a missing file shows as an error naming it, the server still runs", async () => {
  const missing = "/tmp/pharos-replay-missing-fixture.ndjson";
  await using server = await startEnvServer({
    PHAROS_SOURCES: "replay",
    PHAROS_REPLAY_FILE: missing,
  });
  const report = await statusOf(server, "replay");
  assert.equal(report.status, "Error");
  assert.ok(String(report.message).includes(missing), JSON.stringify(report));
  const health = await fetch(`${server.httpUrl}/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
});
