import type { Logger } from "../../log/mod.ts";
import { isTraceparent, type PharosEvent } from "../../stack/mod.ts";
import {
  bearerToken,
  type Clock,
  createTokenCheck,
  errorMessage,
  truncate,
} from "../../util/mod.ts";
import { CloseCode, toErrorResponse, toJsonResponse } from "../../protocol/mod.ts";
import {
  type Batch,
  BodyTooLargeError,
  parseBody,
  parseMessage,
  readBoundedText,
  toText,
} from "./body.ts";

import type {
  SocketTransport,
  SocketUpgrader,
  Source,
  SourceContext,
  SourceStatus,
} from "../types.ts";

/**
 * Content types a POST may declare (none at all is accepted too). Form posts and the like
 * are refused with 415 rather than parsed as NDJSON: a browser form can send those
 * cross-site without a preflight.
 */
const INGEST_MEDIA_TYPES = new Set([
  "application/x-ndjson",
  "application/jsonl",
  "application/json",
  "text/plain",
]);

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

/** Seconds a producer should wait after a 503 before sending again. */
const RETRY_AFTER_SECONDS = 1;
/** At most one warning per kind in this many milliseconds; the rest are counted. */
const WARN_INTERVAL_MS = 10_000;

const encoder = new TextEncoder();

/** Byte length of `text` in UTF-8, measured only when the character count leaves doubt. */
function isOverBytes(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true; // every UTF-16 unit takes at least one byte
  if (text.length * 3 <= maxBytes) return false; // and at most three
  return encoder.encode(text).byteLength > maxBytes;
}

/** What handing a batch over came to. */
type Offered = "offered" | "full" | "stopped" | "too-many" | "unavailable";

/** What a request presents as its credential. */
type Presented =
  | { readonly kind: "token"; readonly token: string }
  | { readonly kind: "missing" }
  | { readonly kind: "malformed" };

function withTraceparent(events: PharosEvent[], traceparent: string | undefined): PharosEvent[] {
  if (traceparent === undefined) return events;
  return events.map((event) => event.traceparent === undefined ? { ...event, traceparent } : event);
}

/**
 * Creates the ingest source. It delivers through `context.offer` (never waiting): a batch
 * goes into the pipeline whole or, when the pipeline is full, not at all, and the producer
 * is told to retry (503 / `pipeline-full`). The token is compared in constant time and
 * never logged.
 */
export function createIngestSource(options: IngestSourceOptions): IngestSource {
  const { clock, log, upgrade } = options;
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
  const isToken = createTokenCheck(options.token);
  const sockets = new Set<SocketTransport>();
  let context: SourceContext | undefined;

  // Producers that keep failing would otherwise write one warning per request.
  const lastWarnAt = new Map<string, number>();
  const suppressed = new Map<string, number>();
  function warn(kind: string, message: string, properties: Record<string, unknown>): void {
    const now = clock.monotonic();
    const last = lastWarnAt.get(kind);
    if (last !== undefined && now - last < WARN_INTERVAL_MS) {
      suppressed.set(kind, (suppressed.get(kind) ?? 0) + 1);
      return;
    }
    lastWarnAt.set(kind, now);
    const skipped = suppressed.get(kind) ?? 0;
    suppressed.delete(kind);
    log.warn(message, { source: name, ...properties, suppressed: skipped });
  }

  function report(status: SourceStatus, message?: string): void {
    context?.onStatus(status, message);
  }

  /** The token presented: from `Authorization: Bearer`, or for upgrades the query. */
  function presented(request: Request, isUpgrade: boolean): Presented {
    const header = request.headers.get("authorization");
    if (header !== null && header.trim() !== "") {
      const token = bearerToken(header);
      if (token === undefined) return { kind: "malformed" };
      return token === "" ? { kind: "missing" } : { kind: "token", token };
    }
    if (isUpgrade) {
      const token = new URL(request.url).searchParams.get("token");
      if (token !== null && token !== "") return { kind: "token", token };
    }
    return { kind: "missing" };
  }

  /** An error response when the request may not ingest, else undefined. */
  async function authenticate(
    request: Request,
    peer: string,
    isUpgrade: boolean,
  ): Promise<Response | undefined> {
    const credential = presented(request, isUpgrade);
    if (credential.kind === "missing") {
      warn("auth", "Ingest request from {peer} refused: no token", { peer });
      return toErrorResponse({
        status: 401,
        code: "token-missing",
        message: isUpgrade
          ? "Send the ingest token as 'Authorization: Bearer <token>' or the 'token' query parameter"
          : "Send the ingest token as 'Authorization: Bearer <token>'",
        retryable: false,
      });
    }
    if (credential.kind === "malformed" || !(await isToken(credential.token))) {
      warn("auth", "Ingest request from {peer} refused: wrong token", { peer });
      return toErrorResponse({
        status: 401,
        code: "invalid-static-token",
        message: "The ingest token is not valid",
        retryable: false,
      });
    }
    return undefined;
  }

  function unavailable(): Response {
    return toErrorResponse({
      status: 503,
      code: "ingest-unavailable",
      message: `The ingest source ${name} is not running`,
      retryable: true,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }

  /**
   * Hands the good events of `batch` to the pipeline (in cluster mode, to the shared log):
   * all of them, or none when it is full or the log is unreachable.
   */
  function offer(
    events: readonly PharosEvent[],
  ): Offered | Promise<Offered> {
    if (context === undefined) return "stopped";
    if (events.length === 0) return "offered";
    // All-or-nothing: a batch the pipeline can never hold must not be told to retry.
    if (events.length > context.capacity) return "too-many";
    if (context.append !== undefined) {
      return context.append(events).then((outcome) => outcome === "appended" ? "offered" : outcome);
    }
    return context.offer(events) ? "offered" : "full";
  }

  function logUnavailable(): Response {
    return toErrorResponse({
      status: 503,
      code: "log-unavailable",
      message: "The cluster's event log (Redis) is unreachable; retry shortly",
      retryable: true,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }

  function tooMany(count: number, capacity: number): string {
    return `${count} events is more than the pipeline holds (${capacity}); send smaller batches`;
  }

  /** One (rate-limited) warning for a batch with bad events, quoting only the first error. */
  function warnRejected(peer: string, batch: Batch): void {
    warn("rejected", "Ingest from {peer}: {rejected} of {total} events refused, first: {error}", {
      peer,
      rejected: batch.rejected,
      total: batch.rejected + batch.events.length,
      error: batch.errors[0]?.error,
    });
  }

  async function handlePost(request: Request, peer: string): Promise<Response> {
    const mediaType = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
    if (mediaType !== undefined && mediaType !== "" && !INGEST_MEDIA_TYPES.has(mediaType)) {
      await request.body?.cancel();
      warn("media-type", "Ingest body from {peer} refused: content type {type}", {
        peer,
        type: truncate(mediaType),
      });
      return toErrorResponse({
        status: 415,
        code: "unsupported-media-type",
        message: `Send NDJSON or a JSON array (${[...INGEST_MEDIA_TYPES].join(", ")})`,
        retryable: false,
      });
    }
    let batch: Batch;
    try {
      batch = parseBody(await readBoundedText(request, maxBytes));
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        warn("too-large", "Ingest body from {peer} refused: over {maxBytes} bytes", {
          peer,
          maxBytes,
        });
        return toErrorResponse({
          status: 413,
          code: "payload-too-large",
          message: `The body is over ${maxBytes} bytes; send smaller batches`,
          retryable: false,
        });
      }
      const message = truncate(errorMessage(error));
      warn("invalid-body", "Ingest body from {peer} refused: {error}", { peer, error: message });
      return toErrorResponse({ status: 400, code: "invalid-body", message, retryable: false });
    }
    const header = request.headers.get("traceparent")?.trim();
    const traceparent = header !== undefined && isTraceparent(header) ? header : undefined;
    const outcome = await offer(withTraceparent(batch.events, traceparent));
    if (outcome === "stopped") return unavailable();
    if (outcome === "unavailable") {
      warn(
        "log",
        "Ingest batch of {events} events from {peer} refused: the cluster log is unreachable",
        {
          peer,
          events: batch.events.length,
        },
      );
      return logUnavailable();
    }
    if (outcome === "too-many") {
      return toErrorResponse({
        status: 413,
        code: "batch-too-large",
        message: tooMany(batch.events.length, context?.capacity ?? 0),
        retryable: false,
      });
    }
    if (outcome === "full") {
      warn("full", "Ingest batch of {events} events from {peer} refused: the pipeline is full", {
        peer,
        events: batch.events.length,
      });
      return toErrorResponse({
        status: 503,
        code: "pipeline-full",
        message: "The event pipeline is full; retry shortly",
        retryable: true,
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
    if (batch.rejected > 0) {
      warnRejected(peer, batch);
    }
    logAccepted("http", peer, batch);
    return toJsonResponse(202, {
      accepted: batch.events.length,
      rejected: batch.rejected,
      errors: batch.errors,
    });
  }

  /** The debug line of an accepted request or socket message (one per batch, not per event). */
  function logAccepted(via: "http" | "socket", peer: string, batch: Batch): void {
    if (!log.isEnabledFor("debug")) return;
    log.debug("Ingest from {peer}: {accepted} events accepted", {
      source: name,
      peer,
      via,
      accepted: batch.events.length,
      rejected: batch.rejected,
    });
  }

  function send(transport: SocketTransport, reply: Record<string, unknown>): void {
    try {
      transport.send(JSON.stringify(reply));
    } catch (error) {
      log.debug("Cannot answer an ingest socket: {error}", { source: name, error });
    }
  }

  function onSocketMessage(transport: SocketTransport, peer: string, data: string | ArrayBuffer) {
    if (context === undefined) return; // stopping: the socket is being closed
    const tooBig = typeof data === "string"
      ? isOverBytes(data, maxBytes)
      : data.byteLength > maxBytes;
    if (tooBig) {
      warn("too-large", "Ingest message from {peer} over {maxBytes} bytes: closing", {
        peer,
        maxBytes,
      });
      sockets.delete(transport);
      transport.close(CloseCode.MessageTooBig, `message-too-big: over ${maxBytes} bytes`);
      return;
    }
    let batch: Batch;
    try {
      batch = parseMessage(typeof data === "string" ? data : toText(data));
    } catch (error) {
      const message = truncate(errorMessage(error));
      batch = { events: [], errors: [{ index: 0, error: message }], rejected: 1 };
    }
    const outcome = offer(batch.events);
    if (typeof outcome === "string") answerSocket(transport, peer, batch, outcome);
    else {
      outcome.then(
        (settled) => answerSocket(transport, peer, batch, settled),
        (error) => log.error("Ingest socket append failed: {error}", { source: name, error }),
      );
    }
  }

  /** Answers one socket message once its events were handed over (or refused). */
  function answerSocket(
    transport: SocketTransport,
    peer: string,
    batch: Batch,
    outcome: Offered,
  ): void {
    if (outcome === "stopped" || context === undefined) return;
    if (outcome === "unavailable") {
      warn(
        "log",
        "Ingest message of {events} events from {peer} refused: the cluster log is unreachable",
        {
          peer,
          events: batch.events.length,
        },
      );
      send(transport, {
        type: "ingest-error",
        error: "log-unavailable",
        accepted: 0,
        retry_after: RETRY_AFTER_SECONDS,
      });
      return;
    }
    if (outcome === "too-many") {
      send(transport, {
        type: "ingest-error",
        error: "batch-too-large",
        message: tooMany(batch.events.length, context.capacity),
        accepted: 0,
      });
      return;
    }
    if (outcome === "full") {
      warn("full", "Ingest message of {events} events from {peer} refused: the pipeline is full", {
        peer,
        events: batch.events.length,
      });
      send(transport, {
        type: "ingest-error",
        error: "pipeline-full",
        accepted: 0,
        retry_after: RETRY_AFTER_SECONDS,
      });
      return;
    }
    if (batch.events.length > 0) logAccepted("socket", peer, batch);
    if (batch.rejected > 0) {
      warnRejected(peer, batch);
      send(transport, {
        type: "ingest-error",
        accepted: batch.events.length,
        rejected: batch.rejected,
        errors: batch.errors,
      });
    }
  }

  function handleUpgrade(request: Request, peer: string): Response {
    let open: SocketTransport | undefined;
    try {
      return upgrade(request, {
        onOpen(transport) {
          if (context === undefined) {
            transport.close(CloseCode.GoingAway, "server shutting down");
            return;
          }
          open = transport;
          sockets.add(transport);
          log.info("Ingest socket opened from {peer}", { source: name, peer });
        },
        onMessage(data) {
          if (open !== undefined && sockets.has(open)) onSocketMessage(open, peer, data);
        },
        onClose(code, reason) {
          if (open !== undefined) sockets.delete(open);
          log.info("Ingest socket from {peer} closed ({code} {reason})", {
            source: name,
            peer,
            code: String(code),
            reason,
          });
        },
        onError(error) {
          log.debug("Ingest socket from {peer} failed: {error}", { source: name, peer, error });
        },
      });
    } catch (error) {
      // Deno.upgradeWebSocket throws for a request that is not a valid handshake.
      return toErrorResponse({
        status: 400,
        code: "invalid-upgrade",
        message: truncate(errorMessage(error)),
        retryable: false,
      });
    }
  }

  /** Answers one request on the ingest path: a POST of events, or a WebSocket upgrade. */
  async function handle(request: Request, peer: string): Promise<Response> {
    if (context === undefined) return unavailable();
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
    if (context === undefined) return unavailable();
    return isUpgrade ? handleUpgrade(request, peer) : await handlePost(request, peer);
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
      for (const transport of sockets) {
        try {
          transport.close(CloseCode.GoingAway, "server shutting down");
        } catch (error) {
          log.debug("Cannot close an ingest socket: {error}", { source: name, error });
        }
      }
      sockets.clear();
      report("disconnected");
      // Offers check `context` synchronously, so from here on no event reaches the sink.
      context = undefined;
      return Promise.resolve();
    },
  };
}
