import type { ClusterConfig } from "../config/mod.ts";
import type { Ids } from "../util/mod.ts";

/**
 * This instance's name in the lease, logs and `/status`: the configured
 * `PHAROS_INSTANCE_ID`, or else `pharos-<pid>-<6 characters of a new id>`: the pid names
 * the process on its host, the random part keeps apart instances whose pids are alike
 * (several hosts, or containers).
 */
export function clusterInstanceId(config: ClusterConfig, ids: Ids): string {
  return config.instanceId || `pharos-${Deno.pid}-${ids.next().slice(0, 6)}`;
}
