/**
 * Shared building blocks with no dependencies: clock, ids, task tracker,
 * shutdown sequence, FIFO, LRU map, error text, edit distance, view grants.
 * @module
 */
export { type Clock, systemClock } from "./clock.ts";
export { type Ids, randomIds } from "./ids.ts";
export { Fifo } from "./fifo.ts";
export { LruMap } from "./lru.ts";
export { createTaskTracker, type TaskErrorHandler, type TaskTracker } from "./tasks.ts";
export { inOrderOnce } from "./sequence.ts";
export { yieldToIo } from "./yield.ts";
export { bearerToken, createTokenCheck, sameDigest, tokenDigest } from "./token_check.ts";
export { type Cidr, cidrContains, parseCidr, parseIp } from "./ip.ts";
export { errorMessage, truncate } from "./errors.ts";
export { editDistance } from "./edit_distance.ts";
export { TokenBucket } from "./token_bucket.ts";
export {
  type BodyCarrier,
  BodyTooLargeError,
  readBoundedBytes,
  readBoundedText,
  toText,
} from "./bounded_body.ts";
export { MAX_VIEW_PATTERN_LENGTH, MAX_VIEW_PATTERNS, ViewGrant } from "./view_grant.ts";
