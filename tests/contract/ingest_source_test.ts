import { getLogger } from "../../src/log/mod.ts";
import { createIngestSource, type IngestSource } from "../../src/sources/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { runSourceContract } from "./source_contract.ts";

const TOKEN = "contract-ingest-token";

/** Answers a producer may get from a running or stopped ingest source without a test bug. */
const EXPECTED = new Set([202, 503]);

runSourceContract("ingest", () => {
  let latest: IngestSource | undefined;
  return {
    production: "live",
    delivery: "offer",
    supportsResume: false,
    unsupported: {
      breakUpstream: "ingest has no upstream of its own: producers connect to it, and their " +
        "failures are answered per request",
      resume: "ingest keeps no position: a producer resends what was not acknowledged (202)",
    },
    create() {
      latest = createIngestSource({
        token: TOKEN,
        maxBodyBytes: 64 * 1024,
        clock: systemClock,
        log: getLogger(["pharos", "test", "contract", "ingest"]),
        // The contract posts; a WebSocket upgrade is never asked for.
        upgrade: () => new Response("no upgrades in the contract", { status: 501 }),
      });
      return latest;
    },
    /** One POST of NDJSON to the instance created last: one batch. */
    async produce(events) {
      if (latest === undefined) throw new Error("produce() before create()");
      const response = await latest.handle(
        new Request("http://127.0.0.1/ingest", {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-ndjson" },
          body: events.map((event) => JSON.stringify(event)).join("\n"),
        }),
        "127.0.0.1:40000",
      );
      const text = await response.text();
      if (!EXPECTED.has(response.status)) {
        throw new Error(`The ingest source answered ${response.status}: ${text}`);
      }
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
});
