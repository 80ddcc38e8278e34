import assert from "node:assert/strict";

/**
 * Checks an HTTP error answer against docs/protocol.md §6 (status, JSON content type,
 * `X-Error-Code`, `Cache-Control: no-store`, `error` and `code` equal to `code`, a text
 * `message`) and returns its parsed body for further assertions.
 */
export async function errorBody(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(response.headers.get("x-error-code"), code);
  assert.equal(response.headers.get("cache-control"), "no-store");
  const body = await response.json();
  assert.equal(body.error, code);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, "string");
  return body as Record<string, unknown>;
}
