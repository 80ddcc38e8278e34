// deno-lint-ignore-file no-console -- an example prints what it receives
/**
 * HyperStack's official TypeScript client, unchanged, streaming from Pharos under Deno:
 *
 *   deno task start                       # in one terminal
 *   deno run --allow-net examples/client.ts [ws://127.0.0.1:8877]
 *
 * Prints the `Token/list` snapshot and a few live updates, then the state of one token.
 * @module
 */
import { HyperStack } from "hyperstack-typescript";

const url = Deno.args[0] ?? "ws://127.0.0.1:8877";
const stack = {
  name: "tokens",
  url,
  views: {
    Token: {
      list: { mode: "list", view: "Token/list" },
      state: { mode: "state", view: "Token/state" },
    },
  },
} as const;

const hs = await HyperStack.connect(stack, { url });
let seen = 0;
let key = "";
for await (const update of hs.views.Token.list.watch()) {
  key = update.key;
  console.log(`${update.type} ${update.key}`);
  if (++seen >= 30) break;
}
let states = 0;
for await (const token of hs.views.Token.state.use(key)) {
  console.log(`state of ${key}:`, token);
  if (++states >= 2) break;
}
hs.disconnect();
