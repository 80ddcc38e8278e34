/**
 * Typed telemetry facades, one per component. Components record what happens through
 * these and never import OpenTelemetry themselves; the OTel-backed implementation plugs
 * in behind the same interfaces, and tests pass a recording one.
 */

/** WebSocket server and session events. */
export interface WsTelemetry {
  connectionOpened(): void;
  connectionClosed(durationSeconds: number): void;
  framesSent(count: number): void;
  messageReceived(): void;
  /** A protocol or socket error on a connection (`kind` is a bounded label). */
  connectionError(kind: string): void;
  /** An upgrade refused before it became a connection (`code` as in PROTOCOL.md §6). */
  handshakeRejected(code: string): void;
  slowConsumerDropped(): void;
  subscriptionCreated(view: string): void;
  subscriptionRemoved(view: string): void;
  unknownView(): void;
}

/** Projector events. */
export interface ProjectorTelemetry {
  mutationsProcessed(entity: string, count: number): void;
  framePublished(mode: string, entity: string): void;
  batchDone(seconds: number): void;
  viewCacheEviction(entity: string): void;
  viewError(view: string): void;
}

/** VM (stack handler) events. */
export interface VmTelemetry {
  stateTableEviction(entity: string): void;
  stateTableAtCapacity(entity: string, atCapacity: boolean): void;
  pathCacheHit(): void;
  pathCacheMiss(): void;
  handlerError(entity: string, code: string): void;
  handlerCancelled(entity: string): void;
  handlerDuration(entity: string, handler: string, seconds: number): void;
}

/** Upstream source events. */
export interface SourceTelemetry {
  eventReceived(source: string): void;
}

/** All facades together, as handed to `createApp`. */
export interface Telemetry {
  readonly ws: WsTelemetry;
  readonly projector: ProjectorTelemetry;
  readonly vm: VmTelemetry;
  readonly sources: SourceTelemetry;
}

const noop = (): void => {};

/** Telemetry that records nothing. */
export const noopTelemetry: Telemetry = Object.freeze({
  ws: Object.freeze({
    connectionOpened: noop,
    connectionClosed: noop,
    framesSent: noop,
    messageReceived: noop,
    connectionError: noop,
    handshakeRejected: noop,
    slowConsumerDropped: noop,
    subscriptionCreated: noop,
    subscriptionRemoved: noop,
    unknownView: noop,
  }),
  projector: Object.freeze({
    mutationsProcessed: noop,
    framePublished: noop,
    batchDone: noop,
    viewCacheEviction: noop,
    viewError: noop,
  }),
  vm: Object.freeze({
    stateTableEviction: noop,
    stateTableAtCapacity: noop,
    pathCacheHit: noop,
    pathCacheMiss: noop,
    handlerError: noop,
    handlerCancelled: noop,
    handlerDuration: noop,
  }),
  sources: Object.freeze({ eventReceived: noop }),
});
