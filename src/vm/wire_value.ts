const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIGINT = -MAX_SAFE_BIGINT;

/**
 * Converts handler output into JSON-safe wire data once per mutation, so every frame
 * built from it can use plain `JSON.stringify`: integers beyond ±(2^53−1) (bigint or
 * number) become decimal strings, safe bigints become numbers, `Date` becomes its ISO
 * string, non-finite numbers become `null`, and `undefined`, functions and symbols are
 * dropped (as JSON would). The result shares nothing with the input.
 */
export function toWireValue(value: unknown, depth = 0): unknown {
  if (depth > 64) throw new RangeError("Cannot encode patch: nesting deeper than 64 levels");
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) return null;
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) return BigInt(value).toString();
      return value;
    case "bigint":
      return value >= MIN_SAFE_BIGINT && value <= MAX_SAFE_BIGINT
        ? Number(value)
        : value.toString();
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        return value.map((item) => {
          const wire = toWireValue(item, depth + 1);
          return wire === undefined ? null : wire;
        });
      }
      if (value instanceof Date) return value.toISOString();
      const out: Record<string, unknown> = {};
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const wire = toWireValue((value as Record<string, unknown>)[key], depth + 1);
        if (wire !== undefined) out[key] = wire;
      }
      return out;
    }
    default:
      return undefined;
  }
}
