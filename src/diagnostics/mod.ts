/**
 * Diagnostics of a running server: `POST /debug/profile` (a CPU profile of the next N
 * seconds) and `POST /debug/heap` (a heap snapshot), of the server or, with `target=host`,
 * of its active handler host, one capture at a time, streamed as attachments that Chrome
 * DevTools and speedscope open. The app mounts them only with an admin token or an admin
 * port ({@link isDiagnosticsEnabled}): a heap snapshot holds every secret in the process.
 * @module
 */
export {
  CAPTURE_TARGETS,
  type CaptureTargetName,
  DEFAULT_PROFILE_SECONDS,
  MAX_PROFILE_SECONDS,
} from "./capture_params.ts";
export {
  createDiagnosticsEndpoints,
  DIAGNOSTICS_PATHS,
  type DiagnosticsOptions,
} from "./endpoints.ts";
export { isDiagnosticsEnabled } from "./enabled.ts";
export {
  type CaptureFile,
  type CaptureTarget,
  createServerCaptures,
  ProfilerUnavailableError,
} from "./server_capture.ts";
