import { defineStack, type Handler, isStack, type Stack } from "../stack/mod.ts";
import type { StackManifest } from "./protocol.ts";

/**
 * The shape of `stack` for the server: entity names, event types, append paths, views, row
 * rules.
 */
export function toManifest(stack: Stack): StackManifest {
  const entities: Record<string, StackManifest["entities"][string]> = {};
  for (const [name, definition] of Object.entries(stack.entities)) {
    entities[name] = {
      handlers: Object.keys(definition.handlers),
      ...(definition.append === undefined ? {} : { append: definition.append }),
      ...(definition.views === undefined ? {} : { views: definition.views }),
      ...(definition.rows === undefined ? {} : { rows: definition.rows }),
    };
  }
  return {
    name: stack.name,
    entities,
    ...(stack.sources === undefined ? {} : { sources: stack.sources }),
    ...(stack.permissions === undefined ? {} : { permissions: stack.permissions }),
  };
}

/** Stands in for a handler that runs in the host: the server never calls it. */
const runsInHost: Handler = () => {
  throw new Error("This handler runs in the handler host, not in the server");
};

/**
 * The server's view of a hosted stack, validated as any stack: the host is not trusted to
 * describe itself correctly. Throws a `TypeError` listing the problems.
 */
export function stackFromManifest(manifest: StackManifest): Stack {
  const entities: Record<string, Stack["entities"][string]> = {};
  for (const [name, entity] of Object.entries(manifest.entities ?? {})) {
    const handlers: Record<string, Handler> = {};
    for (const type of entity.handlers ?? []) handlers[type] = runsInHost;
    entities[name] = {
      handlers,
      ...(entity.append === undefined ? {} : { append: entity.append }),
      ...(entity.views === undefined ? {} : { views: entity.views }),
      ...(entity.rows === undefined ? {} : { rows: entity.rows }),
    };
  }
  const stack = defineStack({
    name: manifest.name,
    entities,
    ...(manifest.sources === undefined ? {} : { sources: manifest.sources }),
    ...(manifest.permissions === undefined ? {} : { permissions: manifest.permissions }),
  });
  if (!isStack(stack)) throw new TypeError("The handler host described an invalid stack");
  return stack;
}
