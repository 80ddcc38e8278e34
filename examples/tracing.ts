// deno-lint-ignore-file no-console -- an example prints the spans it recorded
/**
 * Pharos spans printed as trees on the console (like the seed's tracing_forest example):
 *
 *   deno task example:tracing
 *
 * The host owns the TracerProvider (spans kept in memory) and registers an
 * AsyncLocalStorage context manager so spans nest across `await`. It runs Pharos in-process,
 * opens a WebSocket connection with two subscriptions, pushes a few events, closes the
 * connection, and prints every trace as an indented tree: name, duration, key attributes.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import {
  createApp,
  createOtelTelemetry,
  parseConfig,
  type PharosEvent,
  randomIds,
  type Source,
  systemClock,
} from "../src/mod.ts";

// 1. The host's tracing: every ended span goes to memory; a context manager for nesting.
const exporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const telemetry = createOtelTelemetry({ meterProvider: new MeterProvider(), tracerProvider });

// 2. A source the example drives by hand: `push` resolves once the event has been processed.
let sink: ((event: PharosEvent) => Promise<void>) | undefined;
const source: Source = {
  name: "example",
  kind: "manual",
  stream: "events pushed by examples/tracing.ts",
  start(context) {
    sink = context.sink;
    context.onStatus("connected");
    return Promise.resolve();
  },
  stop: () => Promise.resolve(),
};

const app = await createApp({
  config: parseConfig({
    // Handlers run in this process: the example runs without --allow-run for a handler host.
    env: { PHAROS_HANDLER_ISOLATION: "inline" },
  }),
  clock: systemClock,
  ids: randomIds,
  log: getLogger(["pharos"]),
  telemetry,
  sources: [source],
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.handler);
await app.start();
const base = `127.0.0.1:${server.addr.port}`;

// 3. One HTTP request, one connection with a list and a state subscription, two events.
await (await fetch(`http://${base}/ready`)).body?.cancel();
const ws = new WebSocket(`ws://${base}/`);
let frames = 0;
ws.onmessage = () => frames++;
await new Promise((resolve) => (ws.onopen = resolve));
ws.send(JSON.stringify({ type: "subscribe", view: "Token/list" }));
ws.send(JSON.stringify({ type: "subscribe", view: "Token/state", key: "mintA" }));
const deadline = Date.now() + 5000;
const wait = async (done: () => boolean) => {
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};
await wait(() => frames >= 2); // both `subscribed` acks: the subscriptions are live
for (const [slot, mint] of [[7, "mintA"], [8, "mintB"]] as const) {
  await sink!({ type: "Transfer", slot, data: { mint, from: "alice", to: "bob", amount: "5" } });
}
await wait(() => frames >= 5); // 2 acks, 2 list patches, 1 state patch
ws.close(); // ends the ws.connection span
await wait(() => exporter.getFinishedSpans().some((s) => s.name === "ws.connection"));
await app.shutdown();
await server.shutdown();
await tracerProvider.forceFlush();

// 4. Print each trace as a tree, in start order.
const KEY_ATTRIBUTES = [
  "phase",
  "source.name",
  "http.route",
  "http.response.status_code",
  "client.id",
  "view",
  "key",
  "mode",
  "event.type",
  "slot",
  "entity",
];
const spans = exporter.getFinishedSpans();
const started = (s: ReadableSpan) =>
  BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1]);
const children = new Map<string, ReadableSpan[]>();
for (const span of [...spans].sort((a, b) => Number(started(a) - started(b)))) {
  const parent = span.parentSpanContext?.spanId ?? "root";
  const isRoot = !spans.some((s) => s.spanContext().spanId === parent);
  const key = isRoot ? `root:${span.spanContext().traceId}` : parent;
  children.set(key, [...(children.get(key) ?? []), span]);
}
function describe(span: ReadableSpan): string {
  const ms = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(2);
  const attributes = KEY_ATTRIBUTES
    .filter((name) => span.attributes[name] !== undefined)
    .map((name) => `${name}=${JSON.stringify(span.attributes[name])}`);
  return `${span.name} (${ms} ms)${attributes.length ? ` {${attributes.join(", ")}}` : ""}`;
}
function print(span: ReadableSpan, prefix: string, last: boolean, top: boolean): void {
  console.log(top ? describe(span) : `${prefix}${last ? "└─ " : "├─ "}${describe(span)}`);
  const kids = children.get(span.spanContext().spanId) ?? [];
  const next = top ? "" : `${prefix}${last ? "   " : "│  "}`;
  kids.forEach((kid, i) => print(kid, next, i === kids.length - 1, false));
}
const traces = new Set(spans.map((s) => s.spanContext().traceId));
console.log(`${spans.length} spans in ${traces.size} traces\n`);
for (const [key, roots] of children) {
  if (!key.startsWith("root:")) continue;
  console.log(`trace ${key.slice(5)}`);
  for (const root of roots) print(root, "", true, true);
  console.log();
}
await tracerProvider.shutdown();
context.disable();
