import type { ViewMode } from "../bus/mod.ts";
import { dataFrameHead, deleteFrameText } from "../protocol/mod.ts";

const encoder = new TextEncoder();

/** Encodes one view's patch frames; see {@link createPatchFrameEncoder}. */
export type PatchFrameEncoder = (
  key: string,
  dataJson: string,
  append: readonly string[],
  seq: string | undefined,
) => Uint8Array;

/**
 * A `patch` frame encoder (docs/protocol.md §3) for one view, from already-serialised data: the
 * projector serialises a mutation's data once and reuses it for the list, state and
 * append views. The frame's fixed head is built once per view, and the `append` list's
 * JSON once per distinct list (the VM hands the same array for the same paths).
 */
export function createPatchFrameEncoder(mode: ViewMode, view: string): PatchFrameEncoder {
  const head = `${dataFrameHead(mode, view, "patch")},"key":`;
  let lastAppend: readonly string[] | undefined;
  let lastAppendPart = "";
  return (key, dataJson, append, seq) => {
    if (append !== lastAppend) {
      lastAppend = append;
      lastAppendPart = append.length > 0 ? `,"append":${JSON.stringify(append)}` : "";
    }
    const seqPart = seq === undefined ? "" : `,"seq":${JSON.stringify(seq)}`;
    return encoder.encode(
      `${head}${JSON.stringify(key)},"data":${dataJson}${lastAppendPart}${seqPart}}`,
    );
  };
}

/** Builds one `patch` frame (see {@link createPatchFrameEncoder}). */
export function encodePatchFrame(
  mode: ViewMode,
  view: string,
  key: string,
  dataJson: string,
  append: readonly string[],
  seq: string | undefined,
): Uint8Array {
  return createPatchFrameEncoder(mode, view)(key, dataJson, append, seq);
}

/**
 * Builds an `upsert` frame carrying the whole entity: a derived view's key that entered its
 * window, or a row that entered a client's row group (`mode` then the view's own).
 */
export function encodeUpsertFrame(
  view: string,
  key: string,
  data: unknown,
  mode: ViewMode = "list",
): Uint8Array {
  return encoder.encode(
    `${dataFrameHead(mode, view, "upsert")},"key":${JSON.stringify(key)},"data":${
      JSON.stringify(data)
    }}`,
  );
}

/** Builds a `delete` frame: a key that left a derived window, or a row that left a group. */
export function encodeDeleteFrame(view: string, key: string, mode: ViewMode = "list"): Uint8Array {
  return encoder.encode(deleteFrameText(mode, view, key));
}
