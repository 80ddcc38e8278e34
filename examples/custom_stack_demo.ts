// deno-lint-ignore-file no-console -- an example prints what a subscriber receives
/**
 * Your own entities and handlers, fed through the ingest endpoint:
 *
 *   deno task example:custom_stack
 *
 * Runs the `wallets` stack of `examples/custom_stack.ts` in-process with only the `ingest`
 * source, subscribes to the derived `Wallet/top` view and to `Wallet/state` of one wallet,
 * POSTs a few `Transfer` events as NDJSON (one line is bad on purpose), and prints the ingest
 * answer and every frame the subscriber receives. The same as a separate server:
 *
 *   PHAROS_STACK=examples/custom_stack.ts PHAROS_SOURCES=ingest PHAROS_INGEST_TOKEN=secret \
 *     deno task start
 *   curl -H 'Authorization: Bearer secret' -H 'Content-Type: application/x-ndjson' \
 *     --data-binary @events.ndjson localhost:8877/ingest
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { createApp, noopTelemetry, parseConfig, randomIds, systemClock } from "../src/mod.ts";
import wallets from "./custom_stack.ts";

const TOKEN = "example-token";
const app = await createApp({
  config: parseConfig({ env: { PHAROS_SOURCES: "ingest", PHAROS_INGEST_TOKEN: TOKEN } }),
  clock: systemClock,
  ids: randomIds,
  log: getLogger(["pharos"]),
  telemetry: noopTelemetry,
  stack: wallets,
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.handler);
await app.start();
const base = `127.0.0.1:${server.addr.port}`;

// Data frames are binary JSON, gzipped when large; error frames are text.
async function decode(data: string | ArrayBuffer): Promise<Record<string, unknown>> {
  if (typeof data === "string") return JSON.parse(data);
  let bytes = new Uint8Array(data);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

const ws = new WebSocket(`ws://${base}/`);
ws.binaryType = "arraybuffer";
const frames: Record<string, unknown>[] = [];
let decoding = Promise.resolve();
ws.onmessage = ({ data }) => {
  decoding = decoding.then(async () => void frames.push(await decode(data)));
};
await new Promise((resolve) => (ws.onopen = resolve));
ws.send(JSON.stringify({ type: "subscribe", view: "Wallet/top", take: 3 }));
ws.send(JSON.stringify({ type: "subscribe", view: "Wallet/state", key: "carol" }));
const deadline = Date.now() + 5000;
const wait = async (done: () => boolean) => {
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};
await wait(() => frames.filter((f) => f.op === "subscribed").length === 2);

// A producer pushes events: NDJSON, one event per line, with the ingest token.
const transfer = (slot: number, from: string, to: string, amount: string) =>
  JSON.stringify({ type: "Transfer", slot, data: { from, to, amount } });
const body = [
  transfer(1, "alice", "bob", "3000000"),
  transfer(2, "alice", "carol", "5000000"),
  "{ this line is not JSON",
  transfer(3, "bob", "carol", "2000000"),
  transfer(4, "carol", "dave", "1000000"),
].join("\n");
const answer = await fetch(`http://${base}/ingest`, {
  method: "POST",
  headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-ndjson" },
  body,
});
console.log(`POST /ingest -> ${answer.status} ${await answer.text()}`);

// Wallet/top: an upsert per wallet entering the top 3; Wallet/state: carol's two patches.
await wait(() => frames.filter((f) => f.entity === "Wallet/state").length >= 2);
await new Promise((resolve) => setTimeout(resolve, 100)); // let any last frame arrive
await decoding;
for (const frame of frames) {
  const { op, entity, view, key, data } = frame;
  console.log(op === "subscribed" ? `subscribed ${view}` : `${op} ${entity} ${key ?? ""}`.trim());
  if (data !== undefined) console.log(`  ${JSON.stringify(data)}`);
}

ws.close(1000, "example done");
await new Promise((resolve) => (ws.onclose = resolve));
await app.shutdown();
await server.shutdown();
