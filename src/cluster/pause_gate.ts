/**
 * Pauses a loop between its turns: {@link PauseGate.whilePaused} waits until the loop parks
 * at the top of its next turn, runs its function, then lets the loop go on.
 */
export interface PauseGate {
  /** Whether a pause waits for the loop to park (checked at the top of each turn). */
  asked(): boolean;
  /** Parks the loop until the pause under way has run. */
  park(): Promise<void>;
  /**
   * Runs `fn` once the loop has parked (at once when `looping()` says no loop runs), one
   * pause at a time; the loop goes on when `fn` settles.
   */
  whilePaused<T>(looping: () => boolean, fn: () => Promise<T>): Promise<T>;
}

/** Creates a gate with no pause asked for. */
export function createPauseGate(): PauseGate {
  /** Set while a pause waits: the loop parks at its next turn and resolves it. */
  let request: { parked: () => void; resume: Promise<void> } | undefined;
  return {
    asked: () => request !== undefined,
    async park() {
      const asked = request!;
      asked.parked();
      await asked.resume;
    },
    async whilePaused(looping, fn) {
      while (request !== undefined) await request.resume;
      let resume = () => {};
      let parked = () => {};
      const isParked = new Promise<void>((resolve) => (parked = resolve));
      request = { parked, resume: new Promise<void>((resolve) => (resume = resolve)) };
      try {
        if (looping()) await isParked;
        return await fn();
      } finally {
        request = undefined;
        resume();
      }
    },
  };
}
