import type { PharosEvent } from "./types.ts";

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const MAX_TYPE_LENGTH = 128;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPosition(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Validates untrusted input (what a source received) as an event
 * `{ type, key?, slot?, index?, data, traceparent? }`. Unknown fields are dropped.
 * Throws a `TypeError` naming the first bad field.
 */
export function parseEvent(value: unknown): PharosEvent {
  if (!isRecord(value)) throw new TypeError("Cannot decode event: expected a JSON object");
  const { type, key, slot, index, data, traceparent } = value;
  if (typeof type !== "string" || type === "" || type.length > MAX_TYPE_LENGTH) {
    throw new TypeError(
      `Cannot decode event: field "type" must be a non-empty string of at most ${MAX_TYPE_LENGTH} characters`,
    );
  }
  if (!isRecord(data)) throw new TypeError('Cannot decode event: field "data" must be an object');
  if (key !== undefined && (typeof key !== "string" || key === "" || key.includes(":"))) {
    throw new TypeError('Cannot decode event: field "key" must be a non-empty string without ":"');
  }
  if (slot !== undefined && !isPosition(slot)) {
    throw new TypeError('Cannot decode event: field "slot" must be a non-negative integer');
  }
  if (index !== undefined && !isPosition(index)) {
    throw new TypeError('Cannot decode event: field "index" must be a non-negative integer');
  }
  if (
    traceparent !== undefined && (typeof traceparent !== "string" || !TRACEPARENT.test(traceparent))
  ) {
    throw new TypeError('Cannot decode event: field "traceparent" is not a W3C traceparent');
  }
  // Optional fields set one by one: four conditional spreads per event were four objects.
  const event: { -readonly [K in keyof PharosEvent]: PharosEvent[K] } = { type, data };
  if (key !== undefined) event.key = key;
  if (slot !== undefined) event.slot = slot;
  if (index !== undefined) event.index = index;
  if (traceparent !== undefined) event.traceparent = traceparent;
  return event;
}

/** True for a W3C `traceparent` header value. */
export function isTraceparent(value: string): boolean {
  return TRACEPARENT.test(value);
}
