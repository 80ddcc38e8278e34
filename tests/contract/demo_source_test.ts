import { createDemoSource } from "../../src/sources/mod.ts";
import { systemClock } from "../../src/util/mod.ts";
import { runSourceContract } from "./source_contract.ts";

// Real time at 200 events per second: the contract waits in real time for what it checks.
runSourceContract("demo", () => ({
  production: "own",
  delivery: "sink",
  supportsResume: false,
  unsupported: {
    breakUpstream: "demo generates its events in-process: there is no upstream to lose",
    resume: "demo keeps no position: its slots come from the wall clock, so they keep " +
      "increasing across restarts without a cursor",
  },
  create: () => createDemoSource({ clock: systemClock, ratePerSecond: 200, keys: 5 }),
  [Symbol.asyncDispose]: () => Promise.resolve(),
}));
