import type { Logger } from "../log/mod.ts";
import type { Stack } from "../stack/mod.ts";
import type { VmTelemetry } from "../telemetry/mod.ts";
import {
  createStateTables,
  decodeRaw,
  encodeRaw,
  type StateTables,
  type Vm,
  wireOfEncoded,
} from "../vm/mod.ts";
import type { HostProcess } from "./host_process.ts";

/** Options for {@link createHostedTables}. */
export interface HostedTablesOptions {
  readonly stack: Stack;
  readonly telemetry: VmTelemetry;
  /** `pharos.vm`. */
  readonly log: Logger;
  readonly stateTableSize: number;
}

/**
 * The server's authoritative state tables beside the handler hosts, with the VM's state
 * methods over them, and the seed that gives a new host the same entries.
 */
export interface HostedTables extends Pick<Vm, "state" | "seed" | "exportState" | "importState"> {
  readonly tables: StateTables;
  /** Whether `host` holds the tables as they are: seeded since they were last replaced whole. */
  isSeeded(host: HostProcess): boolean;
  /** Sends every entry to `host`, replacing its tables. */
  seedHost(host: HostProcess): Promise<void>;
}

/** Creates empty tables. */
export function createHostedTables(options: HostedTablesOptions): HostedTables {
  const { log } = options;
  // The tables hold state as the host encodes it (bigints as tagged strings): patches merge
  // without decoding, and a new host is seeded with the entries as they are.
  const tables = createStateTables({
    stack: options.stack,
    telemetry: options.telemetry,
    stateTableSize: options.stateTableSize,
    toWire: wireOfEncoded,
  });
  /** Bumped when the tables are replaced whole: hosts seeded before must be seeded again. */
  let generation = 0;

  return {
    tables,
    isSeeded: (host) => host.seeded === generation,
    async seedHost(host) {
      const seeded: Record<string, (readonly [string, unknown])[]> = {};
      let entries = 0;
      for (const runtime of tables.entities) {
        seeded[runtime.name] = [...runtime.table.entries()];
        entries += seeded[runtime.name]!.length;
      }
      await host.send({ t: "seed", tables: seeded });
      host.seeded = generation;
      log.debug("Handler host {pid} seeded with {entries} entries", { pid: host.pid, entries });
    },
    state(entity, key) {
      const state = tables.runtime(entity)?.table.get(key);
      // A decoded copy: the table's own entry stays encoded.
      return state === undefined
        ? undefined
        : decodeRaw(JSON.parse(JSON.stringify(state))) as Record<string, unknown>;
    },
    seed(entity, key, state) {
      tables.runtime(entity)?.table.set(key, encodeRaw(state) as Record<string, unknown>);
    },
    // The tables already hold the host's encoding, which is the checkpoint's too.
    exportState: () => tables.exportState((state) => state),
    importState(state) {
      tables.importState(state, (encoded) => encoded as Record<string, unknown>);
      generation++;
    },
  };
}
