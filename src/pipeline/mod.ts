/**
 * The event path: sources → intake → VM → projector, batch by batch, with the
 * health, readiness, `/status` readings and per-event telemetry of that path.
 * @module
 */
export { createConfiguredSources, type SourceDeps, toSourceSpecs } from "./configured_sources.ts";
export {
  createIntake,
  type Intake,
  type IntakeBatch,
  IntakeClosedError,
  type IntakeOptions,
} from "./intake.ts";
export {
  createPipeline,
  type Pipeline,
  type PipelineCluster,
  type PipelineOptions,
} from "./pipeline.ts";
export type { PipelineStatus } from "./status.ts";
