import { parseEvent, type PharosEvent, type SeqCounter } from "../../stack/mod.ts";
import { errorMessage } from "../../util/mod.ts";

/** An event on its way to the sink, with its place in the stream. */
export interface QueuedEvent {
  readonly event: PharosEvent;
  /** Undefined for events without a slot: delivered without dedup, cursor unchanged. */
  readonly seq: string | undefined;
}

/** Why a message, or one event of it, was skipped; `position` is its index in an array. */
export interface InvalidEvent {
  readonly reason: string;
  readonly position?: number;
}

/** What one upstream message holds: its valid events, numbered, and the skipped ones. */
export interface UpstreamMessage {
  readonly events: QueuedEvent[];
  readonly invalid: InvalidEvent[];
}

// Never streams: each call decodes one whole message, so nothing carries over between calls.
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads one message: a JSON event or a JSON array of them, as text or UTF-8 binary. Every
 * event is validated; valid ones are numbered by `seqs`, the connection's `_seq` counter.
 */
export function readMessage(data: unknown, seqs: SeqCounter): UpstreamMessage {
  let decoded: unknown;
  try {
    decoded = decode(data);
  } catch (error) {
    // JSON.parse messages quote the payload: name the failure without it.
    const reason = error instanceof SyntaxError
      ? "not valid JSON (or not UTF-8)"
      : errorMessage(error);
    return { events: [], invalid: [{ reason }] };
  }
  const values = Array.isArray(decoded) ? decoded : [decoded];
  const events: QueuedEvent[] = [];
  const invalid: InvalidEvent[] = [];
  for (let i = 0; i < values.length; i++) {
    let event: PharosEvent;
    try {
      event = parseEvent(values[i]);
    } catch (error) {
      const reason = errorMessage(error);
      invalid.push(Array.isArray(decoded) ? { reason, position: i } : { reason });
      continue;
    }
    events.push(toQueued(seqs, event));
  }
  return { events, invalid };
}

function decode(data: unknown): unknown {
  if (typeof data === "string") return JSON.parse(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    return JSON.parse(decoder.decode(data));
  }
  throw new TypeError("unsupported message type");
}

/** Gives an event with a slot its `_seq`, numbering it by arrival if it has no index. */
function toQueued(seqs: SeqCounter, event: PharosEvent): QueuedEvent {
  const numbered = seqs.next(event);
  if (numbered === undefined) return { event, seq: undefined };
  return {
    event: event.index === undefined ? { ...event, index: numbered.index } : event,
    seq: numbered.seq,
  };
}
