/** The body is over the byte limit. */
export class BodyTooLargeError extends RangeError {
  override readonly name = "BodyTooLargeError";
}

/** What carries a body: a `Request` or a `Response`. */
export type BodyCarrier = Pick<Request, "headers" | "body">;

/**
 * Reads a request (or response) body of at most `maxBytes`: refuses at once when `Content-Length` says
 * more, and otherwise counts bytes as they arrive and stops one chunk past the limit, so
 * a body without a length (or lying about it) never costs more than `maxBytes` + a chunk.
 * Throws {@link BodyTooLargeError} beyond the limit, `TypeError` when the body is not UTF-8.
 */
export async function readBoundedText(
  request: BodyCarrier,
  maxBytes: number,
): Promise<string> {
  return toText(await readBoundedBytes(request, maxBytes));
}

/** The bytes of a request body of at most `maxBytes`, as {@link readBoundedText} reads them. */
export async function readBoundedBytes(
  request: BodyCarrier,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    await request.body?.cancel();
    throw new BodyTooLargeError(`The body is over ${maxBytes} bytes`);
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(`The body is over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Decodes UTF-8 strictly; throws a `TypeError` for anything else. */
export function toText(bytes: BufferSource): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new TypeError("Cannot decode the body: it is not UTF-8", { cause: error });
  }
}
