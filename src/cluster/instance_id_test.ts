import assert from "node:assert/strict";
import { CLUSTER_DEFAULTS } from "../config/mod.ts";
import { clusterInstanceId } from "./instance_id.ts";

Deno.test("clusterInstanceId", async (t) => {
  const taken: string[] = [];
  const ids = {
    next() {
      const id = `${taken.length}abcdef-1234`;
      taken.push(id);
      return id;
    },
  };

  await t.step("the configured PHAROS_INSTANCE_ID, taking no id", () => {
    assert.equal(
      clusterInstanceId({ ...CLUSTER_DEFAULTS, instanceId: "pharos-a" }, ids),
      "pharos-a",
    );
    assert.deepEqual(taken, []);
  });

  await t.step("without one: pharos-<pid>-<the first 6 characters of a new id>", () => {
    assert.equal(clusterInstanceId(CLUSTER_DEFAULTS, ids), `pharos-${Deno.pid}-0abcde`);
    assert.equal(clusterInstanceId(CLUSTER_DEFAULTS, ids), `pharos-${Deno.pid}-1abcde`);
    assert.equal(taken.length, 2);
  });
});
