import type { CaptureKind } from "../sandbox/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { CaptureTargetName } from "./capture_params.ts";

/** The capture under way, for the answer that turns another away. */
export interface CaptureHolder {
  readonly what: CaptureKind;
  readonly target: CaptureTargetName;
  /** Who asked (the client address). */
  readonly peer: string;
  /** Monotonic ms when it began. */
  readonly since: number;
}

/**
 * One capture at a time, whichever its target: a heap snapshot of the server while the
 * host is profiled would stall the server inside the host's profile window, and two heap
 * snapshots would hold two files of tens of MB. The capture holds the lock until its file
 * has been sent or its reader went away.
 */
export class CaptureLock {
  readonly #clock: Clock;
  #holder: CaptureHolder | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The capture under way, if any. */
  get holder(): CaptureHolder | undefined {
    return this.#holder;
  }

  /**
   * Takes the lock for a capture; undefined when another holds it. Disposing the result
   * releases it (once: a second dispose does nothing).
   */
  acquire(what: CaptureKind, target: CaptureTargetName, peer: string): Disposable | undefined {
    if (this.#holder !== undefined) return undefined;
    const holder: CaptureHolder = { what, target, peer, since: this.#clock.monotonic() };
    this.#holder = holder;
    return {
      [Symbol.dispose]: () => {
        if (this.#holder === holder) this.#holder = undefined;
      },
    };
  }
}
