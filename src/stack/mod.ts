/**
 * How users declare entities, handlers, views and row rules; validation; the built-in demo
 * stack.
 * @module
 */
export { BASE_VIEW_NAMES, defineStack, isStack, MAX_TAKE, validateStack } from "./define_stack.ts";
export { demoStack, type DemoTransfer } from "./demo_stack.ts";
export { isTraceparent, parseEvent } from "./event.ts";
export {
  compareSeq,
  createSeqCounter,
  isSeq,
  type SeqCounter,
  type SeqCounterState,
  toSeq,
} from "./seq.ts";
export { loadStack, toModuleUrl } from "./load.ts";
export {
  describePermissions,
  PERMISSION_KINDS,
  type StackPermissions,
  validatePermissions,
} from "./permissions.ts";
export {
  rowGroupOf,
  rowRuleProblems,
  rowTopic,
  type ViewRowRule,
  viewRowRules,
} from "./row_rules.ts";
export type {
  DerivedViewDefinition,
  EntityDefinition,
  Handler,
  HandlerContext,
  Patch,
  PharosEvent,
  RowRule,
  SortOrder,
  SourceSpec,
  Stack,
  StackDefinition,
} from "./types.ts";
export { DERIVED_VIEW_TAKE } from "./types.ts";
