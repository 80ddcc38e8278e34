import type { SnapshotEntity, ViewInfo } from "../bus/mod.ts";
import { isSeq } from "../stack/mod.ts";
import { dataFrameHead, subscribedFrameHead } from "../protocol/mod.ts";

/** A client message the server could not accept; the socket stays open. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  /** Bounded label for metrics (`invalid-json`, `invalid-field`, …). */
  readonly kind: string;

  constructor(kind: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

/** A subscribe request (also the legacy bare `{"view":…}` form). */
export interface SubscribeMessage {
  readonly type: "subscribe";
  readonly view: string;
  readonly key?: string;
  readonly take?: number;
  readonly skip?: number;
  readonly withSnapshot?: boolean;
  readonly after?: string;
  readonly snapshotLimit?: number;
}

/** Every client message Pharos understands. */
export type ClientMessage =
  | SubscribeMessage
  | { readonly type: "unsubscribe"; readonly view: string; readonly key?: string }
  | { readonly type: "ping" }
  | { readonly type: "refresh_auth"; readonly token: string };

/** Largest `take`, `skip` or `snapshotLimit` accepted. */
export const MAX_WINDOW = 100_000;

type Raw = Record<string, unknown>;

function field<T>(
  raw: Raw,
  name: string,
  check: (v: unknown) => v is T,
  expected: string,
): T | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (!check(value)) {
    throw new ProtocolError(
      "invalid-field",
      `Cannot decode message: field "${name}" must be ${expected}`,
    );
  }
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isCount = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_WINDOW;
const isName = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && v.length <= 256 && !v.includes(":");

function viewAndKey(raw: Raw): { view: string; key?: string } {
  const view = raw.view;
  if (view === undefined) {
    throw new ProtocolError("invalid-field", 'Cannot decode message: field "view" is missing');
  }
  if (!isName(view)) {
    throw new ProtocolError(
      "invalid-field",
      'Cannot decode message: field "view" must be a non-empty string without ":"',
    );
  }
  const key = field(raw, "key", isName, 'a non-empty string without ":"');
  return key === undefined ? { view } : { view, key };
}

function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  for (const [name, value] of Object.entries(extra)) {
    if (value !== undefined) (base as Record<string, unknown>)[name] = value;
  }
  return base;
}

/**
 * Decodes one text message from a client. Unknown fields (`partition`, `filters`, …) are
 * ignored; wrong types throw {@link ProtocolError} naming the field.
 */
export function parseClientMessage(text: string): ClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError("invalid-json", "Cannot decode message: not valid JSON", {
      cause: error,
    });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ProtocolError("invalid-message", "Cannot decode message: expected a JSON object");
  }
  const message = raw as Raw;
  const type = message.type ?? (message.view !== undefined ? "subscribe" : undefined);
  switch (type) {
    case "subscribe": {
      const after = field(message, "after", isString, "a _seq cursor string");
      if (after !== undefined && !isSeq(after)) {
        throw new ProtocolError(
          "invalid-field",
          'Cannot decode message: field "after" is not a "<slot>:<index>" cursor',
        );
      }
      return withOptional({ type: "subscribe", ...viewAndKey(message) } as SubscribeMessage, {
        take: field(message, "take", isCount, `an integer 0..${MAX_WINDOW}`),
        skip: field(message, "skip", isCount, `an integer 0..${MAX_WINDOW}`),
        withSnapshot: field(message, "withSnapshot", isBool, "a boolean"),
        after,
        snapshotLimit: field(message, "snapshotLimit", isCount, `an integer 0..${MAX_WINDOW}`),
      });
    }
    case "unsubscribe":
      return { type: "unsubscribe", ...viewAndKey(message) };
    case "ping":
      return { type: "ping" };
    case "refresh_auth": {
      const token = field(message, "token", isString, "a string");
      if (token === undefined) {
        throw new ProtocolError("invalid-field", 'Cannot decode message: field "token" is missing');
      }
      return { type: "refresh_auth", token };
    }
    default:
      throw new ProtocolError(
        "unknown-type",
        `Cannot decode message: unknown type ${JSON.stringify(String(type)).slice(0, 40)}`,
      );
  }
}

const encoder = new TextEncoder();

/** The `subscribed` acknowledgement (binary data frame). */
export function encodeSubscribedFrame(info: ViewInfo): Uint8Array {
  const sort = info.sort === undefined ? "" : `,"sort":${JSON.stringify(info.sort)}`;
  return encoder.encode(`${subscribedFrameHead(info.id, info.mode)}${sort}}`);
}

/** First snapshot batch size; later batches are {@link SNAPSHOT_BATCH}. */
export const FIRST_SNAPSHOT_BATCH = 50;
/** Size of every snapshot batch after the first. */
export const SNAPSHOT_BATCH = 100;
/** Snapshot batches at least this many bytes are gzipped when that makes them smaller. */
export const GZIP_THRESHOLD_BYTES = 1024;

/**
 * Splits a snapshot into batches of 50, then 100, with `complete` only on the last, and
 * encodes each as JSON bytes. Must run synchronously at subscribe time: the entities are
 * live cache objects. No entities gives no batch.
 */
export function encodeSnapshotBatches(
  info: ViewInfo,
  entities: readonly SnapshotEntity[],
): Uint8Array[] {
  const batches: Uint8Array[] = [];
  const head = dataFrameHead(info.mode, info.id, "snapshot");
  let start = 0;
  while (start < entities.length) {
    const size = start === 0 ? FIRST_SNAPSHOT_BATCH : SNAPSHOT_BATCH;
    const slice = entities.slice(start, start + size);
    start += slice.length;
    batches.push(encoder.encode(
      `${head},"data":${JSON.stringify(slice)},"complete":${start >= entities.length}}`,
    ));
  }
  return batches;
}

/** Gzips `bytes` when they reach the threshold and gzip is smaller; otherwise returns them. */
export async function maybeGzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.length < GZIP_THRESHOLD_BYTES) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  const gz = new Uint8Array(await new Response(stream).arrayBuffer());
  return gz.length < bytes.length ? gz : bytes;
}

/** An in-session error frame (text), docs/protocol.md §6. */
export interface ErrorFrame {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly fatal: boolean;
}

/** Encodes an error frame as the text the client expects. */
export function encodeErrorFrame(frame: ErrorFrame): string {
  return JSON.stringify({
    type: "error",
    error: frame.code,
    message: frame.message,
    code: frame.code,
    retryable: frame.retryable,
    fatal: frame.fatal,
  });
}
