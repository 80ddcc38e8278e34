import { nonNegativeInteger, type SourceKind } from "../kind.ts";
import { createDemoSource } from "./demo_source.ts";
import { DEMO_DEFAULTS, type DemoOptions } from "./options.ts";

/** `{ kind: "demo", ratePerSecond?, keys? }`: generated `Transfer` events. */
export const demoKind: SourceKind<"demo", DemoOptions> = {
  kind: "demo",
  singleton: true,
  unique: false,
  options: [
    {
      field: "ratePerSecond",
      env: "PHAROS_DEMO_RATE",
      flag: "demo-rate",
      type: { kind: "int", min: 0, max: 1_000_000 },
      description: "Events per second from the demo source (0 = paused)",
    },
    {
      field: "keys",
      env: "PHAROS_DEMO_KEYS",
      flag: "demo-keys",
      type: { kind: "int", min: 1, max: 1_000_000 },
      description: "Distinct mints the demo source cycles through",
    },
  ],
  defaults: DEMO_DEFAULTS,
  optionProblems: () => [],
  specOf: () => ({}),
  specProblems: (spec, at) => [
    ...nonNegativeInteger(spec.ratePerSecond, `${at}: ratePerSecond`),
    ...nonNegativeInteger(spec.keys, `${at}: keys`),
  ],
  create: (spec, options, { name, clock, log }) => ({
    source: createDemoSource({
      name,
      clock,
      log,
      ratePerSecond: (spec.ratePerSecond as number | undefined) ?? options.ratePerSecond,
      keys: (spec.keys as number | undefined) ?? options.keys,
    }),
  }),
};
