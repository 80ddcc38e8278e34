import { validatePermissions } from "./permissions.ts";
import { rowRuleProblems } from "./row_rules.ts";
import type { SourceSpec, Stack, StackDefinition } from "./types.ts";

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
/** View names every entity gets; derived views may not reuse them. */
export const BASE_VIEW_NAMES = ["list", "state", "append"] as const;
/** Largest derived-view window. */
export const MAX_TAKE = 10_000;

/** Finds every problem in a stack definition (empty when valid). */
export function validateStack(definition: unknown): string[] {
  const problems: string[] = [];
  if (typeof definition !== "object" || definition === null) {
    return ["stack must be an object { name, entities }"];
  }
  const { name, entities } = definition as Partial<StackDefinition>;
  if (typeof name !== "string" || !NAME.test(name)) {
    problems.push(`stack name must match ${NAME}, got ${JSON.stringify(name)}`);
  }
  if (typeof entities !== "object" || entities === null || Object.keys(entities).length === 0) {
    problems.push("stack must declare at least one entity");
    return problems;
  }
  for (const [entityName, entity] of Object.entries(entities)) {
    const at = `entity "${entityName}"`;
    if (!NAME.test(entityName)) problems.push(`${at}: name must match ${NAME}`);
    if (typeof entity !== "object" || entity === null) {
      problems.push(`${at}: must be an object`);
      continue;
    }
    if (entity.key !== undefined && typeof entity.key !== "function") {
      problems.push(`${at}: key must be a function (event) => string | undefined`);
    }
    if (typeof entity.handlers !== "object" || entity.handlers === null) {
      problems.push(`${at}: handlers must be an object of functions`);
    } else {
      for (const [type, handler] of Object.entries(entity.handlers)) {
        if (typeof handler !== "function") {
          problems.push(`${at}: handler "${type}" is not a function`);
        }
      }
    }
    for (const path of entity.append ?? []) {
      if (typeof path !== "string" || !PATH.test(path)) {
        problems.push(`${at}: append path ${JSON.stringify(path)} is not a dotted field path`);
      }
    }
    for (const [viewName, view] of Object.entries(entity.views ?? {})) {
      const vat = `${at} view "${viewName}"`;
      if (!NAME.test(viewName)) problems.push(`${vat}: name must match ${NAME}`);
      if ((BASE_VIEW_NAMES as readonly string[]).includes(viewName)) {
        problems.push(`${vat}: "${viewName}" is built in; choose another name`);
      }
      if (typeof view?.sortBy !== "string" || !PATH.test(view.sortBy)) {
        problems.push(`${vat}: sortBy must be a dotted field path`);
      }
      if (view?.order !== undefined && view.order !== "asc" && view.order !== "desc") {
        problems.push(`${vat}: order must be "asc" or "desc"`);
      }
      if (
        view?.take !== undefined &&
        (!Number.isInteger(view.take) || view.take < 1 || view.take > MAX_TAKE)
      ) {
        problems.push(`${vat}: take must be an integer 1..${MAX_TAKE}`);
      }
    }
    problems.push(...rowRuleProblems(at, entity));
  }
  problems.push(...validateSources((definition as StackDefinition).sources));
  problems.push(...validatePermissions((definition as StackDefinition).permissions));
  return problems;
}

const SOURCE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The shape every source spec shares: an object with a string `kind` and a unique `name`.
 * Each kind's own fields are checked by the sources registry when the server builds them.
 */
function validateSources(sources: unknown): string[] {
  if (sources === undefined) return [];
  if (!Array.isArray(sources)) return ["sources must be an array of source specs"];
  const problems: string[] = [];
  const names = new Set<string>();
  sources.forEach((spec: Partial<SourceSpec> & Record<string, unknown>, i) => {
    const at = `source ${i}`;
    if (typeof spec !== "object" || spec === null) {
      problems.push(`${at}: must be an object { kind, … }`);
      return;
    }
    if (typeof spec.kind !== "string" || spec.kind === "") {
      problems.push(`${at}: kind must be a source kind's name`);
      return;
    }
    const name = spec.name ?? spec.kind;
    if (typeof name !== "string" || !SOURCE_NAME.test(name)) {
      problems.push(`${at}: name must match ${SOURCE_NAME}`);
    } else if (names.has(name)) {
      problems.push(`${at}: name "${name}" is used twice; give each source its own name`);
    } else names.add(name);
  });
  return problems;
}

/**
 * Declares a stack: entities, their key functions, handlers and derived sorted views.
 * Throws a `TypeError` listing every problem when the definition is invalid.
 */
export function defineStack(definition: StackDefinition): Stack {
  const problems = validateStack(definition);
  if (problems.length > 0) {
    throw new TypeError(`Invalid stack definition:\n  - ${problems.join("\n  - ")}`);
  }
  return Object.freeze({ ...definition, validated: true as const });
}

/** True for a value produced by {@link defineStack}. */
export function isStack(value: unknown): value is Stack {
  return typeof value === "object" && value !== null &&
    (value as { validated?: unknown }).validated === true &&
    validateStack(value).length === 0;
}
