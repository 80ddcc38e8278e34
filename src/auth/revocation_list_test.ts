import assert from "node:assert/strict";
import {
  MAX_REVOCATION_ENTRIES,
  MAX_REVOCATION_ENTRY_CHARS,
  parseRevocationList,
  RevocationList,
} from "./mod.ts";

/** Parsing `text` fails with a message matching `message`. */
async function refuses(text: string, message: RegExp): Promise<void> {
  await assert.rejects(() => parseRevocationList(text), message, text.slice(0, 80));
}

Deno.test("parseRevocationList", async (t) => {
  await t.step("token ids and subjects, each list optional", async () => {
    const list = await parseRevocationList('{"jti":["t-1","t-2"],"sub":["mallory"]}');
    assert.deepEqual(list.size, { jti: 2, sub: 1 });
    assert.equal(list.revokes("t-1", "alice"), true, "by token id");
    assert.equal(list.revokes(undefined, "mallory"), true, "by subject");
    assert.equal(list.revokes("t-3", "alice"), false);
    assert.equal(list.revokes(undefined, undefined), false);
    assert.deepEqual((await parseRevocationList("{}")).size, { jti: 0, sub: 0 });
    assert.deepEqual((await parseRevocationList('{"sub":[]}')).size, { jti: 0, sub: 0 });
  });

  await t.step("a static token's subject is static:<index>", async () => {
    const list = await parseRevocationList('{"sub":["static:1"]}');
    assert.equal(list.revokes(undefined, "static:1"), true);
    assert.equal(list.revokes(undefined, "static:0"), false);
  });

  await t.step("the version names the content, whatever the order or repeats", async () => {
    const a = await parseRevocationList('{"jti":["b","a","a"],"sub":["s"]}');
    const b = await parseRevocationList('{"sub":["s"],"jti":["a","b"]}');
    const c = await parseRevocationList('{"jti":["a"],"sub":["s"]}');
    assert.match(a.version, /^[0-9a-f]{64}$/);
    assert.equal(a.version, b.version);
    assert.notEqual(a.version, c.version);
    assert.equal(a.body, '{"jti":["a","b"],"sub":["s"]}', "sorted, no repeats");
    assert.equal((await parseRevocationList(a.body)).version, a.version, "the body reads back");
    // A token id and a subject with the same text are different entries.
    const moved = await parseRevocationList('{"jti":["s"],"sub":["a","b"]}');
    assert.notEqual(moved.version, a.version);
  });

  await t.step("the empty list nobody read has no version", () => {
    assert.equal(RevocationList.EMPTY.version, "");
    assert.equal(RevocationList.EMPTY.revokes("x", "y"), false);
  });

  await t.step("malformed documents are refused, saying why", async () => {
    await refuses("", /not valid JSON/);
    await refuses('{"jti":["a"]', /not valid JSON/);
    await refuses("null", /not a JSON object/);
    await refuses('["a"]', /not a JSON object/);
    await refuses('"jti"', /not a JSON object/);
    await refuses('{"jti":"a"}', /"jti" is not an array/);
    await refuses('{"sub":{"0":"a"}}', /"sub" is not an array/);
    await refuses('{"jti":null}', /"jti" is not an array/);
    // A misspelt field would otherwise revoke nothing.
    await refuses('{"jtis":["a"]}', /unknown field "jtis"/);
    await refuses('{"jti":[],"__proto__":[]}', /unknown field "__proto__"/);
  });

  await t.step("odd entries are refused: not a string, empty, too long", async () => {
    for (const entry of [42, null, true, ["a"], { id: "a" }, ""]) {
      await refuses(
        JSON.stringify({ jti: ["ok", entry] }),
        /"jti" entry 1 is not a string of 1 to 1024 characters/,
      );
    }
    const longest = "x".repeat(MAX_REVOCATION_ENTRY_CHARS);
    assert.equal((await parseRevocationList(JSON.stringify({ sub: [longest] }))).size.sub, 1);
    await refuses(JSON.stringify({ sub: [`${longest}x`] }), /"sub" entry 0/);
    // Characters that are odd but strings: kept as they are, matched exactly.
    const odd = await parseRevocationList(JSON.stringify({ jti: ["\u0000", "é", "🔑", " a "] }));
    assert.equal(odd.revokes("🔑", undefined), true);
    assert.equal(odd.revokes("a", undefined), false);
  });

  await t.step("a list over the entry limit is refused whole", async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    const full = await parseRevocationList(JSON.stringify({ jti: ids(MAX_REVOCATION_ENTRIES) }));
    assert.equal(full.size.jti, MAX_REVOCATION_ENTRIES);
    await refuses(
      JSON.stringify({ jti: ids(MAX_REVOCATION_ENTRIES + 1) }),
      /"jti" has 100001 entries, over 100000/,
    );
  });
});
