import { getLogger } from "../../src/log/mod.ts";
import { createReplaySource } from "../../src/sources/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { runSourceContract } from "./source_contract.ts";

runSourceContract("replay", async () => {
  const path = await Deno.makeTempFile({
    dir: "/tmp",
    prefix: "pharos-contract-replay-",
    suffix: ".ndjson",
  });
  return {
    production: "recorded",
    delivery: "sink",
    supportsResume: true,
    create: (resumeFrom) =>
      createReplaySource({
        file: path,
        pace: "fast",
        clock: systemClock,
        log: getLogger(["pharos", "test", "contract", "replay"]),
        ...(resumeFrom === undefined ? {} : { resumeFrom }),
      }),
    /** Appends the events to the recording, one NDJSON line each. */
    produce: (events) =>
      Deno.writeTextFile(path, events.map((event) => `${JSON.stringify(event)}\n`).join(""), {
        append: true,
      }),
    /** Deletes the recording: the next start() cannot open it. */
    breakUpstream: () => Deno.remove(path),
    async [Symbol.asyncDispose]() {
      await Deno.remove(path).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    },
  };
});
