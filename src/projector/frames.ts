import type { ViewMode } from "../bus/mod.ts";

const encoder = new TextEncoder();

/**
 * Builds a `patch` frame (PROTOCOL.md §3) from already-serialised data: the projector
 * serialises a mutation's data once and reuses it for the list, state and append views.
 */
export function encodePatchFrame(
  mode: ViewMode,
  view: string,
  key: string,
  dataJson: string,
  append: readonly string[],
  seq: string | undefined,
): Uint8Array {
  const appendPart = append.length > 0 ? `,"append":${JSON.stringify(append)}` : "";
  const seqPart = seq === undefined ? "" : `,"seq":${JSON.stringify(seq)}`;
  return encoder.encode(
    `{"mode":"${mode}","entity":${JSON.stringify(view)},"op":"patch","key":${
      JSON.stringify(key)
    },"data":${dataJson}${appendPart}${seqPart}}`,
  );
}

/** Builds an `upsert` frame of a derived view, carrying the full entity. */
export function encodeUpsertFrame(view: string, key: string, data: unknown): Uint8Array {
  return encoder.encode(
    `{"mode":"list","entity":${JSON.stringify(view)},"op":"upsert","key":${
      JSON.stringify(key)
    },"data":${JSON.stringify(data)}}`,
  );
}

/** Builds a `delete` frame of a derived view, for a key that left the window. */
export function encodeDeleteFrame(view: string, key: string): Uint8Array {
  return encoder.encode(
    `{"mode":"list","entity":${JSON.stringify(view)},"op":"delete","key":${
      JSON.stringify(key)
    },"data":null}`,
  );
}
