import type { ProjectorState } from "../projector/mod.ts";
import type { VmState } from "../vm/mod.ts";

/** What a checkpoint's `state` holds: the VM's tables and the projector's view caches. */
interface CheckpointState {
  readonly v: 1;
  readonly vm: VmState;
  readonly views: ProjectorState;
}

/** The parts of the server whose state a checkpoint holds. */
export interface StateHolders {
  readonly vm: { exportState(): VmState; importState(state: VmState): void };
  readonly projector: {
    exportState(): ProjectorState;
    importState(state: ProjectorState): void;
  };
}

/** The checkpoint text of the state now (call with the pipeline quiet). */
export function exportState({ vm, projector }: StateHolders): string {
  const state: CheckpointState = { v: 1, vm: vm.exportState(), views: projector.exportState() };
  return JSON.stringify(state);
}

/** An empty state, as a new log's first checkpoint. */
export const EMPTY_STATE = JSON.stringify(
  {
    v: 1,
    vm: { tables: {}, seq: { slot: null, next: 0 } },
    views: {},
  } satisfies CheckpointState,
);

/** Replaces the state with a checkpoint's; throws a `TypeError` for text that is not one. */
export function importState({ vm, projector }: StateHolders, text: string): void {
  const state = JSON.parse(text) as Partial<CheckpointState>;
  if (state?.v !== 1 || typeof state.vm !== "object" || typeof state.views !== "object") {
    throw new TypeError("The cluster checkpoint is not a Pharos v1 checkpoint");
  }
  vm.importState(state.vm);
  projector.importState(state.views);
}
