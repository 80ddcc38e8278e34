import { isTraceparent, type PharosEvent } from "../../stack/mod.ts";
import { BodyTooLargeError, errorMessage, readBoundedText, truncate } from "../../util/mod.ts";
import { toErrorResponse, toJsonResponse } from "../../protocol/mod.ts";
import { type Batch, parseBody } from "./body.ts";
import {
  type IngestDeps,
  type Offered,
  offerEvents,
  RETRY_AFTER_SECONDS,
  tooManyMessage,
} from "./_intake.ts";

/**
 * Content types a POST may declare (none at all is accepted too). Form posts and the like
 * are refused with 415 rather than parsed as NDJSON: a browser form can send those
 * cross-site without a preflight.
 */
const INGEST_MEDIA_TYPES = new Set([
  "application/x-ndjson",
  "application/jsonl",
  "application/json",
  "text/plain",
]);

/**
 * Answers an authenticated `POST` of NDJSON or a JSON array of events: 202 with the
 * per-event errors once the good events are handed over, else 400, 413, 415 or 503.
 */
export async function handlePost(
  deps: IngestDeps,
  request: Request,
  peer: string,
): Promise<Response> {
  const mediaType = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== "" && !INGEST_MEDIA_TYPES.has(mediaType)) {
    await request.body?.cancel();
    return refuseMediaType(deps, peer, mediaType);
  }
  let batch: Batch;
  try {
    batch = parseBody(await readBoundedText(request, deps.maxBytes));
  } catch (error) {
    return refuseBody(deps, peer, error);
  }
  const header = request.headers.get("traceparent")?.trim();
  const traceparent = header !== undefined && isTraceparent(header) ? header : undefined;
  const outcome = await offerEvents(deps.context(), withTraceparent(batch.events, traceparent));
  if (outcome !== "offered") return refuseBatch(deps, peer, batch, outcome);
  if (batch.rejected > 0) {
    deps.lines.rejected(peer, batch);
  }
  deps.lines.accepted("http", peer, batch);
  return toJsonResponse(202, {
    accepted: batch.events.length,
    rejected: batch.rejected,
    errors: batch.errors,
  });
}

/** The 503 of a source that is not running. */
export function notRunning(name: string): Response {
  return toErrorResponse({
    status: 503,
    code: "ingest-unavailable",
    message: `The ingest source ${name} is not running`,
    retryable: true,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}

function withTraceparent(events: PharosEvent[], traceparent: string | undefined): PharosEvent[] {
  if (traceparent === undefined) return events;
  return events.map((event) => event.traceparent === undefined ? { ...event, traceparent } : event);
}

function refuseMediaType(deps: IngestDeps, peer: string, mediaType: string): Response {
  deps.lines.warn("media-type", "Ingest body from {peer} refused: content type {type}", {
    peer,
    type: truncate(mediaType),
  });
  return toErrorResponse({
    status: 415,
    code: "unsupported-media-type",
    message: `Send NDJSON or a JSON array (${[...INGEST_MEDIA_TYPES].join(", ")})`,
    retryable: false,
  });
}

/** The answer to a body that could not be read or parsed. */
function refuseBody(deps: IngestDeps, peer: string, error: unknown): Response {
  const { maxBytes, lines } = deps;
  if (error instanceof BodyTooLargeError) {
    lines.warn("too-large", "Ingest body from {peer} refused: over {maxBytes} bytes", {
      peer,
      maxBytes,
    });
    return toErrorResponse({
      status: 413,
      code: "payload-too-large",
      message: `The body is over ${maxBytes} bytes; send smaller batches`,
      retryable: false,
    });
  }
  const message = truncate(errorMessage(error));
  lines.warn("invalid-body", "Ingest body from {peer} refused: {error}", { peer, error: message });
  return toErrorResponse({ status: 400, code: "invalid-body", message, retryable: false });
}

/** The answer to a batch that was not handed over. */
function refuseBatch(
  deps: IngestDeps,
  peer: string,
  batch: Batch,
  outcome: Exclude<Offered, "offered">,
): Response {
  const { lines } = deps;
  if (outcome === "stopped") return notRunning(deps.name);
  if (outcome === "unavailable") {
    lines.warn(
      "log",
      "Ingest batch of {events} events from {peer} refused: the cluster log is unreachable",
      {
        peer,
        events: batch.events.length,
      },
    );
    return toErrorResponse({
      status: 503,
      code: "log-unavailable",
      message: "The cluster's event log (Redis) is unreachable; retry shortly",
      retryable: true,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }
  if (outcome === "too-many") {
    return toErrorResponse({
      status: 413,
      code: "batch-too-large",
      message: tooManyMessage(batch.events.length, deps.context()?.capacity ?? 0),
      retryable: false,
    });
  }
  lines.warn("full", "Ingest batch of {events} events from {peer} refused: the pipeline is full", {
    peer,
    events: batch.events.length,
  });
  return toErrorResponse({
    status: 503,
    code: "pipeline-full",
    message: "The event pipeline is full; retry shortly",
    retryable: true,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}
