/**
 * The wire protocol: frame codec, sessions with bounded queues, subscriptions, limits, the upgrade.
 * @module
 */
export {
  type Access,
  Admission,
  type AdmissionLimit,
  type AdmissionLimits,
  type Admitted,
  ipOf,
  NO_ADMISSION_LIMITS,
  OPEN_ACCESS,
  type Refreshed,
  type Refusal,
  type Slot,
} from "./admission.ts";
export {
  type ClientMessage,
  encodeErrorFrame,
  encodeSnapshotBatches,
  encodeSubscribedFrame,
  type ErrorFrame,
  FIRST_SNAPSHOT_BATCH,
  GZIP_THRESHOLD_BYTES,
  MAX_WINDOW,
  maybeGzip,
  parseClientMessage,
  ProtocolError,
  SNAPSHOT_BATCH,
  type SubscribeMessage,
} from "./codec.ts";
export { type SocketEvents, upgradeToSocket } from "./deno_socket.ts";
export {
  createWsServer,
  DEFAULT_SESSION_LIMITS,
  type WsServer,
  type WsServerOptions,
  type WsStatus,
} from "./server.ts";
export {
  createSendScheduler,
  type Pumpable,
  type SendScheduler,
  type SendSchedulerOptions,
} from "./send_scheduler.ts";
export { Session, type SessionLimits, type SessionOptions } from "./session.ts";
export type { Transport } from "./transport.ts";
export type { Authorize, Upgrader } from "./upgrade.ts";
