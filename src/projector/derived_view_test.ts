import { createTestProjector } from "../../tests/fakes/test_projector.ts";
import assert from "node:assert/strict";
import { type Bus } from "../bus/mod.ts";
import { defineStack } from "../stack/mod.ts";

const stack = defineStack({
  name: "test",
  entities: {
    Token: {
      handlers: {},
      views: {
        top: { sortBy: "stats.score", order: "desc", take: 2 },
        low: { sortBy: "stats.score" }, // asc by default
      },
    },
  },
});

function setup(cacheSize = 500) {
  const { telemetry, bus, projector } = createTestProjector(stack, { cacheSize });
  /** Applies one change to `key` now. */
  const change = (key: string, patch: Record<string, unknown>) => {
    projector.apply([{ entity: "Token", key, patch, append: [] }]);
  };
  const score = (key: string, value: unknown) => change(key, { stats: { score: value } });
  return { bus, projector, change, score, telemetry };
}

/** Opens a window and records the frames published on its topic. */
function watch(
  bus: Bus,
  projector: ReturnType<typeof setup>["projector"],
  view: string,
  skip: number,
  take: number,
) {
  const window = projector.directory.openWindow(view, { skip, take });
  const texts: string[] = [];
  const subscription = bus.subscribe(
    window.topic,
    (m) => texts.push(new TextDecoder().decode(m.bytes)),
  );
  return {
    window,
    texts,
    /** Frames since the last call, as `op key` strings. */
    take(): string[] {
      const ops = texts.splice(0).map((text) => {
        const frame = JSON.parse(text);
        return `${frame.op} ${frame.key}`;
      });
      return ops;
    },
    keys: () => window.snapshot().map((entity) => entity.key),
    [Symbol.dispose]() {
      subscription[Symbol.dispose]();
      window[Symbol.dispose]();
    },
  };
}

Deno.test("derived sorted views", async (t) => {
  await t.step("a key leaving the window gets delete (data null), entering keys get upsert", () => {
    const { bus, projector, score } = setup();
    using top = watch(bus, projector, "Token/top", 0, 2);
    score("a", 1);
    assert.deepEqual(top.take(), ["upsert a"]);
    score("b", 3);
    assert.deepEqual(top.take(), ["upsert b"]);
    assert.deepEqual(top.keys(), ["b", "a"]);
    score("c", 2);
    assert.deepEqual(top.take(), ["delete a", "upsert c"]);
    assert.deepEqual(top.keys(), ["b", "c"]);
    score("a", 5);
    assert.deepEqual(top.take(), ["delete c", "upsert a"]);
    assert.deepEqual(top.keys(), ["a", "b"]);
    score("c", 0); // changes outside the window send nothing
    assert.deepEqual(top.take(), []);
  });

  await t.step("window frames are counted as published list frames of the entity", () => {
    const { bus, projector, score, telemetry } = setup();
    using _top = watch(bus, projector, "Token/top", 0, 1);
    score("a", 1); // upsert a
    score("b", 2); // delete a, upsert b
    assert.equal(telemetry.count("projector.framePublished", "list", "Token"), 3);
  });

  await t.step("delete and upsert frames are exact; upsert carries the full entity", () => {
    const { bus, projector, change, score } = setup();
    using top = watch(bus, projector, "Token/top", 0, 1);
    change("a", { name: "Alpha", stats: { score: 1, extra: true } });
    score("b", 2);
    assert.deepEqual(top.texts, [
      '{"mode":"list","entity":"Token/top","op":"upsert","key":"a","data":{"name":"Alpha","stats":{"score":1,"extra":true}}}',
      '{"mode":"list","entity":"Token/top","op":"delete","key":"a","data":null}',
      '{"mode":"list","entity":"Token/top","op":"upsert","key":"b","data":{"stats":{"score":2}}}',
    ]);
  });

  await t.step("an update without the sort field keeps its previous sort value", () => {
    const { bus, projector, change, score } = setup();
    using top = watch(bus, projector, "Token/top", 0, 2);
    score("a", 10);
    score("b", 5);
    score("c", 1);
    top.take();
    change("a", { name: "renamed" });
    assert.deepEqual(top.keys(), ["a", "b"]);
    assert.deepEqual(top.take(), ["upsert a"], "the changed key in the window is re-sent");
    assert.deepEqual(top.window.snapshot()[0]?.data, { stats: { score: 10 }, name: "renamed" });
  });

  await t.step("ascending order, ties broken by key ascending in both orders", () => {
    const { bus, projector, score } = setup();
    using low = watch(bus, projector, "Token/low", 0, 10);
    using top = watch(bus, projector, "Token/top", 0, 10);
    for (const [key, value] of [["d", 2], ["b", 1], ["c", 2], ["a", 2], ["e", 0]] as const) {
      score(key, value);
    }
    assert.deepEqual(low.keys(), ["e", "b", "a", "c", "d"]);
    assert.deepEqual(top.keys(), ["a", "c", "d", "b", "e"]);
  });

  await t.step("value types sort null < bool < number < string; missing counts as null", () => {
    const { bus, projector, change, score } = setup();
    using low = watch(bus, projector, "Token/low", 0, 10);
    score("str", "abc");
    score("num", 7);
    score("neg", -3);
    score("bool", true);
    score("nul", null);
    change("missing", { other: 1 });
    assert.deepEqual(low.keys(), ["missing", "nul", "bool", "neg", "num", "str"]);
  });

  await t.step("skip/take select a window further down the order", () => {
    const { bus, projector, score } = setup();
    using page = watch(bus, projector, "Token/top", 1, 2);
    score("a", 1);
    assert.deepEqual(page.take(), [], "a is at position 0, before the window");
    score("b", 2);
    assert.deepEqual(page.take(), ["upsert a"]);
    score("c", 3);
    assert.deepEqual(page.take(), ["upsert b"]);
    assert.deepEqual(page.keys(), ["b", "a"]);
    score("d", 4);
    assert.deepEqual(page.take(), ["delete a", "upsert c"]);
    assert.deepEqual(page.keys(), ["c", "b"]);
  });

  await t.step("sessions with the same window share one topic until the last closes", () => {
    const { bus, projector, score } = setup();
    const first = projector.directory.openWindow("Token/top", { skip: 0, take: 2 });
    const second = projector.directory.openWindow("Token/top", { skip: 0, take: 2 });
    const other = projector.directory.openWindow("Token/top", { skip: 0, take: 3 });
    assert.equal(first.topic, second.topic);
    assert.notEqual(first.topic, other.topic);
    const published: string[] = [];
    using _ = bus.subscribe(first.topic, (m) => published.push(m.key));
    score("a", 1);
    assert.deepEqual(published, ["a"], "one frame per change for the shared window");
    first[Symbol.dispose]();
    first[Symbol.dispose](); // idempotent: must not release the second holder's reference
    score("b", 2);
    assert.deepEqual(published, ["a", "b"], "still open while the second holder has it");
    second[Symbol.dispose]();
    score("c", 3);
    assert.deepEqual(published, ["a", "b"], "closed once the last holder disposed it");
    other[Symbol.dispose]();
  });

  await t.step("an entity evicted from the view cache leaves the window", () => {
    const { bus, projector, score } = setup(2);
    using top = watch(bus, projector, "Token/top", 0, 2);
    score("a", 10);
    score("b", 5);
    top.take();
    score("c", 1); // evicts "a", the least recently written
    assert.deepEqual(top.take(), ["delete a", "upsert c"]);
    assert.deepEqual(top.keys(), ["b", "c"]);
  });
});
