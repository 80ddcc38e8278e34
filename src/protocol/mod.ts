/**
 * What Pharos's wire protocol says, in one place for every component that speaks it
 * (docs/protocol.md): the close codes it sends, the JSON error answer of a refused request,
 * the heads of its data frames, and the per-client limits a token may carry.
 * @module
 */
export { CloseCode, CloseReason, toCloseReason } from "./close_codes.ts";
export { type ErrorAnswer, toErrorResponse, toJsonResponse } from "./error_answer.ts";
export {
  dataFrameHead,
  type DataOp,
  deleteFrameText,
  type FrameMode,
  subscribedFrameHead,
} from "./frames.ts";
export { LIMIT_CLAIM_KEYS, type TokenLimits, toLimitsClaim } from "./limits.ts";
