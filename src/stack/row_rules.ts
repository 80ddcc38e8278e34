import type { EntityDefinition, RowRule } from "./types.ts";

/** A row rule as one view applies it: the entity field and the token claim it must equal. */
export interface ViewRowRule {
  readonly field: string;
  readonly claim: string;
}

const CLAIM = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/** The entity's rules as a list (`rows` may be one rule or several). */
function rulesOf(entity: EntityDefinition): readonly RowRule[] {
  const rows = entity.rows;
  if (rows === undefined) return [];
  return Array.isArray(rows) ? rows : [rows as RowRule];
}

/** The names of every view of an entity: its base views, then its derived ones. */
function viewNamesOf(entity: EntityDefinition): string[] {
  return ["list", "state", "append", ...Object.keys(entity.views ?? {})];
}

/** Every problem with an entity's `rows` (empty when valid); `at` names the entity. */
export function rowRuleProblems(at: string, entity: EntityDefinition): string[] {
  const rows = entity.rows;
  if (rows === undefined) return [];
  if (typeof rows !== "object" || rows === null) {
    return [`${at}: rows must be a rule { field, claim, views? } or a list of them`];
  }
  const problems: string[] = [];
  const names = viewNamesOf(entity);
  const ruled = new Set<string>();
  rulesOf(entity).forEach((rule, i) => {
    const rat = `${at} row rule ${i}`;
    if (typeof rule !== "object" || rule === null) {
      problems.push(`${rat}: must be an object { field, claim, views? }`);
      return;
    }
    if (typeof rule.field !== "string" || !PATH.test(rule.field)) {
      problems.push(`${rat}: field must be a dotted field path`);
    }
    if (typeof rule.claim !== "string" || !CLAIM.test(rule.claim)) {
      problems.push(`${rat}: claim must be a claim name matching ${CLAIM}`);
    }
    if (rule.views !== undefined && !Array.isArray(rule.views)) {
      problems.push(`${rat}: views must be a list of the entity's view names`);
      return;
    }
    for (const view of rule.views ?? names) {
      if (!names.includes(view)) {
        problems.push(`${rat}: the entity has no view ${JSON.stringify(view)}`);
      } else if (ruled.has(view)) {
        problems.push(`${rat}: view "${view}" already has a rule; give each view one`);
      } else ruled.add(view);
    }
  });
  return problems;
}

/** The rule of each ruled view of a (validated) entity, by view name. */
export function viewRowRules(entity: EntityDefinition): ReadonlyMap<string, ViewRowRule> {
  const rules = new Map<string, ViewRowRule>();
  for (const rule of rulesOf(entity)) {
    for (const view of rule.views ?? viewNamesOf(entity)) {
      rules.set(view, Object.freeze({ field: rule.field, claim: rule.claim }));
    }
  }
  return rules;
}

/**
 * The row group a value puts a row (or a token) in: rows go to the clients whose claim has
 * the same group. Strings, finite numbers and booleans have one, each type its own (`"42"`
 * and `42` differ, as with `===`); anything else (absent, null, an object) has none, and a
 * row without one is shown to nobody.
 */
export function rowGroupOf(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : undefined;
    case "boolean":
      return value ? "true" : "false";
    default:
      return undefined;
  }
}

/**
 * The bus topic of a ruled view's (or derived window's) frames for one row group: clients of
 * that group share it, so each change is encoded once per group. `|` is in no view id.
 */
export function rowTopic(topic: string, group: string): string {
  return `${topic}|${group}`;
}
