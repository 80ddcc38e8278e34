import type { Logger } from "../../log/mod.ts";
import { type Clock, truncate } from "../../util/mod.ts";
import { toErrorResponse } from "../../protocol/mod.ts";
import type { SocketUpgrader, Source, SourceContext, SourceStatus } from "../types.ts";
import { createIngestAuth } from "./_auth.ts";
import { IngestLog } from "./_ingest_log.ts";
import type { IngestDeps } from "./_intake.ts";
import { handlePost, notRunning } from "./_post.ts";
import { IngestSockets } from "./_socket.ts";

/** Options for {@link createIngestSource}. */
export interface IngestSourceOptions {
  /** Instance name; default `ingest`. */
  readonly name?: string;
  /** Bearer token producers must present; required and non-empty. */
  readonly token: string;
  /** Largest POST body and WebSocket message, in bytes (413 / close 1009 beyond it). */
  readonly maxBodyBytes: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** The WebSocket adapter (the app passes the ws component's `upgradeToSocket`). */
  readonly upgrade: SocketUpgrader;
}

/** The ingest endpoint: a source fed by producers over HTTP POST and WebSocket. */
export interface IngestSource extends Source {
  /**
   * Answers one request on the ingest path (`/ingest`): `POST` with NDJSON or a JSON
   * array of events (202 with per-event errors, 401, 405, 413, 503), or a WebSocket
   * upgrade for a stream of event messages. `peer` is `host:port`, for logs only.
   */
  handle(request: Request, peer: string): Promise<Response>;
}

/** The path producers post to and open sockets on. */
export const INGEST_PATH = "/ingest";

/**
 * Creates the ingest source. It delivers through `context.offer` (never waiting): a batch
 * goes into the pipeline whole or, when the pipeline is full, not at all, and the producer
 * is told to retry (503 / `pipeline-full`). The token is compared in constant time and
 * never logged.
 *
 * Its parts, one file each: the token check (`_auth.ts`), the POST (`_post.ts`), the
 * sockets (`_socket.ts`), handing a batch over (`_intake.ts`), the rate-limited warnings
 * about producers (`_ingest_log.ts`) and reading bodies and messages (`body.ts`).
 */
export function createIngestSource(options: IngestSourceOptions): IngestSource {
  const { clock, log } = options;
  const name = options.name ?? "ingest";
  if (typeof options.token !== "string" || options.token === "") {
    throw new TypeError(`Cannot create ingest source ${name}: the token must not be empty`);
  }
  const maxBytes = options.maxBodyBytes;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(
      `Cannot create ingest source ${name}: maxBodyBytes must be a positive integer`,
    );
  }
  let context: SourceContext | undefined;
  const lines = new IngestLog(log, name, clock);
  const deps: IngestDeps = { name, log, lines, maxBytes, context: () => context };
  const authenticate = createIngestAuth(options.token, lines);
  const sockets = new IngestSockets(deps, options.upgrade);

  function report(status: SourceStatus, message?: string): void {
    context?.onStatus(status, message);
  }

  /** Answers one request on the ingest path: a POST of events, or a WebSocket upgrade. */
  async function handle(request: Request, peer: string): Promise<Response> {
    if (context === undefined) return notRunning(name);
    const isUpgrade = request.method === "GET" &&
      (request.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
    if (!isUpgrade && request.method !== "POST") {
      await request.body?.cancel();
      return toErrorResponse({
        status: 405,
        code: "method-not-allowed",
        message: `Use POST to send events (or a WebSocket upgrade), not ${
          truncate(request.method, 16)
        }`,
        retryable: false,
        headers: { allow: "POST" },
      });
    }
    const refusal = await authenticate(request, peer, isUpgrade);
    if (refusal !== undefined) {
      await request.body?.cancel();
      return refusal;
    }
    if (context === undefined) return notRunning(name);
    return isUpgrade ? sockets.upgrade(request, peer) : await handlePost(deps, request, peer);
  }

  return {
    name,
    kind: "ingest",
    stream: INGEST_PATH,
    handle,
    endpoint: { path: INGEST_PATH, handle },
    start(next) {
      if (context !== undefined) return Promise.resolve();
      context = next;
      report("connected");
      return Promise.resolve();
    },
    stop() {
      if (context === undefined) return Promise.resolve();
      sockets.closeAll();
      report("disconnected");
      // Offers check `context` synchronously, so from here on no event reaches the sink.
      context = undefined;
      return Promise.resolve();
    },
  };
}
