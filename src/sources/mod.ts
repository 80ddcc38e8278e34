/**
 * @module Upstream adapters behind one `Source` interface; the built-in demo generator.
 */
export { createDemoSource, type DemoSourceOptions } from "./demo_source.ts";
export {
  createIntake,
  type Intake,
  IntakeClosedError,
  type IntakeItem,
  type IntakeOptions,
} from "./intake.ts";
export type {
  EventSink,
  SocketEvents,
  SocketTransport,
  SocketUpgrader,
  Source,
  SourceContext,
  SourceStatus,
} from "./types.ts";
