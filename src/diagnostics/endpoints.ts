import type { Endpoint } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import { toErrorResponse } from "../protocol/mod.ts";
import { type CaptureKind, HostCaptureError } from "../sandbox/mod.ts";
import { type Clock, errorMessage } from "../util/mod.ts";
import { CaptureLock } from "./capture_lock.ts";
import { type CaptureTargetName, parseCaptureParams } from "./capture_params.ts";
import {
  type CaptureFile,
  type CaptureTarget,
  createServerCaptures,
  ProfilerUnavailableError,
} from "./server_capture.ts";

/** Options for {@link createDiagnosticsEndpoints}. */
export interface DiagnosticsOptions {
  /** `pharos.diagnostics`: each capture at warn (who, what, target, size). */
  readonly log: Logger;
  /** Names the files, times the captures and the server's CPU profile. */
  readonly clock: Clock;
  /** Captures of the active handler host; undefined when handlers run in this process. */
  readonly host: CaptureTarget | undefined;
  /** Captures of the server. Default: this process's own ({@link createServerCaptures}). */
  readonly server?: CaptureTarget;
}

/** Where each capture is served. */
export const DIAGNOSTICS_PATHS: Readonly<Record<CaptureKind, string>> = {
  profile: "/debug/profile",
  heap: "/debug/heap",
};

const NOUNS: Record<CaptureKind, string> = { profile: "CPU profile", heap: "heap snapshot" };
const EXTENSIONS: Record<CaptureKind, string> = { profile: "cpuprofile", heap: "heapsnapshot" };
const TARGET_LABELS: Record<CaptureTargetName, string> = {
  server: "server",
  host: "handler host",
};

/**
 * The diagnostics endpoints, for the app's `adminEndpoints` (mounted only with an admin
 * token or an admin port, always behind the token when there is one):
 * `POST /debug/profile?seconds=N[&target=host]` answers a `.cpuprofile`,
 * `POST /debug/heap[?target=host]` a `.heapsnapshot`, one capture at a time (409 while
 * another runs), as attachments streamed as they are read.
 */
export function createDiagnosticsEndpoints(options: DiagnosticsOptions): Record<string, Endpoint> {
  const lock = new CaptureLock(options.clock);
  const targets: Record<CaptureTargetName, CaptureTarget | undefined> = {
    server: options.server ?? createServerCaptures(options.clock),
    host: options.host,
  };
  const endpoints: Record<string, Endpoint> = {};
  for (const what of ["profile", "heap"] as const) {
    endpoints[DIAGNOSTICS_PATHS[what]] = captureEndpoint(what, { ...options, lock, targets });
  }
  return endpoints;
}

interface EndpointParts extends DiagnosticsOptions {
  readonly lock: CaptureLock;
  readonly targets: Record<CaptureTargetName, CaptureTarget | undefined>;
}

function captureEndpoint(what: CaptureKind, parts: EndpointParts): Endpoint {
  const { lock, log, clock } = parts;
  const path = DIAGNOSTICS_PATHS[what];
  return async (request, peer) => {
    await request.body?.cancel();
    if (request.method !== "POST") {
      return refuse(405, "method-not-allowed", `${path} takes POST`, { allow: "POST" });
    }
    let target: CaptureTargetName;
    let seconds: number;
    try {
      ({ target, seconds } = parseCaptureParams(new URL(request.url).searchParams, what));
    } catch (error) {
      return refuse(400, "bad-request", errorMessage(error));
    }
    const taker = parts.targets[target];
    if (taker === undefined) {
      return refuse(
        409,
        "no-handler-host",
        "Handlers run in the server process (PHAROS_HANDLER_ISOLATION=inline, or a stack " +
          "given as a value): there is no handler host to capture; the server's capture " +
          "(target=server) includes the handlers",
      );
    }
    const hold = lock.acquire(what, target, peer);
    if (hold === undefined) return busy(lock, clock);
    const fields = { what, target, peer, ...(what === "profile" ? { seconds } : {}) };
    const noun = `${NOUNS[what]} of the ${TARGET_LABELS[target]}`;
    const label = noun[0]!.toUpperCase() + noun.slice(1);
    log.info(`Taking a ${noun} for {peer}`, fields);
    const startedAt = clock.monotonic();
    let file: CaptureFile;
    try {
      file = await taker.capture(what, seconds);
    } catch (error) {
      hold[Symbol.dispose]();
      log.warn(`${label} for {peer} failed: {error}`, { ...fields, error: errorMessage(error) });
      return failed(error);
    }
    log.warn(`${label} taken for {peer}: {bytes} bytes in {duration_ms} ms`, {
      ...fields,
      bytes: file.bytes,
      duration_ms: Math.round(clock.monotonic() - startedAt),
    });
    return new Response(releasing(file.body, hold), {
      headers: {
        "content-type": "application/json",
        "content-length": String(file.bytes),
        "content-disposition": `attachment; filename="${fileName(what, target, clock)}"`,
        "cache-control": "no-store",
      },
    });
  };
}

/** `pharos-server-20260101T000000Z.cpuprofile` */
function fileName(what: CaptureKind, target: CaptureTargetName, clock: Clock): string {
  const at = new Date(clock.now()).toISOString().replace(/[-:]|\.\d+/g, "");
  return `pharos-${target}-${at}.${EXTENSIONS[what]}`;
}

/** `body`, releasing `hold` once it has been read to the end, failed, or been cancelled. */
function releasing(body: ReadableStream<Uint8Array>, hold: Disposable): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          hold[Symbol.dispose]();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        hold[Symbol.dispose]();
        controller.error(error);
      }
    },
    async cancel(reason) {
      hold[Symbol.dispose]();
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

function refuse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return toErrorResponse({ status, code, message, retryable: false, headers });
}

function busy(lock: CaptureLock, clock: Clock): Response {
  const holder = lock.holder!;
  const forSeconds = Math.round((clock.monotonic() - holder.since) / 1000);
  return toErrorResponse({
    status: 409,
    code: "capture-in-progress",
    message: `A ${NOUNS[holder.what]} of the ${TARGET_LABELS[holder.target]} ` +
      `for ${holder.peer} has been under way for ${forSeconds} s; one capture at a time`,
    retryable: true,
    retryAfterSeconds: 1,
  });
}

/** The answer to a capture that failed, by why. */
function failed(error: unknown): Response {
  const message = errorMessage(error);
  if (error instanceof ProfilerUnavailableError) {
    return toErrorResponse({
      status: 503,
      code: "profiler-unavailable",
      message,
      retryable: false,
    });
  }
  if (!(error instanceof HostCaptureError)) {
    return toErrorResponse({ status: 500, code: "capture-failed", message, retryable: true });
  }
  switch (error.reason) {
    case "unavailable":
      return toErrorResponse({
        status: 503,
        code: "handler-host-unavailable",
        message,
        retryable: true,
        retryAfterSeconds: 1,
      });
    case "died":
      return toErrorResponse({ status: 502, code: "handler-host-died", message, retryable: true });
    case "timeout":
      return toErrorResponse({
        status: 504,
        code: "handler-host-timeout",
        message,
        retryable: true,
      });
    case "failed":
      return toErrorResponse({ status: 500, code: "capture-failed", message, retryable: true });
  }
}
