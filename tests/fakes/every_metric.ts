/**
 * One call of every telemetry facade method, and a reading for every observable gauge: an
 * exposition with every metric Pharos defines, for the metric tests and for promtool.
 * @module
 */
import type { Telemetry } from "../../src/telemetry/mod.ts";

/** One call of every facade method (and readings for the observable gauges). */
export function recordOneOfEach(telemetry: Telemetry): void {
  const { ws, projector, vm, sources, cluster, auth, log, runtime, observe } = telemetry;
  auth.keySetRefreshed("unknown-kid", "updated");
  auth.forwardedHeaderRejected("malformed");
  auth.revocationListRefreshed("updated");
  auth.revocationListEntries(3, 1);
  auth.revokedSessionsClosed(2);
  ws.connectionOpened();
  ws.connectionOpened();
  ws.connectionClosed(12.5);
  ws.framesSent(3);
  ws.messageReceived();
  ws.connectionError("message-too-big");
  ws.handshakeRejected("server-at-capacity");
  ws.limitExceeded("messages-per-minute");
  ws.slowConsumerDropped();
  ws.subscriptionCreated("Token/state");
  ws.subscriptionRemoved("Token/state");
  ws.unknownView();
  ws.viewForbidden("Token/state");
  ws.deliveryLag("Token/list", 0.004);
  projector.mutationsProcessed("Token", 4);
  projector.framePublished("list", "Token");
  projector.batchDone(0.003);
  projector.viewCacheEviction("Token");
  projector.viewError("Token/list");
  vm.stateTableEviction("Token");
  vm.stateTableAtCapacity("Token", true);
  vm.stateTableAtCapacity("Holder", false);
  vm.pathCacheHit();
  vm.pathCacheMiss();
  vm.handlerError("Token", "handler-threw");
  vm.handlerCancelled("Token", "timeout");
  vm.hostRestarted("memory");
  vm.hostBatchDone(0.0004);
  vm.handlerDuration("Token", "transfer", 0.0002);
  sources.eventReceived("demo");
  log.linesDropped(5);
  runtime.loopDelay(0.0012);
  runtime.loopUtilization(0.35);
  observe.handlerHosts(() => ({
    residentBytes: 52_000_000,
    heapUsedBytes: 18_000_000,
    heapLimitBytes: 256 * 1024 * 1024,
    cpuSeconds: 4.5,
  }));
  observe.health(() => ({
    ready: true,
    sources: [{ name: "demo", healthy: true }, { name: "upstream", healthy: false }],
  }));
  observe.pipeline(() => ({ pending: 2, capacity: 1000 }));
  observe.cluster(() => ({
    lagEvents: 7,
    leaseHeld: true,
    checkpointAgeSeconds: 12.5,
    redisUp: true,
  }));
  cluster.appendFailed(3);
  cluster.epochChanged();
}
