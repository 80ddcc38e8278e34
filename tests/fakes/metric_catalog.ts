/**
 * The metric catalog of README's "Metrics and traces" as OpenTelemetry instruments, each with
 * the Prometheus name the standard translation gives it: shared by the translation's unit
 * test and the promtool check of an exposition written with those names.
 * @module
 */
import type { PrometheusNameInput } from "./prometheus_names.ts";

/** An instrument and its Prometheus name. */
export type Row = [input: PrometheusNameInput, expected: string];

/** A monotonic sum (counter). */
export const counter = (name: string, unit = ""): PrometheusNameInput => ({
  name,
  unit,
  type: "sum",
  monotonic: true,
});
/** A histogram. */
export const histogram = (name: string, unit: string): PrometheusNameInput => ({
  name,
  unit,
  type: "histogram",
});
/** A gauge. */
export const gauge = (name: string, unit = ""): PrometheusNameInput => ({
  name,
  unit,
  type: "gauge",
});

/** One OTel instrument per catalog row, named so the standard translation gives the row. */
export const CATALOG: Row[] = [
  [counter("ws_connections"), "ws_connections_total"],
  [counter("ws_disconnections"), "ws_disconnections_total"],
  [histogram("ws_connection_duration", "s"), "ws_connection_duration_seconds"],
  [counter("ws_messages_sent"), "ws_messages_sent_total"],
  [counter("ws_messages_received"), "ws_messages_received_total"],
  [counter("ws_connection_errors"), "ws_connection_errors_total"],
  [counter("subscriptions_created", "{subscription}"), "subscriptions_created_total"],
  [counter("subscriptions_removed", "{subscription}"), "subscriptions_removed_total"],
  [counter("mutations_processed", "{mutation}"), "mutations_processed_total"],
  [counter("frames_published", "{frame}"), "frames_published_total"],
  [histogram("projector_latency", "s"), "projector_latency_seconds"],
  [counter("state_table_evictions"), "state_table_evictions_total"],
  [gauge("state_table_at_capacity"), "state_table_at_capacity"],
  [counter("path_cache_hits"), "path_cache_hits_total"],
  [counter("path_cache_misses"), "path_cache_misses_total"],
  [counter("handler_errors", "{error}"), "handler_errors_total"],
  [counter("handler_cancellations"), "handler_cancellations_total"],
  [histogram("handler_call_duration", "s"), "handler_call_duration_seconds"],
  [gauge("process_resident_memory", "By"), "process_resident_memory_bytes"],
  // Issue 24's lag, event loop and handler host metrics.
  [histogram("event_delivery_lag", "s"), "event_delivery_lag_seconds"],
  [histogram("event_loop_delay", "s"), "event_loop_delay_seconds"],
  [gauge("event_loop_utilization"), "event_loop_utilization"],
  [gauge("handler_host_resident_memory", "By"), "handler_host_resident_memory_bytes"],
  [gauge("handler_host_heap_used", "By"), "handler_host_heap_used_bytes"],
  [gauge("handler_host_heap_limit", "By"), "handler_host_heap_limit_bytes"],
  [counter("handler_host_cpu", "s"), "handler_host_cpu_seconds_total"],
];
