/** Error reporter used by the task tracker: logs and counts a failed background task. */
export type TaskErrorHandler = (name: string, error: unknown) => void;

/** Tracks background promises so none floats: failures are reported and shutdown awaits them all. */
export interface TaskTracker {
  /** Runs `work` in the background under `name`; a rejection goes to the error handler. */
  run(name: string, work: () => Promise<unknown>): void;
  /** Number of tasks still running. */
  readonly size: number;
  /** Resolves when every task started so far has settled. */
  idle(): Promise<void>;
}

/** Creates a task tracker that reports failures to `onError`. */
export function createTaskTracker(onError: TaskErrorHandler): TaskTracker {
  const running = new Set<Promise<void>>();
  return {
    run(name, work) {
      const task = (async () => {
        try {
          await work();
        } catch (error) {
          onError(name, error);
        }
      })();
      running.add(task);
      task.finally(() => running.delete(task));
    },
    get size() {
      return running.size;
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
