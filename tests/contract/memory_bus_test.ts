import { createMemoryBus } from "../../src/bus/mod.ts";
import { runBusContract } from "./bus_contract.ts";

runBusContract("memory", (options) => createMemoryBus(options));
