/** A view's mode as frames carry it. */
export type FrameMode = "list" | "state" | "append";

/** The server's data-frame operations (docs/protocol.md §3). */
export type DataOp = "patch" | "upsert" | "delete" | "snapshot";

/**
 * The fixed head every data frame starts with, `{"mode":…,"entity":…,"op":…`, left open
 * for the frame's own fields. Built once per view by the encoders that reuse it.
 */
export function dataFrameHead(mode: FrameMode, view: string, op: DataOp): string {
  return `{"mode":"${mode}","entity":${JSON.stringify(view)},"op":"${op}"`;
}

/** A `delete` frame: a key that left a derived window, or a row that left a client's rows. */
export function deleteFrameText(mode: FrameMode, view: string, key: string): string {
  return `${dataFrameHead(mode, view, "delete")},"key":${JSON.stringify(key)},"data":null}`;
}

/** The head of a `subscribed` frame for `view` in `mode`, left open for its `sort`. */
export function subscribedFrameHead(view: string, mode: FrameMode): string {
  return `{"op":"subscribed","view":${JSON.stringify(view)},"mode":"${mode}"`;
}
