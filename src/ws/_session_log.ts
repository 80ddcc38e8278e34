import type { BusMessage } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { SubscribeMessage } from "./codec.ts";

const encoder = new TextEncoder();

/**
 * A session's trace lines, one per frame handed to its queue. The callers check the level
 * (a boolean read once per session) before calling, so with trace off the send path never
 * reaches here. One per session, holding only what every line names.
 */
export class SessionLog {
  readonly #log: Logger;
  readonly #clientId: string;

  constructor(log: Logger, clientId: string) {
    this.#log = log;
    this.#clientId = clientId;
  }

  /** The trace line of one live frame handed to the queue. */
  traceFrame(view: string, frame: BusMessage): void {
    this.#log.trace("Frame to client {client_id}: {view} {op} {key} ({bytes} bytes)", {
      client_id: this.#clientId,
      view,
      op: frame.op ?? "patch",
      key: frame.key,
      bytes: frame.bytes.length,
    });
  }

  /** The trace line of a reply (a subscribed ack, snapshot batch, error or auth answer). */
  traceReply(op: string, data: string | Uint8Array, view?: string, key?: string): void {
    const fields: Record<string, unknown> = { client_id: this.#clientId };
    if (view !== undefined) fields.view = view;
    fields.op = op;
    if (key !== undefined) fields.key = key;
    fields.bytes = typeof data === "string" ? encoder.encode(data).length : data.length;
    this.#log.trace(
      view === undefined
        ? "Frame to client {client_id}: {op} ({bytes} bytes)"
        : key === undefined
        ? "Frame to client {client_id}: {view} {op} ({bytes} bytes)"
        : "Frame to client {client_id}: {view} {op} {key} ({bytes} bytes)",
      fields,
    );
  }
}

/** A subscribe request's parameters as log fields (only those the client gave). */
export function subscribeParameters(message: SubscribeMessage): Record<string, unknown> {
  const fields: Record<string, unknown> = { view: message.view };
  if (message.key !== undefined) fields.key = message.key;
  if (message.take !== undefined) fields.take = message.take;
  if (message.skip !== undefined) fields.skip = message.skip;
  fields.with_snapshot = message.withSnapshot !== false;
  if (message.after !== undefined) fields.after = message.after;
  if (message.snapshotLimit !== undefined) fields.snapshot_limit = message.snapshotLimit;
  return fields;
}

/** Milliseconds to three decimals, as the log fields carry them. */
export function roundMs(ms: number): number {
  return Number(ms.toFixed(3));
}

/** Monotonic milliseconds as seconds to three decimals. */
export function roundSeconds(ms: number): number {
  return Number((ms / 1000).toFixed(3));
}
