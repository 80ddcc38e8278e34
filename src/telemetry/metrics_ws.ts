import type { Meter } from "@opentelemetry/api";
import type { EmptyHistograms } from "./empty_histograms.ts";
import { WS_LIMITS, type WsTelemetry } from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import { type AreaMetrics, attributesOf, counter, synchronous } from "./metric_instruments.ts";

/**
 * The WebSocket server's instruments (connections, frames, errors, limits, subscriptions,
 * delivery lag).
 * Every limit's series starts at 0: the set of limits is closed.
 */
export function createWsMetrics(
  meters: readonly Meter[],
  empty?: EmptyHistograms,
): AreaMetrics<WsTelemetry> {
  const byView = attributesOf("view");
  const byKind = attributesOf("kind");
  const byCode = attributesOf("code");
  const byLimit = attributesOf("limit");

  const connections = counter(meters, m.wsConnections);
  const disconnections = counter(meters, m.wsDisconnections);
  const active = synchronous(meters, m.wsConnectionsActive);
  active(0);
  const duration = synchronous(meters, m.wsConnectionDuration);
  const sent = counter(meters, m.wsMessagesSent);
  const received = counter(meters, m.wsMessagesReceived);
  const errors = counter(meters, m.wsConnectionErrors);
  const errorsByKind = counter(meters, m.wsConnectionErrorsByKind);
  const slowConsumers = counter(meters, m.wsSlowConsumerDisconnects);
  const rejections = counter(meters, m.wsHandshakeRejections);
  const unknownViews = counter(meters, m.wsUnknownViewSubscriptions);
  const forbidden = counter(meters, m.wsViewForbidden);
  const limitsExceeded = counter(meters, m.wsLimitExceeded);
  for (const limit of WS_LIMITS) limitsExceeded(0, byLimit(limit));
  const created = counter(meters, m.subscriptionsCreated);
  const removed = counter(meters, m.subscriptionsRemoved);
  // A histogram has no series before its first sample (the SDK exports no empty one, and a
  // made-up 0 would count a delivery that never happened): `/metrics` shows each view's
  // empty series from start through `empty`; over OTLP it comes with the view's first frame.
  const deliveryLag = synchronous(meters, m.eventDeliveryLag);

  return {
    telemetry: {
      connectionOpened() {
        connections(1);
        active(1);
      },
      connectionClosed(durationSeconds) {
        disconnections(1);
        active(-1);
        duration(durationSeconds);
      },
      framesSent: (count) => sent(count),
      messageReceived: () => received(1),
      connectionError(kind) {
        errors(1);
        errorsByKind(1, byKind(kind));
      },
      handshakeRejected: (code) => rejections(1, byCode(code)),
      slowConsumerDropped: () => slowConsumers(1),
      limitExceeded: (limit) => limitsExceeded(1, byLimit(limit)),
      subscriptionCreated: (view) => created(1, byView(view)),
      subscriptionRemoved: (view) => removed(1, byView(view)),
      unknownView: () => unknownViews(1),
      viewForbidden: (view) => forbidden(1, byView(view)),
      deliveryLag: (view, seconds) => deliveryLag(seconds, byView(view)),
    },
    catalog(known) {
      for (const view of known.views ?? []) {
        created(0, byView(view));
        removed(0, byView(view));
        forbidden(0, byView(view));
        empty?.declare(m.eventDeliveryLag, byView(view));
      }
    },
  };
}
