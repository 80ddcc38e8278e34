/**
 * The OTLP → Prometheus name translation (`prometheus_names.ts`) on the metric catalog of
 * README's "Metrics and traces" and on the general rules. promtool's verdict on an
 * exposition written with the translated names is in `tests/system/ops_test.ts`.
 */
import assert from "node:assert/strict";
import { CATALOG, counter, gauge, histogram, type Row } from "./metric_catalog.ts";
import { toPrometheusName } from "./prometheus_names.ts";

const RULES: Row[] = [
  // Names that already carry their suffixes stay as they are.
  [counter("ws_connections_total"), "ws_connections_total"],
  [histogram("ws_connection_duration_seconds", "s"), "ws_connection_duration_seconds"],
  [gauge("process_resident_memory_bytes", "By"), "process_resident_memory_bytes"],
  [counter("process_cpu_seconds_total", "s"), "process_cpu_seconds_total"],
  // `total` anywhere in a counter's name moves to the end; units go before it.
  [counter("total_requests"), "requests_total"],
  [counter("process_cpu", "s"), "process_cpu_seconds_total"],
  [counter("http.server.request.body.size", "By"), "http_server_request_body_size_bytes_total"],
  // Dots, dashes and other invalid characters become `_`; runs collapse.
  [histogram("http.server.duration", "s"), "http_server_duration_seconds"],
  [histogram("http.server.request.duration", "s"), "http_server_request_duration_seconds"],
  [gauge("jvm-memory..used", "By"), "jvm_memory_used_bytes"],
  [gauge("a__b", ""), "a_b"],
  [gauge("ns:sub.value", ""), "ns:sub_value"],
  [gauge("2xx.rate", ""), "_2xx_rate"],
  // Unit table.
  [histogram("rpc.duration", "ms"), "rpc_duration_milliseconds"],
  [histogram("gc.pause", "us"), "gc_pause_microseconds"],
  [histogram("gc.pause", "ns"), "gc_pause_nanoseconds"],
  [gauge("uptime", "h"), "uptime_hours"],
  [gauge("uptime", "d"), "uptime_days"],
  [gauge("uptime", "min"), "uptime_minutes"],
  [gauge("cache.size", "KBy"), "cache_size_kilobytes"],
  [gauge("cache.size", "KiBy"), "cache_size_kibibytes"],
  [gauge("cache.size", "MiBy"), "cache_size_mebibytes"],
  [gauge("cache.size", "GBy"), "cache_size_gigabytes"],
  [gauge("cpu.temperature", "Cel"), "cpu_temperature_celsius"],
  [gauge("cpu.frequency", "Hz"), "cpu_frequency_hertz"],
  [gauge("disk.usage", "%"), "disk_usage_percent"],
  [gauge("distance", "m"), "distance_meters"],
  // Unknown units are kept, cleaned.
  [gauge("link.speed", "Mbit"), "link_speed_Mbit"],
  [gauge("weird", "foo.bar"), "weird_foo_bar"],
  // `X/Y` → `X_per_Y` (singular per-unit); annotations dropped on either side.
  [gauge("network.io", "By/s"), "network_io_bytes_per_second"],
  [gauge("requests.rate", "{request}/s"), "requests_rate_per_second"],
  [gauge("requests.rate", "1/s"), "requests_rate_per_second"],
  [gauge("throughput", "By/{batch}"), "throughput_bytes"],
  [gauge("throughput", "By/mo"), "throughput_bytes_per_month"],
  [counter("io", "By/s"), "io_bytes_per_second_total"],
  // Unit `1`: no suffix, except `_ratio` on gauges.
  [counter("ws_connections", "1"), "ws_connections_total"],
  [gauge("cpu.utilization", "1"), "cpu_utilization_ratio"],
  [gauge("cpu_ratio", "1"), "cpu_ratio"],
  [gauge("ratio_of_hits", "1"), "of_hits_ratio"],
  [histogram("batch.size", "1"), "batch_size"],
  [histogram("batch.size", "{mutation}"), "batch_size"],
  // Non-monotonic sums are gauges in Prometheus: no `_total`.
  [
    { name: "ws_connections_active", unit: "", type: "sum", monotonic: false },
    "ws_connections_active",
  ],
  [{ name: "queue.depth", unit: "1", type: "sum", monotonic: false }, "queue_depth"],
  // A unit already among the name's tokens is not repeated (token match, not only the end).
  [histogram("seconds.elapsed", "s"), "seconds_elapsed"],
  [gauge("bytes_in_flight", "By"), "bytes_in_flight"],
];

Deno.test("toPrometheusName gives every catalog name of the README", () => {
  for (const [input, expected] of CATALOG) {
    assert.equal(toPrometheusName(input), expected, JSON.stringify(input));
  }
});

Deno.test("toPrometheusName follows the Collector's translation rules", () => {
  for (const [input, expected] of RULES) {
    assert.equal(toPrometheusName(input), expected, JSON.stringify(input));
  }
});

Deno.test("toPrometheusName adds the namespace and refuses names with nothing valid", () => {
  assert.equal(
    toPrometheusName(counter("ws_connections"), { namespace: "pharos" }),
    "pharos_ws_connections_total",
  );
  assert.throws(() => toPrometheusName(gauge("...", "")), RangeError);
  assert.throws(() => toPrometheusName(gauge("", "")), RangeError);
});
