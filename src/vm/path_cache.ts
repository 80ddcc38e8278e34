import type { VmTelemetry } from "../telemetry/mod.ts";

/** Parsed dotted field paths, cached: sort and key lookups run on every mutation. */
export interface PathCache {
  /** The segments of `path` (`"a.b"` → `["a","b"]`). */
  segments(path: string): readonly string[];
  /** The value at `path` in `value`, or `undefined`. */
  get(value: unknown, path: string): unknown;
}

/** Options for {@link createPathCache}. */
export interface PathCacheOptions {
  readonly telemetry: Pick<VmTelemetry, "pathCacheHit" | "pathCacheMiss">;
  /** Paths kept; default 1024 (stacks declare few paths, so misses mean churn). */
  readonly capacity?: number;
}

/** Creates a bounded field-path cache that counts hits and misses. */
export function createPathCache(options: PathCacheOptions): PathCache {
  const capacity = options.capacity ?? 1024;
  const cache = new Map<string, readonly string[]>();
  const segments = (path: string): readonly string[] => {
    const hit = cache.get(path);
    if (hit !== undefined) {
      options.telemetry.pathCacheHit();
      return hit;
    }
    options.telemetry.pathCacheMiss();
    const parsed = Object.freeze(path.split("."));
    if (cache.size >= capacity) cache.clear();
    cache.set(path, parsed);
    return parsed;
  };
  return {
    segments,
    get(value, path) {
      let node = value;
      for (const segment of segments(path)) {
        if (typeof node !== "object" || node === null) return undefined;
        node = (node as Record<string, unknown>)[segment];
      }
      return node;
    },
  };
}
