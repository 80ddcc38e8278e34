import type { Logger } from "../../log/mod.ts";
import { compareSeq, type SeqCounter } from "../../stack/mod.ts";
import { CloseCode } from "../../protocol/mod.ts";
import { errorMessage, Fifo } from "../../util/mod.ts";
import type { EventSink } from "../types.ts";
import { type QueuedEvent, readMessage } from "./_messages.ts";
import type { Runs } from "./_runs.ts";

/** Options for {@link EventDelivery}. */
export interface EventDeliveryOptions {
  /** The source's name, for its log lines. */
  readonly name: string;
  readonly log: Logger;
  readonly runs: Runs;
  /** Events received but not yet delivered, at most (see `UpstreamSourceOptions`). */
  readonly maxQueuedEvents: number;
  /** The cursor to resume from before any event is delivered. */
  readonly cursor: string | undefined;
  /**
   * Closes the current connection, which the source gave up on (queue overflow, delivery
   * failure), so it reconnects and resumes from the cursor.
   */
  readonly endConnection: (code: number, reason: string) => void;
}

/**
 * The upstream's events on their way to the sink. Messages arrive without read
 * backpressure, so their events wait in a bounded queue and one loop hands them to the sink
 * in order, awaiting each. It keeps the cursor (the `_seq` of the last event delivered) and
 * drops events at or before it: replays of what was delivered.
 */
export class EventDelivery {
  readonly #o: EventDeliveryOptions;
  readonly #queue = new Fifo<QueuedEvent>();
  #cursor: string | undefined;
  #sink: EventSink | undefined;
  #draining: Promise<void> | undefined;
  #invalidEvents = 0;
  #duplicateEvents = 0;

  constructor(options: EventDeliveryOptions) {
    this.#o = options;
    this.#cursor = options.cursor;
  }

  /** The `_seq` of the last event delivered (or the resume cursor before any). */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  /** Messages or events skipped because they failed validation. */
  get invalidEvents(): number {
    return this.#invalidEvents;
  }

  /** Events dropped because their `_seq` was at or before the cursor (replays). */
  get duplicateEvents(): number {
    return this.#duplicateEvents;
  }

  /** A run begins: events go to `sink`, after `resumeFrom` when one is given. */
  start(sink: EventSink, resumeFrom: string | undefined): void {
    this.#sink = sink;
    if (resumeFrom !== undefined) this.#cursor = resumeFrom;
  }

  /** Drops the events still waiting. */
  clear(): void {
    this.#queue.clear();
  }

  /** Resolves once the delivery loop has finished (no sink call in flight). */
  async settled(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  /** Takes one message of the current connection, whose events `seqs` numbers. */
  receive(data: unknown, seqs: SeqCounter): void {
    const message = readMessage(data, seqs);
    for (const { reason, position } of message.invalid) this.#skip(reason, position);
    const items = this.#withoutDelivered(message.events);
    if (items.length === 0) return;
    // One message is taken whole into an empty queue, however large (it is in memory
    // already, and refusing it would refuse its replay forever); the bound stops backlog.
    const queued = this.#queue.size;
    if (queued > 0 && queued + items.length > this.#o.maxQueuedEvents) {
      this.#overflow(queued + items.length);
      return;
    }
    for (const item of items) this.#queue.push(item);
    this.#kick();
  }

  #skip(reason: string, at?: number): void {
    this.#invalidEvents++;
    this.#o.log.warn("Source {source} skipped an invalid event: {reason}", {
      source: this.#o.name,
      reason,
      ...(at === undefined ? {} : { position: at }),
      invalid_events: this.#invalidEvents,
    });
  }

  /** True for an event at or before the cursor: a replay of something delivered. */
  #isDelivered(item: QueuedEvent): boolean {
    const cursor = this.#cursor;
    return item.seq !== undefined && cursor !== undefined && compareSeq(item.seq, cursor) <= 0;
  }

  #withoutDelivered(events: readonly QueuedEvent[]): QueuedEvent[] {
    const items: QueuedEvent[] = [];
    const duplicatesBefore = this.#duplicateEvents;
    for (const item of events) {
      // Replays repeat what was delivered; dropping those now keeps them out of the queue.
      if (this.#isDelivered(item)) this.#duplicateEvents++;
      else items.push(item);
    }
    if (this.#duplicateEvents > duplicatesBefore) {
      this.#o.log.debug(
        "Source {source} dropped {count} events already delivered (cursor {cursor})",
        {
          source: this.#o.name,
          count: this.#duplicateEvents - duplicatesBefore,
          cursor: this.#cursor ?? null,
        },
      );
    }
    return items;
  }

  #overflow(queued: number): void {
    this.#o.log.error(
      "Source {source} has {queued} events waiting (limit {limit}): closing with {code} to resume from {cursor}",
      {
        source: this.#o.name,
        queued,
        limit: this.#o.maxQueuedEvents,
        code: String(CloseCode.UpstreamOverflow),
        cursor: this.#cursor ?? null,
      },
    );
    this.clear();
    this.#o.endConnection(CloseCode.UpstreamOverflow, "queue overflow");
  }

  #kick(): void {
    const { runs, log, name } = this.#o;
    if (this.#draining !== undefined || !runs.running || this.#sink === undefined) return;
    this.#draining = this.#drain(runs.current(), this.#sink)
      .catch((error) =>
        log.error("Source {source} delivery loop failed: {error}", {
          source: name,
          error: errorMessage(error),
        })
      )
      .finally(() => {
        this.#draining = undefined;
        // Not only this run's: a start() during stop() finds this loop still busy.
        if (runs.running && this.#queue.size > 0) this.#kick();
      });
  }

  async #drain(isCurrentRun: () => boolean, sink: EventSink): Promise<void> {
    while (isCurrentRun() && this.#queue.size > 0) {
      const item = this.#queue.shift()!;
      if (this.#isDelivered(item)) {
        this.#duplicateEvents++;
        continue;
      }
      try {
        await sink(item.event);
      } catch (error) {
        if (!isCurrentRun()) return;
        this.#o.log.error(
          "Source {source} could not deliver an event: {error}; resuming from {cursor}",
          { source: this.#o.name, error: errorMessage(error), cursor: this.#cursor ?? null },
        );
        this.clear();
        this.#o.endConnection(CloseCode.UpstreamDeliveryFailed, "delivery failed");
        return;
      }
      if (item.seq !== undefined) this.#cursor = item.seq;
    }
  }
}
