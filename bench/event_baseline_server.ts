// deno-lint-ignore-file no-console -- a benchmark process reports on stdout
/**
 * The event-path baseline: the least a Deno server must do for what Pharos does with an
 * ingested event, with nothing else (no pipeline, batching, limits, queues or telemetry).
 * `POST /ingest` takes NDJSON `Transfer` events (the same bearer token as Pharos); each
 * line is parsed, merged into a `Token` state kept in a `Map` by mint (the demo stack's
 * handler: count, bigint volume, last transfer, the last 100 transfers) and sent as one
 * `Token/list` patch frame, byte for byte the shape Pharos sends, encoded once for every
 * subscriber. A subscriber gets `subscribed` and an (uncompressed) snapshot first, as
 * from Pharos. `/ready` and `/health` answer 200.
 *
 * Usage: PHAROS_INGEST_TOKEN=… deno run --allow-net --allow-env=PHAROS_INGEST_TOKEN
 *        bench/event_baseline_server.ts [port]
 * @module
 */

const VIEW = "Token/list";
const RECENT_LIMIT = 100;
const SNAPSHOT_FIRST = 50;
const SNAPSHOT_NEXT = 100;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const encoder = new TextEncoder();
const authorization = `Bearer ${Deno.env.get("PHAROS_INGEST_TOKEN") ?? ""}`;

interface Transfer {
  readonly from: unknown;
  readonly to: unknown;
  readonly amount: bigint;
  readonly slot: number | null;
}

interface Token {
  readonly mint: string;
  transferCount: number;
  volume: bigint;
  lastTransfer: Transfer;
  readonly recentTransfers: Transfer[];
  seq: string;
}

const tokens = new Map<string, Token>();
const sockets = new Set<WebSocket>();

/** Bigints as Pharos puts them on the wire: a number when safe, else a decimal string. */
function toWire(value: bigint): number | string {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
}

function wireTransfer(t: Transfer): Record<string, unknown> {
  return { from: t.from, to: t.to, amount: toWire(t.amount), slot: t.slot };
}

function wireToken(token: Token, recent: readonly Transfer[]): Record<string, unknown> {
  return {
    mint: token.mint,
    transferCount: token.transferCount,
    volume: toWire(token.volume),
    lastTransfer: wireTransfer(token.lastTransfer),
    recentTransfers: recent.map(wireTransfer),
    _seq: token.seq,
  };
}

/** Applies one event line; returns its patch frame, or undefined for a line it skips. */
function apply(line: string): Uint8Array | undefined {
  const event = JSON.parse(line);
  const data = event?.data;
  if (event?.type !== "Transfer" || typeof data?.mint !== "string") return undefined;
  const slot = typeof event.slot === "number" ? event.slot : null;
  const transfer: Transfer = { from: data.from, to: data.to, amount: BigInt(data.amount), slot };
  const seq = `${slot ?? 0}:000000000000`;
  let token = tokens.get(data.mint);
  if (token === undefined) {
    token = {
      mint: data.mint,
      transferCount: 0,
      volume: 0n,
      lastTransfer: transfer,
      recentTransfers: [],
      seq,
    };
  } else tokens.delete(data.mint);
  tokens.set(data.mint, token); // most recently updated last, as a snapshot wants them
  token.transferCount++;
  token.volume += transfer.amount;
  token.lastTransfer = transfer;
  token.seq = seq;
  token.recentTransfers.push(transfer);
  if (token.recentTransfers.length > RECENT_LIMIT) token.recentTransfers.shift();
  return encoder.encode(
    `{"mode":"list","entity":"${VIEW}","op":"patch","key":${JSON.stringify(token.mint)},"data":${
      JSON.stringify(wireToken(token, [transfer]))
    },"append":["recentTransfers"],"seq":"${seq}"}`,
  );
}

/** `subscribed`, then the cached tokens in snapshot batches (50, then 100 each). */
function subscribe(socket: WebSocket): void {
  socket.send(encoder.encode(
    `{"op":"subscribed","view":"${VIEW}","mode":"list","sort":{"field":["_seq"],"order":"desc"}}`,
  ));
  const all = [...tokens.values()].reverse().map((token) => ({
    key: token.mint,
    data: wireToken(token, token.recentTransfers),
  }));
  for (let at = 0; at < all.length;) {
    const size = at === 0 ? SNAPSHOT_FIRST : SNAPSHOT_NEXT;
    const data = all.slice(at, at + size);
    at += size;
    socket.send(encoder.encode(JSON.stringify({
      mode: "list",
      entity: VIEW,
      op: "snapshot",
      data,
      complete: at >= all.length,
    })));
  }
  sockets.add(socket);
}

async function ingest(request: Request): Promise<Response> {
  if (request.headers.get("authorization") !== authorization) {
    await request.body?.cancel();
    return new Response(null, { status: 401 });
  }
  const body = await request.text();
  let accepted = 0;
  let rejected = 0;
  for (let start = 0; start < body.length;) {
    let end = body.indexOf("\n", start);
    if (end < 0) end = body.length;
    const line = body.slice(start, end);
    start = end + 1;
    if (line.trim().length === 0) continue;
    let frame: Uint8Array | undefined;
    try {
      frame = apply(line);
    } catch {
      frame = undefined;
    }
    if (frame === undefined) {
      rejected++;
      continue;
    }
    accepted++;
    for (const socket of sockets) socket.send(frame);
  }
  return Response.json({ accepted, rejected, errors: [] }, { status: 202 });
}

const server = Deno.serve({
  port: Number(Deno.args[0] ?? 0),
  hostname: "127.0.0.1",
  onListen: ({ hostname, port }) => console.log(`event baseline listening on ${hostname}:${port}`),
}, (request) => {
  const path = new URL(request.url).pathname;
  if (request.headers.get("upgrade") === "websocket") {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => {
      if (typeof event.data === "string" && event.data.includes('"subscribe"')) subscribe(socket);
    };
    socket.onclose = () => sockets.delete(socket);
    return response;
  }
  if (path === "/ingest" && request.method === "POST") return ingest(request);
  if (path === "/ready" || path === "/health") return new Response("ok");
  return new Response("not found", { status: 404 });
});

Deno.addSignalListener("SIGTERM", () => {
  server.shutdown().then(() => Deno.exit(0));
});
