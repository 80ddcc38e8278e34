import type { PharosEvent } from "../stack/mod.ts";

/** Where a source delivers events; awaiting it is the source's backpressure. */
export type EventSink = (event: PharosEvent) => Promise<void>;

/** Stream status a source reports, mirrored into the health monitor. */
export type SourceStatus = "connected" | "disconnected" | "reconnecting" | "error";

/** What a running source is given. */
export interface SourceContext {
  readonly sink: EventSink;
  /** Status changes; `message` accompanies `error`. */
  readonly onStatus: (status: SourceStatus, message?: string) => void;
}

/** An upstream adapter: the demo generator, ingest, an upstream feed, a replay. */
export interface Source {
  /** Instance name, unique per server (`demo`). */
  readonly name: string;
  /** Adapter kind (`demo`, `ingest`, …). */
  readonly kind: string;
  /** Begins delivering events; resolves once running. */
  start(context: SourceContext): Promise<void>;
  /** Stops delivering; resolves when no further event will reach the sink. */
  stop(): Promise<void>;
}
