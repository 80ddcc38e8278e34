/**
 * Handler state crosses the process boundary as JSON, but handler state is not JSON: the
 * demo stack keeps a bigint `volume`, and a handler may keep a `Date`. These walkers keep
 * what JSON would lose, so a host seeded from the server's tables sees the values its
 * predecessor produced: bigint, `Date`, `NaN`/`±Infinity` and `undefined` array items
 * become strings tagged with a leading NUL (a string that itself starts with NUL is tagged
 * too). Other objects (a `Map`, a class instance) keep only their own enumerable fields,
 * as `JSON.stringify` would.
 */
const TAG = "\u0000";
const MAX_DEPTH = 64;

/** `value` with every non-JSON value tagged; throws a `RangeError` past 64 levels of nesting. */
export function encodeRaw(value: unknown, depth = 0): unknown {
  switch (typeof value) {
    case "string":
      return value.startsWith(TAG) ? `${TAG}s${value}` : value;
    case "number":
      return Number.isFinite(value) ? value : `${TAG}f${value}`;
    case "boolean":
      return value;
    case "bigint":
      return `${TAG}n${value}`;
    case "object": {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) throw new RangeError("State is nested deeper than 64 levels");
      if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          out[i] = item === undefined ? `${TAG}u` : encodeRaw(item, depth + 1);
        }
        return out;
      }
      if (value instanceof Date) return `${TAG}d${value.getTime()}`;
      const out: Record<string, unknown> = {};
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const encoded = encodeRaw((value as Record<string, unknown>)[key], depth + 1);
        if (encoded !== undefined) out[key] = encoded;
      }
      return out;
    }
    default:
      return undefined; // undefined, functions and symbols, as JSON drops them
  }
}

function decodeTagged(text: string): unknown {
  const body = text.slice(2);
  switch (text[1]) {
    case "s":
      return body;
    case "n":
      return BigInt(body);
    case "f":
      return Number(body);
    case "d":
      return new Date(Number(body));
    case "u":
      return undefined;
    default:
      throw new TypeError(`Unknown tagged value ${JSON.stringify(text.slice(0, 8))}`);
  }
}

/** The inverse of {@link encodeRaw}, in place for objects and arrays parsed from JSON. */
export function decodeRaw(value: unknown): unknown {
  if (typeof value === "string") return value.startsWith(TAG) ? decodeTagged(value) : value;
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeRaw(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (typeof item === "object" || (typeof item === "string" && item.startsWith(TAG))) {
      record[key] = decodeRaw(item);
    }
  }
  return record;
}

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

function wireOfTagged(text: string): unknown {
  const body = text.slice(2);
  switch (text[1]) {
    case "s":
      return body;
    case "n": {
      const value = BigInt(body);
      return value >= -MAX_SAFE_BIGINT && value <= MAX_SAFE_BIGINT ? Number(value) : body;
    }
    case "d":
      return new Date(Number(body)).toISOString(); // an invalid date throws, as toWireValue does
    case "f":
    case "u":
      return null;
    default:
      throw new TypeError(`Unknown tagged value ${JSON.stringify(text.slice(0, 8))}`);
  }
}

/**
 * The wire form (`toWireValue`'s) of an {@link encodeRaw}-encoded value, straight from
 * the encoding: the server keeps hosted state encoded, so it never decodes a patch.
 */
export function wireOfEncoded(value: unknown): unknown {
  switch (typeof value) {
    case "string":
      return value.startsWith(TAG) ? wireOfTagged(value) : value;
    case "number":
      return Number.isInteger(value) && !Number.isSafeInteger(value)
        ? BigInt(value).toString()
        : value;
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) return value.map(wireOfEncoded);
      const out: Record<string, unknown> = {};
      for (const key in value) out[key] = wireOfEncoded((value as Record<string, unknown>)[key]);
      return out;
    }
    default:
      return value;
  }
}
