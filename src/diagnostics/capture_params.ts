import type { CaptureKind } from "../sandbox/mod.ts";

/** Which process a capture is of: the server, or its active handler host. */
export const CAPTURE_TARGETS = ["server", "host"] as const;
/** One of {@link CAPTURE_TARGETS}. */
export type CaptureTargetName = (typeof CAPTURE_TARGETS)[number];

/** A CPU profile's length when the request does not say (`seconds`). */
export const DEFAULT_PROFILE_SECONDS = 10;
/** The longest CPU profile one request may ask for. */
export const MAX_PROFILE_SECONDS = 60;

/** What a capture request asks for. */
export interface CaptureParams {
  readonly target: CaptureTargetName;
  /** Seconds of CPU profile (0 for a heap snapshot, which takes none). */
  readonly seconds: number;
}

/**
 * Reads a capture request's query: `target` (`server`, the default, or `host`) and, for a
 * CPU profile, `seconds` (an integer 1…60, default 10). Throws a `RangeError` naming the
 * parameter that is wrong: an unknown or repeated one too, so that a typo is not ignored.
 */
export function parseCaptureParams(query: URLSearchParams, what: CaptureKind): CaptureParams {
  const allowed = what === "profile" ? ["target", "seconds"] : ["target"];
  for (const name of new Set(query.keys())) {
    if (!allowed.includes(name)) {
      throw new RangeError(
        `Unknown parameter "${name}": ${allowed.map((a) => `"${a}"`).join(" and ")} only`,
      );
    }
    if (query.getAll(name).length > 1) throw new RangeError(`Parameter "${name}" is repeated`);
  }
  const target = query.get("target") ?? "server";
  if (!(CAPTURE_TARGETS as readonly string[]).includes(target)) {
    throw new RangeError(`Parameter "target" must be "server" or "host", not "${target}"`);
  }
  let seconds = 0;
  if (what === "profile") {
    const text = query.get("seconds") ?? String(DEFAULT_PROFILE_SECONDS);
    seconds = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
    if (!(seconds >= 1 && seconds <= MAX_PROFILE_SECONDS)) {
      throw new RangeError(
        `Parameter "seconds" must be a whole number from 1 to ${MAX_PROFILE_SECONDS}, not "${text}"`,
      );
    }
  }
  return { target: target as CaptureTargetName, seconds };
}
