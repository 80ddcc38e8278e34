import type { Source, SourceContext } from "../../src/sources/mod.ts";
import type { PharosEvent } from "../../src/stack/mod.ts";

/** A source driven by the test: `emit(event)` delivers and waits for the pipeline. */
export class ManualSource implements Source {
  readonly name: string;
  readonly kind = "manual";
  readonly stream = "events emitted by the test";
  #context: SourceContext | undefined;
  stopped = false;

  constructor(name = "manual") {
    this.name = name;
  }

  start(context: SourceContext): Promise<void> {
    this.#context = context;
    context.onStatus("connected");
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  /** Reports an error status, as a failing source would. */
  fail(message: string): void {
    this.#context?.onStatus("error", message);
  }

  /** Offers `events` at once, as ingest does: all or nothing, never waiting. */
  offer(...events: PharosEvent[]): boolean {
    if (this.#context === undefined) throw new Error("ManualSource not started");
    return this.#context.offer(events);
  }

  /** Delivers `events` in order, each awaited as the pipeline asks. */
  async emit(...events: PharosEvent[]): Promise<void> {
    if (this.#context === undefined) throw new Error("ManualSource not started");
    for (const event of events) await this.#context.sink(event);
  }
}

/** A demo-stack `Transfer` event. */
export function transfer(
  mint: string,
  slot: number,
  amount: bigint | number = 1,
  extra: Partial<PharosEvent> = {},
): PharosEvent {
  return {
    type: "Transfer",
    slot,
    data: { mint, from: "alice", to: "bob", amount: String(amount) },
    ...extra,
  };
}
