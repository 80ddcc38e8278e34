import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isStack, validateStack } from "./define_stack.ts";
import type { Stack } from "./types.ts";

/** Resolves a module path against the working directory; URLs pass through. */
export function toModuleUrl(specifier: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return specifier;
  // A path is not a URL: `#`, `?` and `%` in it must be escaped, not read as URL syntax.
  return pathToFileURL(resolve(cwd, specifier)).href;
}

/**
 * Imports a user stack module whose default export comes from `defineStack`.
 * Throws a `TypeError` naming the module when it cannot be loaded or is not a stack.
 */
export async function loadStack(specifier: string, cwd: string): Promise<Stack> {
  const url = toModuleUrl(specifier, cwd);
  let module: { default?: unknown };
  try {
    module = await import(url);
  } catch (error) {
    throw new TypeError(`Cannot load stack module ${specifier}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!isStack(module.default)) {
    const problems = validateStack(module.default);
    const detail = problems.length > 0
      ? problems.join("; ")
      : "default export was not created with defineStack()";
    throw new TypeError(`Stack module ${specifier} is not a valid stack: ${detail}`);
  }
  return module.default;
}
