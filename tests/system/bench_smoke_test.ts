/**
 * The benchmark's smoke mode, so `deno task bench` cannot rot: every scenario runs for a
 * second or so against real processes (the cluster part on a real redis-server). It
 * asserts that each part ran and reported, never how fast (speed belongs to BENCHMARKS.md,
 * from full runs).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

Deno.test("deno task bench --smoke runs every scenario and reports it", async () => {
  const out = await Deno.makeTempFile({ dir: "/tmp", suffix: ".json" });
  try {
    const bench = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks
      .bench as string;
    // The task's own command line, so its permissions are what is tested.
    const args = bench.split(" ").slice(1);
    const output = await new Deno.Command(Deno.execPath(), {
      args: [...args, "--smoke", "--out", out],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.success, true, `bench failed:\n${stdout}\n${stderr}`);

    assert.match(stdout, /^\| figure \| measured \| target \| met \|$/m);
    for (
      const figure of [
        "loss",
        "flood throughput",
        "telemetry on",
        "/ready p99",
        "idle connection",
        "start-up",
        "event throughput, 1 subscriber",
        "event throughput, telemetry-on",
        "telemetry-on ÷ off",
        "spans exported per second",
        "event→frame p99",
        "frames lost",
        "process ÷ inline",
        "added event→frame p50",
        "runaway handler",
        "/health p99 while",
        "host killed",
        "cluster: event at A",
        "cluster: event throughput",
        "cluster: events lost",
        "cluster: fresh instance ready",
        "console: fan-out flood with one console open",
        "row rule: server CPU per event",
        "row rule: events/s at saturation",
        "row rule: server CPU per event, rule ÷ per-key",
        "row rule: frames lost",
      ]
    ) {
      assert.match(stdout, new RegExp(`^\\| [^|]*${figure.replace("/", "\\/")}`, "m"), figure);
    }
    const report = JSON.parse(await Deno.readTextFile(out));
    assert.equal(report.command, "deno task bench --smoke");
    assert.equal(report.figures.length, 29);
    const { settings, results } = report;
    assert.equal(results.fanout_runs.length, 4 * settings.repeats);
    for (const target of ["baseline", "pharos", "telemetry-off", "telemetry-on"]) {
      assert.equal(results.fanout[target].runs, settings.repeats);
      const run = results.fanout_runs.find((r: { target: string }) => r.target === target);
      assert.equal(run.connected, settings.clients, `${target}: every client connected`);
      for (const phase of [run.fixed, run.flood]) {
        assert.ok(phase.events_sent > 0, `${target} ${phase.phase}: events were sent`);
        assert.equal(phase.delivered + phase.lost, phase.expected_deliveries);
        assert.ok(phase.latency_ms.count > 0);
      }
      assert.ok(run.probe.ready_ms.count > 0, `${target}: /ready was probed during the flood`);
    }
    assert.match(stdout, /^Event throughput \(/m);
    assert.equal(results.event_runs.length, 4 * settings.repeats);
    // The spans the telemetry-on server exported during its saturation reached the sink.
    assert.ok(results.events["telemetry-on"].spans_per_s_1 > 0, "spans/s at full rate");
    assert.equal(results.events["telemetry-off"].spans_per_s_1, undefined);
    for (const target of ["pharos", "telemetry-on", "telemetry-off", "runtime"]) {
      assert.equal(results.events[target].runs, settings.repeats, `${target}: event throughput`);
      assert.match(stdout, new RegExp(`^\\| \\d+\\. ${target} \\| saturate_many \\|`, "m"));
      const run = results.event_runs.find((r: { target: string }) => r.target === target);
      const phases = [["saturate_1", 1], ["fixed", 1], [
        "saturate_many",
        settings.eventSubscribers,
      ]];
      for (const [name, subscribers] of phases) {
        const phase = run.phases[name];
        assert.equal(phase.subscribers, subscribers, `${target} ${name}: all subscribed`);
        assert.ok(phase.events_accepted > 0, `${target} ${name}: events were accepted`);
        assert.equal(phase.received_frames + phase.lost - phase.extra, phase.expected_frames);
        assert.ok(phase.events_per_s > 0, `${target} ${name}: throughput was measured`);
        assert.ok(Number.isFinite(run.server_cpu_pct[name]), `${target} ${name}: server CPU`);
      }
      assert.ok(run.phases.fixed.latency_ms.count > 0, `${target}: event→frame latency was timed`);
    }
    assert.ok(report.otlp_sink.requests["/v1/traces"] > 0, "telemetry-on exported spans");
    for (const target of ["pharos", "inline"]) {
      assert.equal(results.isolation[target].runs, settings.repeats, `${target}: isolation`);
      assert.ok(results.isolation[target].events_per_s_1 > 0);
    }
    const { sandbox } = results;
    assert.equal(sandbox.runaway_next_frame_ms.length, settings.sandboxRunaways);
    assert.equal(sandbox.kill_next_frame_ms.length, settings.sandboxKills);
    assert.ok(sandbox.health_probes > 0, "/health was probed while a handler ran away");
    const { cluster } = results;
    for (const run of [cluster.standalone, cluster.cluster_one, cluster.cluster_ab]) {
      assert.ok(run.phases.saturate_1.events_per_s > 0, `${run.target}: throughput was measured`);
      assert.ok(run.phases.fixed.latency_ms.count > 0, `${run.target}: latency was timed`);
    }
    assert.deepEqual(cluster.faults.map((f: { fault: string }) => f.fault), [
      "instance-killed",
      "redis-restarted",
      "lease-handover",
    ]);
    for (const fault of cluster.faults) {
      assert.ok(fault.acknowledged > 0, `${fault.fault}: events were acknowledged`);
      assert.ok(fault.ingest.length > 0, `${fault.fault}: a survivor's state was checked`);
    }
    assert.equal(cluster.bootstrap.tail_events, settings.clusterTailEvents);
    assert.ok(cluster.bootstrap.ready_ms > 0, "the fresh instance was timed to ready");
    assert.deepEqual(
      results.console_runs.map((run: { target: string }) => run.target),
      Array.from({ length: settings.repeats }, () => ["pharos", "pharos-console"]).flat(),
    );
    // Row rules: the flood with the rule; without it to one group's worth of connections, to
    // each owner's connections through per-key subscriptions, and to everyone.
    assert.equal(results.rows_runs.length, 4 * settings.repeats);
    const rowRuns = Object.fromEntries(
      results.rows_runs.map((run: { target: string }) => [run.target, run]),
    );
    const group = settings.clients / settings.rowsOwners;
    for (
      const [target, subscribed, reach] of [
        ["rule", settings.clients, group],
        ["no-rule-group", group, group],
        ["no-rule-keyed", settings.clients, group],
        ["no-rule", settings.clients, settings.clients],
      ] as const
    ) {
      const run = rowRuns[target];
      assert.equal(run.connections, settings.clients, `${target}: every client connected`);
      assert.equal(run.subscribers, subscribed, `${target}: subscribed`);
      assert.equal(run.receivers_per_event, reach, `${target}: clients an event reaches`);
      assert.ok(run.phase.events_accepted > 0, `${target}: events were accepted`);
      assert.equal(run.phase.expected_frames, run.phase.events_accepted * reach, target);
      assert.equal(
        run.phase.received_frames + run.phase.lost - run.phase.extra,
        run.phase.expected_frames,
      );
      assert.ok(run.cpu_us_per_event > 0, `${target}: server CPU per event`);
    }
    assert.match(stdout, /^Row rules \(/m);
    for (const target of ["baseline", "pharos"]) {
      assert.equal(results.idle[target].connections, settings.idleConnections);
      assert.equal(results.startup[target].runs_ms.length, settings.startupRuns);
    }
  } finally {
    await Deno.remove(out).catch(() => {});
  }
});
