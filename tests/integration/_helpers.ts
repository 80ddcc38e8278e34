/** Shared helpers for the integration tests: stacks, frame filters and a frame barrier. */
import assert from "node:assert/strict";
import { defineStack, type PharosEvent, type Stack } from "../../src/stack/mod.ts";
import type { SentFrame } from "../fakes/memory_transport.ts";
import type { TestClient } from "../fakes/ws_client.ts";
import type { Frame, HyperStack, SocketIssue } from "hyperstack-typescript";
import { until, within } from "../wait.ts";

const decoder = new TextDecoder();

/** The exact text of a frame as sent (only meaningful for frames that are not gzipped). */
export function rawText(frame: SentFrame): string {
  return decoder.decode(frame.bytes);
}

/** Frames about `view`: its `subscribed` ack and every data frame whose `entity` is `view`. */
export function framesFor(frames: readonly SentFrame[], view: string): SentFrame[] {
  return frames.filter((f) =>
    f.json.op === "subscribed" ? f.json.view === view : f.json.entity === view
  );
}

/** Data frames of `view` with operation `op`. */
export function opsFor(frames: readonly SentFrame[], view: string, op: string): SentFrame[] {
  return framesFor(frames, view).filter((f) => f.json.op === op);
}

/** Entities carried by the snapshot frames of `view`, in order. */
export function snapshotEntities(
  frames: readonly SentFrame[],
  view: string,
): { key: string; data: Record<string, unknown> }[] {
  return opsFor(frames, view, "snapshot").flatMap((f) =>
    f.json.data as { key: string; data: Record<string, unknown> }[]
  );
}

/** True for the text reply to `refresh_auth` (the frame {@link barrier} waits for). */
export function isAuthReply(frame: SentFrame): boolean {
  return !frame.binary && "success" in frame.json;
}

/**
 * Waits until the server has sent everything it owes `client` so far. A session answers
 * messages in order through one FIFO queue (snapshot batches keep their place while they
 * compress), so once the reply to a fresh `refresh_auth` arrives, every frame caused by
 * earlier messages or earlier flushes has arrived too. That reply is the only frame with
 * a `success` field, so it is easy to tell apart; `framesFor` never includes it.
 */
export async function barrier(client: TestClient, timeoutMs = 5000): Promise<void> {
  const replies = () => client.frames.filter(isAuthReply).length;
  const before = replies();
  client.send({ type: "refresh_auth", token: "barrier" });
  await client.waitFor(() => replies() > before, timeoutMs, "the refresh_auth reply");
}

/** The close event of `client`, or a failure when the server has not closed it within `timeoutMs`. */
export function closedWithin(client: TestClient, timeoutMs = 5000): Promise<CloseEvent> {
  return within(timeoutMs, "the server to close the socket", client.closed);
}

/**
 * A one-entity stack whose `Put` events carry an arbitrary string, for tests that need
 * large (or compressible) frames: `Doc/list`, `Doc/state`, `Doc/append`.
 */
export const docStack: Stack = defineStack({
  name: "docs",
  entities: {
    Doc: {
      handlers: {
        Put: (_state, event) => ({ text: event.data.text, n: event.data.n }),
      },
    },
  },
});

/** A `Put` event for {@link docStack}. */
export function put(key: string, slot: number, text: string, n = 0): PharosEvent {
  return { type: "Put", key, slot, data: { text, n } };
}

/** A loopback port nobody listens on (taken, then released). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The value of one series in a Prometheus exposition, NaN when it is absent. */
export function sample(metrics: string, name: string, labels = ""): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? NaN : Number(line.split(" ")[1]);
}

/** POSTs `events` as NDJSON to a server's `/ingest` with `token`, expecting 202. */
export async function postIngest(
  port: number,
  token: string,
  events: unknown[],
  headers: Record<string, string> = {},
): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/ingest`, {
    method: "POST",
    body: events.map((event) => JSON.stringify(event)).join("\n"),
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  assert.equal(response.status, 202, await response.clone().text());
  await response.body?.cancel();
}

/** The demo Token stack's views, as a HyperStack app declares them. */
const TOKEN_VIEWS = {
  Token: {
    list: { mode: "list", view: "Token/list" },
    state: { mode: "state", view: "Token/state" },
    latest: { mode: "list", view: "Token/latest" },
  },
} as const;

/** A HyperStack stack definition. */
export interface TokenStack {
  readonly name: "tokens";
  readonly url: string;
  readonly views: typeof TOKEN_VIEWS;
}

/** The stack definition a HyperStack app would declare for the demo Token stack at `url`. */
export function tokenStack(url: string): TokenStack {
  return { name: "tokens", url, views: TOKEN_VIEWS };
}

/** What a HyperStack client told its listeners, recorded by {@link recordClient}. */
export interface RecordedClient extends AsyncDisposable {
  readonly states: string[];
  readonly issues: SocketIssue[];
  readonly frames: Frame[];
}

/**
 * Records a connected HyperStack client's state changes, socket issues and frames. Disposing
 * disconnects it before the server shuts down (else it would try to reconnect) and waits
 * until the server has seen the socket close, so no socket outlives the test.
 */
export function recordClient(
  // deno-lint-ignore no-explicit-any -- any stack's client
  hs: HyperStack<any>,
  server: { readonly app: { readonly ws: { readonly clientCount: number } } },
): RecordedClient {
  const recorded = { states: [] as string[], issues: [] as SocketIssue[], frames: [] as Frame[] };
  hs.onConnectionStateChange((state) => recorded.states.push(state));
  hs.onSocketIssue((issue) => recorded.issues.push(issue));
  hs.onFrame((frame) => recorded.frames.push(frame));
  return {
    ...recorded,
    async [Symbol.asyncDispose]() {
      hs.disconnect();
      await until(() => server.app.ws.clientCount === 0, "the client to disconnect");
    },
  };
}
