import type { Clock } from "../util/mod.ts";

/** Options for {@link LineWriter}. */
export interface LineWriterOptions {
  readonly writable: WritableStream<Uint8Array>;
  readonly clock: Clock;
  /** Lines held for the output before the oldest are dropped. */
  readonly maxLines: number;
  /** Longest a line waits before its batch is written, ms. */
  readonly flushMs: number;
  /** Told of every batch of dropped lines. */
  readonly onDropped: (count: number) => void;
}

const encoder = new TextEncoder();

/**
 * Writes formatted lines to a stream in the background, in batches: each write is one
 * chunk with every line waiting at that moment. A slow or blocked stream never stalls
 * the caller: past `maxLines` waiting, the oldest are dropped (and counted). At most
 * `maxLines` wait here plus the batch being written.
 *
 * Why lines, not records: a LogTape record with its properties and message parts is
 * about 1.5 KB and, held for a flush interval, outlives the young generation, so every
 * record became old-generation garbage. At 10 000 idle connections (three info lines
 * each) that held about 4 KB of RSS per connection; a formatted line is about 150 bytes.
 */
export class LineWriter implements AsyncDisposable {
  readonly #o: LineWriterOptions;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Waiting lines are `#lines[#head..]`; dropped ones before `#head` are cleared. */
  #lines: string[] = [];
  #head = 0;
  #timer: Disposable | undefined;
  /** The running batch loop, while one runs. */
  #writing: Promise<void> | undefined;
  #disposed = false;

  constructor(options: LineWriterOptions) {
    this.#o = options;
    this.#writer = options.writable.getWriter();
  }

  /** Lines waiting to be written. */
  get waiting(): number {
    return this.#lines.length - this.#head;
  }

  /** Queues one line (with its newline); returns at once. */
  write(line: string): void {
    if (this.#disposed) return;
    this.#lines.push(line);
    if (this.waiting > this.#o.maxLines) {
      this.#lines[this.#head++] = "";
      if (this.#head >= this.#o.maxLines) {
        this.#lines = this.#lines.slice(this.#head);
        this.#head = 0;
      }
      this.#o.onDropped(1);
    }
    if (this.#writing !== undefined) return; // the running loop takes it
    if (this.waiting >= this.#o.maxLines / 2) this.#start();
    else this.#timer ??= this.#o.clock.setTimer(this.#o.flushMs, () => this.#start());
  }

  #start(): void {
    this.#timer?.[Symbol.dispose]();
    this.#timer = undefined;
    if (this.#writing === undefined && this.waiting > 0) this.#writing = this.#drain();
  }

  /** Writes batches until nothing waits. */
  async #drain(): Promise<void> {
    do {
      const batch = this.#head === 0 ? this.#lines : this.#lines.slice(this.#head);
      this.#lines = [];
      this.#head = 0;
      try {
        await this.#writer.ready;
        await this.#writer.write(encoder.encode(batch.join("")));
      } catch {
        // The output refused the batch (closed, broken pipe): those lines are lost, and
        // counted as dropped rather than retried forever.
        this.#o.onDropped(batch.length);
      }
    } while (this.waiting > 0);
    // Cleared in the same turn as the last check, so a line queued after it starts a new loop.
    this.#writing = undefined;
  }

  /** Writes what waits, then releases the stream (it is not closed). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#timer?.[Symbol.dispose]();
    this.#timer = undefined;
    await this.#writing;
    if (this.waiting > 0) await this.#drain();
    this.#writer.releaseLock();
  }
}
