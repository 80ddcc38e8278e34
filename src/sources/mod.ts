/**
 * @module Upstream adapters behind one `Source` interface; the built-in demo generator.
 */
export { createDemoSource, type DemoSourceOptions } from "./demo_source.ts";
export type { EventSink, Source, SourceContext, SourceStatus } from "./types.ts";
