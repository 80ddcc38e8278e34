import assert from "node:assert/strict";
import { MAX_VIEW_PATTERN_LENGTH, MAX_VIEW_PATTERNS, ViewGrant } from "./mod.ts";

function grant(patterns: unknown): ViewGrant {
  const parsed = ViewGrant.parse(patterns);
  assert.ok(parsed instanceof ViewGrant, JSON.stringify(parsed));
  return parsed;
}

function problems(patterns: unknown): readonly string[] {
  const parsed = ViewGrant.parse(patterns);
  assert.ok(!(parsed instanceof ViewGrant), `${JSON.stringify(patterns)} should be refused`);
  return parsed.problems;
}

Deno.test("ViewGrant", async (t) => {
  await t.step("* matches any run, nothing else is special", () => {
    const g = grant(["Token/list", "Order/*", "*/top", "Wal*t/st*"]);
    for (const view of ["Token/list", "Order/list", "Order/", "Market/top", "Wallet/state"]) {
      assert.equal(g.allows(view), true, view);
    }
    for (const view of ["Token/state", "token/list", "Token/list2", "XOrder/list", "Wallet/list"]) {
      assert.equal(g.allows(view), false, view);
    }
    assert.equal(grant(["*"]).allows("Anything/at-all"), true);
    assert.equal(ViewGrant.ALL.allows("X/y"), true);
    assert.equal(grant([]).allows("Token/list"), false);
  });

  await t.step("stars in the middle are found in order, never backwards", () => {
    const g = grant(["a*b*c"]);
    assert.equal(g.allows("abc"), true);
    assert.equal(g.allows("a-b-b-c"), true);
    assert.equal(g.allows("acb"), false);
    assert.equal(g.allows("ab"), false);
    // The prefix and suffix may not overlap.
    assert.equal(grant(["ab*ba"]).allows("aba"), false);
    assert.equal(grant(["ab*ba"]).allows("abba"), true);
  });

  await t.step("runs of * are one, duplicates dropped: what /status shows", () => {
    assert.deepEqual(grant(["**", "Order/***", "Order/*"]).patterns, ["*", "Order/*"]);
  });

  await t.step(
    "a hostile pattern is refused, with the reason and no echo past 40 characters",
    () => {
      assert.match(problems("Token/*")[0]!, /array/);
      assert.match(problems([42])[0]!, /not a string/);
      assert.match(problems([""])[0]!, /empty/);
      assert.match(problems(["a".repeat(MAX_VIEW_PATTERN_LENGTH + 1)])[0]!, /longer than/);
      for (
        const odd of [".*", "(a+)+", 'Order/list|"bob"', "Token/top#0:10", "a\u0000", "Tökén/*"]
      ) {
        assert.match(problems([odd])[0]!, /character outside/, odd);
      }
      assert.match(
        problems(Array.from({ length: MAX_VIEW_PATTERNS + 1 }, () => "*"))[0]!,
        /at most 256/,
      );
      const long = problems([`${"x".repeat(100)}!`])[0]!;
      assert.ok(long.length < 140, long);
    },
  );

  await t.step("a pattern of many stars answers, as a backtracking matcher would not", () => {
    // 120 stars against 129 characters: a regular expression of `.*`s backtracks for ages.
    const g = grant([`${"a*".repeat(120)}b`]);
    assert.equal(g.allows("a".repeat(129)), false);
    assert.equal(g.allows(`${"a".repeat(128)}b`), true);
  });
});
