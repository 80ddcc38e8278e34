import assert from "node:assert/strict";
import { errorBody } from "../../tests/fakes/error_response.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { MemoryTransport } from "../../tests/fakes/memory_transport.ts";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { createMemoryBus } from "../bus/mod.ts";
import { parseLogFilter } from "../log/mod.ts";
import { configureLogging, getLogger, type LogRecord } from "../log/mod.ts";
import { systemClock } from "../util/mod.ts";
import { createProjector } from "../projector/mod.ts";
import { demoStack } from "../stack/mod.ts";
import { createPathCache } from "../vm/mod.ts";
import { createWsServer, type SocketEvents, type Upgrader, type WsServerOptions } from "./mod.ts";

interface FakeSocket {
  readonly request: Request;
  readonly events: SocketEvents;
  readonly transport: MemoryTransport;
}

function setup(options: Partial<WsServerOptions> = {}) {
  const clock = new FakeClock();
  const telemetry = createRecordingTelemetry();
  const bus = createMemoryBus({ onListenerError: () => {} });
  const projector = createProjector({
    stack: demoStack,
    bus,
    clock,
    log: getLogger(["pharos", "test"]),
    telemetry: telemetry.projector,
    paths: createPathCache({ telemetry: telemetry.vm }),
  });
  const sockets: FakeSocket[] = [];
  // Plays Deno.upgradeWebSocket: records the events and answers (101 is not constructible).
  const upgrade: Upgrader = (request, events) => {
    sockets.push({ request, events, transport: new MemoryTransport() });
    return new Response(null, { status: 200, headers: { "x-fake-upgrade": "yes" } });
  };
  let ids = 0;
  const server = createWsServer({
    directory: projector.directory,
    bus,
    clock,
    ids: { next: () => `client-${++ids}` },
    log: getLogger(["pharos", "test"]),
    telemetry: telemetry.ws,
    upgrade,
    ...options,
  });
  const request = (url = "http://localhost/ws", headers: HeadersInit = {}) =>
    new Request(url, {
      headers: {
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        ...Object.fromEntries(new Headers(headers)),
      },
    });
  /** Upgrades and opens a connection; returns its fake socket. */
  const connect = async (): Promise<FakeSocket> => {
    const response = await server.handleUpgrade(request(), "127.0.0.1:40000");
    assert.equal(response.headers.get("x-fake-upgrade"), "yes", "expected the upgrade to proceed");
    const socket = sockets.at(-1)!;
    socket.events.onOpen(socket.transport);
    return socket;
  };
  return { clock, telemetry, bus, server, sockets, request, connect };
}

/** How the transport was closed (a call, so earlier assertions do not narrow it). */
function closedWith(transport: MemoryTransport): { code: number; reason: string } | undefined {
  return transport.closedWith;
}

Deno.test("ws server", async (t) => {
  await t.step(
    "an upgrade becomes a session that receives messages and ends on close",
    async () => {
      const { server, connect, telemetry, bus } = setup();
      const socket = await connect();
      assert.equal(server.clientCount, 1);
      assert.equal(telemetry.count("ws.connectionOpened"), 1);
      socket.events.onMessage(JSON.stringify({ type: "subscribe", view: "Token/list" }));
      const [frame] = await socket.transport.frames();
      assert.equal(frame?.json.op, "subscribed");
      assert.equal([...server.sessions()].length, 1);
      socket.events.onClose(1000, "client left");
      assert.equal(server.clientCount, 0);
      assert.equal(bus.topicCount, 0, "the session's subscriptions ended");
      assert.equal(telemetry.count("ws.connectionClosed"), 1);
      socket.events.onClose(1000, "again"); // idempotent
      assert.equal(telemetry.count("ws.connectionClosed"), 1);
    },
  );

  await t.step("at max clients the upgrade gets a 503 JSON rejection", async () => {
    const { server, connect, request, telemetry, sockets } = setup({ maxClients: 2 });
    const first = await connect();
    // The second is answered but not yet open: it still holds a place.
    await server.handleUpgrade(request(), "127.0.0.1:40001");
    assert.equal(server.clientCount, 2);
    const refused = await server.handleUpgrade(request(), "127.0.0.1:40002");
    assert.equal(refused.headers.get("retry-after"), "5");
    const body = await errorBody(refused, 503, "server-at-capacity");
    assert.deepEqual(Object.keys(body), [
      "error",
      "message",
      "code",
      "retryable",
      "retry_after",
      "suggested_action",
    ]);
    assert.equal(body.retryable, true);
    assert.equal(body.retry_after, 5);
    assert.match(body.message as string, /limit of 2 clients/);
    assert.equal(sockets.length, 2, "the refused request was never upgraded");
    assert.equal(telemetry.count("ws.handshakeRejected", "server-at-capacity"), 1);

    // A socket that closes before opening, and an open one closing, free their places.
    sockets[1]!.events.onClose(1006, "");
    first.events.onClose(1000, "");
    assert.equal(server.clientCount, 0);
    await connect();
    await connect();
    assert.equal(server.clientCount, 2);
  });

  await t.step("an authorize rejection is returned as its HTTP error, never upgraded", async () => {
    const seen: string[] = [];
    const { server, request, sockets, telemetry } = setup({
      authorize: async (req, peer) => {
        await Promise.resolve();
        seen.push(peer);
        return req.headers.get("authorization") === "Bearer good" ? undefined : {
          status: 401,
          code: "token-missing",
          message: "A token is required",
          retryable: false,
        };
      },
    });
    const refused = await server.handleUpgrade(request(), "10.0.0.1:5000");
    const body = await errorBody(refused, 401, "token-missing");
    assert.deepEqual(body, {
      error: "token-missing",
      message: "A token is required",
      code: "token-missing",
      retryable: false,
    });
    assert.equal(refused.headers.get("retry-after"), null);
    assert.equal(sockets.length, 0);
    assert.equal(server.clientCount, 0, "the rejected handshake released its place");
    assert.equal(telemetry.count("ws.handshakeRejected", "token-missing"), 1);
    const accepted = await server.handleUpgrade(
      request(undefined, { authorization: "Bearer good" }),
      "10.0.0.2:5000",
    );
    assert.equal(accepted.status, 200);
    assert.equal(sockets.length, 1);
    assert.deepEqual(seen, ["10.0.0.1:5000", "10.0.0.2:5000"]);
  });

  await t.step(
    "an authorize hook that throws gives 500 internal-error, never an upgrade",
    async () => {
      const { server, request, sockets } = setup({
        authorize: () => {
          throw new Error("key store unreachable");
        },
      });
      const refused = await server.handleUpgrade(request(), "10.0.0.3:5000");
      const body = await errorBody(refused, 500, "internal-error");
      assert.equal(body.retryable, true);
      assert.equal(refused.headers.get("retry-after"), "5");
      assert.equal(sockets.length, 0);
      assert.equal(server.clientCount, 0, "the failed handshake released its place");
    },
  );

  await t.step("clients silent past idleTimeoutMs are closed with 1000", async () => {
    const { server, connect, clock } = setup({ idleTimeoutMs: 1000 });
    const quiet = await connect();
    const chatty = await connect();
    clock.advance(600);
    chatty.events.onMessage('{"type":"ping"}');
    clock.advance(650); // t = 1250: quiet has been silent 1250 ms, chatty 650 ms
    assert.equal(quiet.transport.closedWith?.code, 1000);
    assert.match(quiet.transport.closedWith?.reason ?? "", /^idle-timeout/);
    assert.equal(chatty.transport.closedWith, undefined);
    quiet.events.onClose(1000, "idle");
    clock.advance(500); // t = 1750: chatty silent 1150 ms
    assert.equal(closedWith(chatty.transport)?.code, 1000);
    chatty.events.onClose(1000, "idle");
    assert.equal(server.clientCount, 0);
    assert.equal(clock.pendingTimers, 0, "the idle sweep stops with the last client");
  });

  await t.step(
    "restartClients closes every client with 1012 and its reason, and still accepts",
    async () => {
      const { server, connect } = setup();
      const a = await connect();
      const b = await connect();
      server.restartClients("state-replaced: cluster epoch changed");
      const restarted = { code: 1012, reason: "state-replaced: cluster epoch changed" };
      assert.deepEqual(a.transport.closedWith, restarted);
      assert.deepEqual(b.transport.closedWith, restarted);
      a.events.onClose(1012, "");
      b.events.onClose(1012, "");
      assert.equal(server.clientCount, 0);
      const again = await connect();
      assert.equal(again.transport.closedWith, undefined, "clients may reconnect at once");
      again.events.onClose(1000, "");
    },
  );

  await t.step("shutdown closes every client with 1001 and waits for them to end", async () => {
    const { server, connect, request, sockets } = setup();
    const a = await connect();
    const b = await connect();
    await server.handleUpgrade(request(), "127.0.0.1:40003"); // answered, not yet open
    let done = false;
    const shutdown = server.shutdown({ timeoutMs: 5_000 }).then(() => done = true);
    assert.equal(a.transport.closedWith?.code, 1001);
    assert.equal(b.transport.closedWith?.code, 1001);
    const refused = await server.handleUpgrade(request(), "127.0.0.1:40004");
    await errorBody(refused, 503, "server-at-capacity");
    const late = sockets[2]!;
    late.events.onOpen(late.transport);
    assert.equal(
      late.transport.closedWith?.code,
      1001,
      "a socket opening during shutdown is closed",
    );
    a.events.onClose(1001, "");
    await Promise.resolve();
    assert.equal(done, false, "still waiting for the second client");
    b.events.onClose(1001, "");
    await shutdown;
    assert.equal(server.clientCount, 0);
  });

  await t.step("shutdown gives up waiting after its timeout", async () => {
    const { server, connect, clock } = setup();
    const stuck = await connect();
    const shutdown = server.shutdown({ timeoutMs: 2000, code: 1012, reason: "restart" });
    assert.deepEqual(stuck.transport.closedWith, { code: 1012, reason: "restart" });
    clock.advance(2000);
    await shutdown;
    assert.equal(clock.pendingTimers, 0);
  });

  await t.step(
    "a peer that stopped reading keeps its slot but does not stall shutdown",
    async () => {
      const { server, connect, clock } = setup({
        limits: { queueMaxFrames: 1, socketHighWaterBytes: 0 },
      });
      const stalled = await connect();
      const reader = await connect();
      stalled.transport.stalled = true;
      // Two requests while the socket is backed up: the second finds the queue full.
      stalled.events.onMessage('{"type":"subscribe","view":"Token/list"}');
      stalled.events.onMessage('{"type":"subscribe","view":"Token/state","key":"k"}');
      stalled.events.onMessage('{"type":"subscribe","view":"Token/state","key":"j"}');
      assert.equal(closedWith(stalled.transport)?.code, 1008);
      // Its close frame is stuck behind unread data, so the socket never reports closing.
      assert.equal(server.closingCount, 1);
      assert.equal(server.clientCount, 2, "it still holds a client slot");
      let done = false;
      const shutdown = server.shutdown({ timeoutMs: 5_000 }).then(() => done = true);
      reader.events.onClose(1001, "");
      await shutdown;
      assert.ok(done, "shutdown returned without advancing the clock past its timeout");
      assert.equal(clock.pendingTimers, 0);
    },
  );
});

Deno.test("disconnect lines: code is a string; a dropped connection is info with its reason", async (t) => {
  const records: LogRecord[] = [];
  await using _logging = await configureLogging({
    filter: parseLogFilter("info"),
    format: "json",
    clock: systemClock,
    sink: (record) => void records.push(record),
  });
  const log = getLogger(["pharos", "ws"]);
  const disconnects = () =>
    records.filter((r) => r.rawMessage === "Client {client_id} disconnected");

  await t.step("a close frame: its code (as a string) and reason", async () => {
    records.length = 0;
    const { connect } = setup({ log });
    const socket = await connect();
    socket.events.onClose(1000, "client left");
    const [line] = disconnects();
    assert.equal(line?.level, "info");
    assert.equal(line?.properties.code, "1000");
    assert.equal(line?.properties.reason, "client left");
  });

  await t.step(
    "TCP closed without a close frame: info, code 1006, the runtime's reason",
    async () => {
      records.length = 0;
      const { connect, telemetry } = setup({ log });
      const socket = await connect();
      socket.events.onError(new Error("Unexpected EOF"));
      socket.events.onClose(0, "");
      assert.deepEqual(records.filter((r) => r.level === "warning"), [], "no warning");
      const [line] = disconnects();
      assert.equal(line?.level, "info");
      assert.equal(line?.properties.code, "1006");
      assert.equal(
        line?.properties.reason,
        "connection dropped without a close frame: Unexpected EOF",
      );
      assert.equal(telemetry.count("ws.connectionError", "socket"), 1, "still counted");
    },
  );

  await t.step("a protocol error is a warning", async () => {
    records.length = 0;
    const { connect } = setup({ log });
    const socket = await connect();
    socket.events.onError(new Error("Reserved bits are not zero"));
    socket.events.onClose(1002, "");
    const [warning] = records.filter((r) => r.level === "warning");
    assert.equal(warning?.rawMessage, "WebSocket connection error: {error}");
    assert.equal(warning?.properties.error, "Reserved bits are not zero");
    assert.equal(disconnects()[0]?.properties.code, "1002");
  });
});

Deno.test("ws server: revoking sessions", async (t) => {
  /** A server whose upgrades are admitted with the subject and token id in their headers. */
  const revocable = () =>
    setup({
      authorize: (request) => ({
        kind: "admitted",
        subject: request.headers.get("x-sub") ?? "nobody",
        ...(request.headers.has("x-jti") ? { tokenId: request.headers.get("x-jti")! } : {}),
      }),
    });
  const upgradeAs = async (
    s: ReturnType<typeof revocable>,
    headers: Record<string, string>,
  ): Promise<FakeSocket> => {
    await s.server.handleUpgrade(s.request(undefined, headers), "127.0.0.1:40000");
    return s.sockets.at(-1)!;
  };
  const revokedBy = (ids: string[]) => (session: { tokenId: string | undefined }) =>
    session.tokenId !== undefined && ids.includes(session.tokenId);

  await t.step(
    "the sessions the check names end with 1008 'token revoked'; the others stay",
    async () => {
      const s = revocable();
      const sockets = [];
      for (const jti of ["t-1", "t-2", "t-3"]) {
        const socket = await upgradeAs(s, { "x-sub": "alice", "x-jti": jti });
        socket.events.onOpen(socket.transport);
        sockets.push(socket);
      }
      const anonymous = await upgradeAs(s, { "x-sub": "bob" });
      anonymous.events.onOpen(anonymous.transport);
      assert.equal(s.server.revokeSessions(revokedBy(["t-1", "t-3", "t-9"])), 2);
      assert.deepEqual(sockets.map((socket) => closedWith(socket.transport)?.reason), [
        "token revoked",
        undefined,
        "token revoked",
      ]);
      assert.equal(closedWith(sockets[0]!.transport)?.code, 1008);
      const [frame] = await sockets[0]!.transport.frames();
      assert.equal(frame?.json.code, "token-revoked");
      assert.equal(
        closedWith(anonymous.transport),
        undefined,
        "a session without a token id stays",
      );
      assert.equal(
        s.server.revokeSessions(revokedBy(["t-1", "t-3"])),
        0,
        "closing ones count once",
      );
    },
  );

  await t.step(
    "an upgrade admitted before the list changed is held to it as it opens",
    async () => {
      const s = revocable();
      const late = await upgradeAs(s, { "x-sub": "alice", "x-jti": "t-1" });
      assert.equal(s.server.revokeSessions(revokedBy(["t-1"])), 0, "not open yet");
      late.events.onOpen(late.transport);
      assert.deepEqual(closedWith(late.transport), { code: 1008, reason: "token revoked" });
      // The latest check replaces the earlier one.
      s.server.revokeSessions(revokedBy([]));
      const next = await upgradeAs(s, { "x-sub": "alice", "x-jti": "t-1" });
      next.events.onOpen(next.transport);
      assert.equal(closedWith(next.transport), undefined);
    },
  );
});
