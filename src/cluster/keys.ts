/** The Redis keys of one stack's cluster, all under `{prefix}:{stack}:`. */
export interface ClusterKeys {
  /** The stream: one entry per event (and the probes). */
  readonly log: string;
  /** Hash: `epoch`, `n` (the last entry's offset), `cursor:<source>` (where each source stands). */
  readonly meta: string;
  /** String: the instance holding the singleton sources, with a PX expiry. */
  readonly lease: string;
  /** Hash: `epoch`, `id` and `n` (the log position it reflects), `at` (ms), `state` (JSON). */
  readonly checkpoint: string;
  /** Prefix of the per-source sorted sets of positions already in the log (de-duplication). */
  readonly seenPrefix: string;
}

/** The keys of `stack`'s cluster under `prefix`. */
export function clusterKeys(prefix: string, stack: string): ClusterKeys {
  const base = `${prefix}:${stack}:`;
  return Object.freeze({
    log: `${base}log`,
    meta: `${base}meta`,
    lease: `${base}lease`,
    checkpoint: `${base}checkpoint`,
    seenPrefix: `${base}seen:`,
  });
}
