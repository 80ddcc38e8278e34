import { createDemoSource } from "../../src/sources/mod.ts";
import { FakeClock } from "../fakes/fake_clock.ts";
import { nextTurn } from "../wait.ts";
import { runSourceContract } from "./source_contract.ts";

// 200 events per second on a fake clock: the contract moves it on 100 ms at a time.
runSourceContract("demo", () => {
  const clock = new FakeClock();
  return {
    production: "own",
    delivery: "sink",
    supportsResume: false,
    unsupported: {
      breakUpstream: "demo generates its events in-process: there is no upstream to lose",
      resume: "demo keeps no position: its slots come from the wall clock, so they keep " +
        "increasing across restarts without a cursor",
    },
    create: () => createDemoSource({ clock, ratePerSecond: 200, keys: 5 }),
    async advance() {
      clock.advance(100);
      await nextTurn(); // the events that fell due reach the sink
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
});
