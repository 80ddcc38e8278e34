// deno-lint-ignore-file no-console -- a benchmark process reports on stdout
/**
 * The baseline: the least a Deno server must do to fan events out over WebSockets, with
 * no pipeline, no state, no limits and no telemetry. `POST /ingest` takes NDJSON events;
 * each becomes one frame shaped and sized like Pharos's `Token/list` patch, encoded once
 * and sent to every subscribed socket. `/ready` answers 200. Its figures are this
 * machine's runtime limit that Pharos is compared with.
 *
 * Usage: deno run --allow-net bench/baseline_server.ts [port]
 * @module
 */

const sockets = new Set<WebSocket>();
const encoder = new TextEncoder();
const VIEW = "Token/list";

function frameOf(event: { slot: number; data: Record<string, string> }): Uint8Array {
  const transfer = {
    from: event.data.from,
    to: event.data.to,
    amount: event.data.amount,
    slot: event.slot,
  };
  return encoder.encode(JSON.stringify({
    mode: "list",
    entity: VIEW,
    op: "patch",
    key: event.data.mint,
    data: {
      mint: event.data.mint,
      transferCount: event.slot,
      volume: event.data.amount,
      lastTransfer: transfer,
      recentTransfers: [transfer],
    },
    append: ["recentTransfers"],
  }));
}

const server = Deno.serve({
  port: Number(Deno.args[0] ?? 0),
  hostname: "127.0.0.1",
  onListen: ({ hostname, port }) => console.log(`baseline listening on ${hostname}:${port}`),
}, async (request) => {
  const path = new URL(request.url).pathname;
  if (request.headers.get("upgrade") === "websocket") {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => {
      if (typeof event.data === "string" && event.data.includes('"subscribe"')) {
        sockets.add(socket);
        socket.send(encoder.encode(JSON.stringify({ op: "subscribed", view: VIEW, mode: "list" })));
      }
    };
    socket.onclose = () => sockets.delete(socket);
    return response;
  }
  if (path === "/ingest" && request.method === "POST") {
    const body = await request.text();
    for (const line of body.split("\n")) {
      if (line.length === 0) continue;
      const frame = frameOf(JSON.parse(line));
      for (const socket of sockets) socket.send(frame);
    }
    return new Response(null, { status: 202 });
  }
  if (path === "/ready" || path === "/health") return new Response("ok");
  return new Response("not found", { status: 404 });
});

Deno.addSignalListener("SIGTERM", () => {
  server.shutdown().then(() => Deno.exit(0));
});
