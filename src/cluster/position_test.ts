import assert from "node:assert/strict";
import { compareIds } from "./position.ts";

Deno.test("stream ids compare as numbers, milliseconds first", () => {
  assert.equal(compareIds("0-0", "0-0"), 0);
  assert.equal(compareIds("9-5", "10-0"), -1, "not as text");
  assert.equal(compareIds("1796425835775-10", "1796425835775-9"), 1);
  assert.equal(compareIds("1796425835776-0", "1796425835775-99"), 1);
});
