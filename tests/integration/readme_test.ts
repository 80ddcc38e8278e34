import assert from "node:assert/strict";
import { describeDefault, OPTIONS } from "../../src/config/mod.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

Deno.test("README's configuration table lists every option with its flag and default", () => {
  const rows = new Map(
    README.split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => [line.split("|")[1]!.trim().split(" ")[0]!.replaceAll("`", ""), line]),
  );
  for (const option of OPTIONS) {
    const row = rows.get(option.env);
    assert.ok(row, `README lacks a row for ${option.env}`);
    assert.ok(row.includes(`\`--${option.flag}\``), `${option.env} row lacks --${option.flag}`);
    const shown = describeDefault(option);
    if (option.fallbackEnv !== undefined) {
      assert.ok(row.includes(`\`${option.fallbackEnv}\``), `${option.env} row lacks its fallback`);
    }
    assert.ok(row.includes(shown), `${option.env} row should show default ${shown}: ${row}`);
  }
});
