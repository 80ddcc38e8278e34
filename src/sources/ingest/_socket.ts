import { errorMessage, toText, truncate } from "../../util/mod.ts";
import { CloseCode, toErrorResponse } from "../../protocol/mod.ts";
import type { SocketTransport, SocketUpgrader } from "../types.ts";
import { type Batch, parseMessage } from "./body.ts";
import {
  type IngestDeps,
  type Offered,
  offerEvents,
  RETRY_AFTER_SECONDS,
  tooManyMessage,
} from "./_intake.ts";

const encoder = new TextEncoder();

/** Byte length of `text` in UTF-8, measured only when the character count leaves doubt. */
function isOverBytes(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true; // every UTF-16 unit takes at least one byte
  if (text.length * 3 <= maxBytes) return false; // and at most three
  return encoder.encode(text).byteLength > maxBytes;
}

/**
 * The WebSocket side of ingest: each message is a batch of events, handed over like a
 * POST's; only refusals and per-event errors are answered (an `ingest-error` message).
 * It holds the open sockets, so the source can close them when it stops.
 */
export class IngestSockets {
  readonly #deps: IngestDeps;
  readonly #upgrade: SocketUpgrader;
  readonly #open = new Set<SocketTransport>();

  constructor(deps: IngestDeps, upgrade: SocketUpgrader) {
    this.#deps = deps;
    this.#upgrade = upgrade;
  }

  /** Upgrades an authenticated request to an ingest socket; 400 for a bad handshake. */
  upgrade(request: Request, peer: string): Response {
    const { name, log } = this.#deps;
    let open: SocketTransport | undefined;
    try {
      return this.#upgrade(request, {
        onOpen: (transport) => {
          if (this.#deps.context() === undefined) {
            transport.close(CloseCode.GoingAway, "server shutting down");
            return;
          }
          open = transport;
          this.#open.add(transport);
          log.info("Ingest socket opened from {peer}", { source: name, peer });
        },
        onMessage: (data) => {
          if (open !== undefined && this.#open.has(open)) this.#onMessage(open, peer, data);
        },
        onClose: (code, reason) => {
          if (open !== undefined) this.#open.delete(open);
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

  /** Closes every open socket (the source stops). */
  closeAll(): void {
    for (const transport of this.#open) {
      try {
        transport.close(CloseCode.GoingAway, "server shutting down");
      } catch (error) {
        this.#deps.log.debug("Cannot close an ingest socket: {error}", {
          source: this.#deps.name,
          error,
        });
      }
    }
    this.#open.clear();
  }

  #onMessage(transport: SocketTransport, peer: string, data: string | ArrayBuffer): void {
    const { context, maxBytes, lines, log, name } = this.#deps;
    if (context() === undefined) return; // stopping: the socket is being closed
    const tooBig = typeof data === "string"
      ? isOverBytes(data, maxBytes)
      : data.byteLength > maxBytes;
    if (tooBig) {
      lines.warn("too-large", "Ingest message from {peer} over {maxBytes} bytes: closing", {
        peer,
        maxBytes,
      });
      this.#open.delete(transport);
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
    const outcome = offerEvents(context(), batch.events);
    if (typeof outcome === "string") this.#answer(transport, peer, batch, outcome);
    else {
      outcome.then(
        (settled) => this.#answer(transport, peer, batch, settled),
        (error) => log.error("Ingest socket append failed: {error}", { source: name, error }),
      );
    }
  }

  /** Answers one socket message once its events were handed over (or refused). */
  #answer(transport: SocketTransport, peer: string, batch: Batch, outcome: Offered): void {
    const { lines } = this.#deps;
    const context = this.#deps.context();
    if (outcome === "stopped" || context === undefined) return;
    if (outcome === "unavailable") {
      lines.warn(
        "log",
        "Ingest message of {events} events from {peer} refused: the cluster log is unreachable",
        {
          peer,
          events: batch.events.length,
        },
      );
      this.#send(transport, {
        type: "ingest-error",
        error: "log-unavailable",
        accepted: 0,
        retry_after: RETRY_AFTER_SECONDS,
      });
      return;
    }
    if (outcome === "too-many") {
      this.#send(transport, {
        type: "ingest-error",
        error: "batch-too-large",
        message: tooManyMessage(batch.events.length, context.capacity),
        accepted: 0,
      });
      return;
    }
    if (outcome === "full") {
      lines.warn(
        "full",
        "Ingest message of {events} events from {peer} refused: the pipeline is full",
        { peer, events: batch.events.length },
      );
      this.#send(transport, {
        type: "ingest-error",
        error: "pipeline-full",
        accepted: 0,
        retry_after: RETRY_AFTER_SECONDS,
      });
      return;
    }
    if (batch.events.length > 0) lines.accepted("socket", peer, batch);
    if (batch.rejected > 0) {
      lines.rejected(peer, batch);
      this.#send(transport, {
        type: "ingest-error",
        accepted: batch.events.length,
        rejected: batch.rejected,
        errors: batch.errors,
      });
    }
  }

  #send(transport: SocketTransport, reply: Record<string, unknown>): void {
    try {
      transport.send(JSON.stringify(reply));
    } catch (error) {
      this.#deps.log.debug("Cannot answer an ingest socket: {error}", {
        source: this.#deps.name,
        error,
      });
    }
  }
}
