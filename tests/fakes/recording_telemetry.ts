import { noopTelemetry, type Telemetry } from "../../src/telemetry/mod.ts";

/** Telemetry that counts every call as `component.method[label,…]`, for assertions. */
export interface RecordingTelemetry extends Telemetry {
  /** Sum of the numeric first argument (or 1 per call) by `component.method` and labels. */
  readonly counts: Map<string, number>;
  /** Count for `name` (e.g. `ws.unknownView`), summed over all labels when `labels` is omitted. */
  count(name: string, ...labels: string[]): number;
  /**
   * The readings `name` was called with (its numeric argument: a duration, a lag, a ratio),
   * in order, for one label set (e.g. `values("ws.deliveryLag", "Token/list")`).
   */
  values(name: string, ...labels: string[]): number[];
}

/** Methods whose numeric argument is a count to add (1 when absent), not a reading. */
const SUMMED = new Set([
  "framesSent",
  "mutationsProcessed",
  "framePublished",
  "eventReceived",
  "revokedSessionsClosed",
]);

/** Creates a recording telemetry. */
export function createRecordingTelemetry(): RecordingTelemetry {
  const counts = new Map<string, number>();
  const readings = new Map<string, number[]>();
  const record = (component: string) =>
    new Proxy({}, {
      get(_target, method: string) {
        return (...args: unknown[]) => {
          const labels = args.filter((a) => typeof a === "string") as string[];
          const amount = SUMMED.has(method)
            ? Number(args.find((a) => typeof a === "number") ?? 1)
            : 1;
          const key = `${component}.${method}[${labels.join(",")}]`;
          counts.set(key, (counts.get(key) ?? 0) + amount);
          const reading = args.find((a) => typeof a === "number");
          if (!SUMMED.has(method) && typeof reading === "number") {
            const list = readings.get(key) ?? [];
            list.push(reading);
            readings.set(key, list);
          }
        };
      },
    });
  const telemetry = {
    ws: record("ws"),
    projector: record("projector"),
    vm: record("vm"),
    sources: record("sources"),
    cluster: record("cluster"),
    auth: record("auth"),
    log: record("log"),
    runtime: record("runtime"),
    // Spans are asserted through the real OTel set-up (tests/integration/otel_test.ts).
    tracing: noopTelemetry.tracing,
    observe: noopTelemetry.observe,
  } as unknown as Telemetry;
  return {
    ...telemetry,
    counts,
    values(name, ...labels) {
      return [...(readings.get(`${name}[${labels.join(",")}]`) ?? [])];
    },
    count(name, ...labels) {
      let total = 0;
      for (const [key, value] of counts) {
        const bracket = key.indexOf("[");
        if (key.slice(0, bracket) !== name) continue;
        if (labels.length > 0 && key.slice(bracket) !== `[${labels.join(",")}]`) continue;
        total += value;
      }
      return total;
    },
  };
}
