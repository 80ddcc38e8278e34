/**
 * Runs `steps` one after another the first time the result is called; later calls share
 * that run. A shutdown is such a sequence: its order is the wiring's to state, once.
 */
export function inOrderOnce(steps: readonly (() => unknown)[]): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () =>
    running ??= (async () => {
      for (const step of steps) await step();
    })();
}
