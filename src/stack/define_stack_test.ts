import assert from "node:assert/strict";
import { defineStack, isStack, type StackDefinition, validateStack } from "./mod.ts";

const noop = () => undefined;

function invalid(definition: unknown): StackDefinition {
  return definition as StackDefinition;
}

Deno.test("defineStack", async (t) => {
  await t.step("accepts a valid stack and marks it validated", () => {
    const stack = defineStack({
      name: "shop",
      entities: {
        Order: {
          handlers: { Placed: noop },
          append: ["items"],
          views: { newest: { sortBy: "placedAt", order: "desc", take: 10 } },
        },
      },
    });
    assert.equal(stack.validated, true);
    assert.ok(Object.isFrozen(stack));
    assert.equal(isStack(stack), true);
    assert.equal(isStack({ name: "shop", entities: stack.entities }), false);
  });

  await t.step("lists every problem of a definition in one TypeError", () => {
    const definition = invalid({
      name: "bad name!",
      entities: {
        "Bad Entity": { handlers: {} },
        Token: {
          handlers: { Transfer: "not a function" },
          append: ["ok.path", "bad path"],
          views: {
            list: { sortBy: "slot" },
            state: { sortBy: "slot" },
            append: { sortBy: "slot" },
            badSort: { sortBy: "a..b" },
            noSort: {},
            badOrder: { sortBy: "slot", order: "up" },
            zeroTake: { sortBy: "slot", take: 0 },
            hugeTake: { sortBy: "slot", take: 10_001 },
            fractionTake: { sortBy: "slot", take: 1.5 },
          },
        },
      },
    });
    let caught: unknown;
    try {
      defineStack(definition);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof TypeError);
    const message = caught.message;
    const expected = [
      "stack name must match",
      'entity "Bad Entity": name must match',
      'handler "Transfer" is not a function',
      'append path "bad path" is not a dotted field path',
      'view "list": "list" is built in',
      'view "state": "state" is built in',
      'view "append": "append" is built in',
      'view "badSort": sortBy must be a dotted field path',
      'view "noSort": sortBy must be a dotted field path',
      'view "badOrder": order must be "asc" or "desc"',
      'view "zeroTake": take must be an integer 1..10000',
      'view "hugeTake": take must be an integer 1..10000',
      'view "fractionTake": take must be an integer 1..10000',
    ];
    for (const text of expected) {
      assert.ok(message.includes(text), `missing "${text}" in ${message}`);
    }
    assert.equal(validateStack(definition).length, expected.length);
    assert.ok(!message.includes("ok.path"));
  });

  await t.step("rejects a stack without entities, and non-objects", () => {
    assert.deepEqual(validateStack(invalid({ name: "empty", entities: {} })), [
      "stack must declare at least one entity",
    ]);
    assert.deepEqual(validateStack(null), ["stack must be an object { name, entities }"]);
    assert.throws(() => defineStack(invalid({ name: "x" })), TypeError);
  });

  await t.step("rejects a key that is not a function and handlers that are not an object", () => {
    const problems = validateStack({
      name: "s",
      entities: { A: { key: "mint", handlers: noop }, B: null },
    });
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems[0]!, /entity "A": key must be a function/);
    assert.match(problems[1]!, /entity "A": handlers must be an object/);
    assert.match(problems[2]!, /entity "B": must be an object/);
  });
});

Deno.test("stack sources are checked for the shape every kind shares", () => {
  const entities = { Token: { handlers: {} } };
  const ok = defineStack({
    name: "feeds",
    entities,
    sources: [
      { kind: "upstream", name: "mainnet", url: "wss://feed.example" },
      { kind: "replay", file: "events.ndjson", pace: "fast" },
      { kind: "demo", ratePerSecond: 5 },
      { kind: "ingest" },
    ],
  });
  assert.equal(ok.sources?.length, 4);
  const problems = validateStack({
    name: "feeds",
    entities,
    sources: [
      { kind: "upstream", url: "ws://a" },
      { kind: "upstream", url: "ws://b" }, // named "upstream" twice
      { kind: "" },
      "demo",
      { kind: "demo", name: "not a name" },
    ],
  });
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(problems[0]!, /source 1: name "upstream" is used twice/);
  assert.match(problems[1]!, /source 2: kind must be a source kind's name/);
  assert.match(problems[2]!, /source 3: must be an object/);
  assert.match(problems[3]!, /source 4: name must match/);
  assert.deepEqual(validateStack({ name: "s", entities, sources: "demo" }), [
    "sources must be an array of source specs",
  ]);
});

Deno.test("row rules: every problem is named", () => {
  const withRows = (rows: unknown) =>
    validateStack({
      name: "s",
      entities: { Order: { handlers: {}, views: { top: { sortBy: "amount" } }, rows } },
    });
  assert.deepEqual(withRows({ field: "owner", claim: "sub" }), []);
  assert.deepEqual(withRows([{ field: "a.b", claim: "tenant", views: ["list", "top"] }]), []);
  assert.match(withRows("owner").join(), /rows must be a rule/);
  assert.match(
    withRows({ field: "a b", claim: "sub" }).join(),
    /field must be a dotted field path/,
  );
  assert.match(withRows({ field: "owner", claim: "" }).join(), /claim must be a claim name/);
  assert.match(
    withRows({ field: "owner", claim: "sub", views: ["nope"] }).join(),
    /no view "nope"/,
  );
  assert.match(
    withRows({ field: "owner", claim: "sub", views: "list" }).join(),
    /views must be a list/,
  );
  assert.match(
    withRows([{ field: "owner", claim: "sub" }, { field: "team", claim: "team", views: ["list"] }])
      .join(),
    /view "list" already has a rule/,
  );
});
