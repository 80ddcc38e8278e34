import { toJsonResponse } from "../protocol/mod.ts";
import { BodyTooLargeError, readBoundedBytes } from "../util/mod.ts";
import { describeIgnored, type LogFilter, parseLogFilter } from "./filter.ts";
import { LOG_FILTER_TTL_S, type LogFilterControl, type LogFilterStatus } from "./filter_control.ts";

/** Where the run-time log filter is read and changed (an admin endpoint). */
export const LOG_FILTER_PATH = "/debug/log";

/** Largest `PUT /debug/log` body read: a filter and a TTL. */
const MAX_BODY_BYTES = 4096;
const ALLOW = "GET, PUT, DELETE";
const EXAMPLE = '{"filter": "info,pharos.ws=debug", "ttl_s": 600}';

/** A refused change: the status and the JSON error answer's `error` and `message`. */
class Refusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "Refusal";
  }
}

/**
 * `/debug/log`: `GET` answers the filter in force and the time it has left
 * ({@link LogFilterStatus}); `PUT` with `{"filter": "…", "ttl_s": N}` sets a filter in the
 * `RUST_LOG` grammar for N seconds (default 600, 1 to 86 400), after which the start-up filter
 * comes back; `DELETE` puts the start-up filter back now. A bad body, filter or TTL is a 400
 * whose message says what is wrong, and so is a target Pharos does not log under (named with
 * the closest one): typed live, it is a typo to fix, not a shared `RUST_LOG` to tolerate.
 * The app serves it only as an admin endpoint (behind the admin token when one is set).
 */
export function createLogFilterEndpoint(
  control: LogFilterControl,
): (request: Request, peer: string) => Promise<Response> {
  return async (request, peer) => {
    try {
      switch (request.method) {
        case "GET":
          return toJsonResponse(200, control.status());
        case "PUT": {
          const { filter, ttlSeconds } = await readChange(request);
          return toJsonResponse(200, setFilter(control, filter, ttlSeconds, peer));
        }
        case "DELETE":
          await request.body?.cancel();
          return toJsonResponse(200, control.reset(peer));
        default:
          await request.body?.cancel();
          throw new Refusal(405, "method-not-allowed", `${LOG_FILTER_PATH} accepts ${ALLOW}`);
      }
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return toJsonResponse(
        error.status,
        { error: error.code, message: error.message },
        error.status === 405 ? { allow: ALLOW } : {},
      );
    }
  };
}

/** `control.set`, its RangeError (a TTL out of bounds) a 400. */
function setFilter(
  control: LogFilterControl,
  filter: LogFilter,
  ttlSeconds: number,
  peer: string,
): LogFilterStatus {
  try {
    return control.set(filter, ttlSeconds, peer);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new Refusal(400, "invalid-ttl", error.message);
  }
}

/** The filter and TTL a `PUT` asks for; throws a {@link Refusal} saying what is wrong. */
async function readChange(request: Request): Promise<{ filter: LogFilter; ttlSeconds: number }> {
  const body = await readBounded(request);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Refusal(400, "invalid-request", `The body is not JSON; send ${EXAMPLE}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Refusal(400, "invalid-request", `The body must be a JSON object such as ${EXAMPLE}`);
  }
  const fields = parsed as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => key !== "filter" && key !== "ttl_s");
  if (unknown.length > 0) {
    throw new Refusal(
      400,
      "invalid-request",
      `Unknown field ${unknown.map((key) => `"${key}"`).join(", ")}: send ${EXAMPLE}`,
    );
  }
  if (typeof fields.filter !== "string") {
    throw new Refusal(400, "invalid-request", `"filter" must be a string such as "info"`);
  }
  // The control checks the bounds (one place); here only that it is a number at all.
  const ttl = fields.ttl_s ?? LOG_FILTER_TTL_S.default;
  if (typeof ttl !== "number") {
    throw new Refusal(400, "invalid-ttl", `"ttl_s" must be a number of seconds`);
  }
  let filter: LogFilter;
  try {
    filter = parseLogFilter(fields.filter);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new Refusal(400, "invalid-filter", error.message);
  }
  if (filter.ignored.length > 0) {
    throw new Refusal(
      400,
      "unknown-log-target",
      `Pharos does not log under ${describeIgnored(filter.ignored)}`,
    );
  }
  return { filter, ttlSeconds: ttl };
}

/**
 * The body as text (read by the shared bounded reader), refused (413) past
 * {@link MAX_BODY_BYTES} without reading the rest.
 */
async function readBounded(request: Request): Promise<string> {
  try {
    return new TextDecoder().decode(await readBoundedBytes(request, MAX_BODY_BYTES));
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw new Refusal(413, "invalid-request", `The body is larger than ${MAX_BODY_BYTES} bytes`);
  }
}
