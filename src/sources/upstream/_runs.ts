/**
 * Whether the source runs, and which run it is. `start()` and `stop()` each begin a new
 * generation, so callbacks and loops of an older run (a reconnect timer, the delivery loop)
 * see it and back off.
 */
export class Runs {
  #running = false;
  #generation = 0;

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#running;
  }

  /** `start()`: a new run begins. */
  begin(): void {
    this.#running = true;
    this.#generation++;
  }

  /** `stop()`: the current run ends; true if one was running. */
  end(): boolean {
    const wasRunning = this.#running;
    this.#running = false;
    this.#generation++;
    return wasRunning;
  }

  /** A check that holds only while the run current now lasts (not after stop() or a restart). */
  current(): () => boolean {
    const run = this.#generation;
    return () => this.#running && run === this.#generation;
  }
}
