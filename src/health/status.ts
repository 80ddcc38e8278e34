/** One component's part of `/status`: its fields, at the report's top level. */
export type StatusPart = () => object | Promise<object>;

/**
 * `/status` as its parts report it: each component owns its fields (the pipeline its
 * sources and batches, ws its clients, the cluster its lease…), read when asked, in order.
 */
export function composeStatus(
  parts: readonly StatusPart[],
): () => Promise<Record<string, unknown>> {
  return async () => {
    const sections = await Promise.all(parts.map((part) => part()));
    return Object.assign({}, ...sections) as Record<string, unknown>;
  };
}
