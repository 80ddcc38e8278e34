/**
 * Cluster mode (`PHAROS_REDIS_URL`): several instances share one ordered event log per
 * stack in a Redis Stream. Every instance appends what its sources receive and applies the
 * whole log in order, so all hold the same state and number the same `_seq` cursors; a
 * lease in Redis runs the singleton sources (the kinds the sources registry marks so) on
 * one instance;
 * checkpoints let a new instance start from state plus the log's tail; an epoch catches a
 * Redis that lost the log. Shared documents (a hash and a channel) give every instance the
 * same copy of what one of them publishes (the token revocation list).
 * @module
 */
export { type Cluster, type ClusterOptions, createCluster, LeaseLostError } from "./cluster.ts";
export type { ClusterStatus } from "./status.ts";
export { clusterInstanceId } from "./instance_id.ts";
export { MAX_LAG_PIPELINE_CAPACITIES, maxLagEventsFor } from "./appender.ts";
export { type ClusterKeys, clusterKeys } from "./keys.ts";
export type { SharedDocument } from "./shared_documents.ts";
