/** Longest array kept in merged state; older elements are dropped first. */
export const MAX_ARRAY_ELEMENTS = 100;

type Obj = Record<string, unknown>;

function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function capArray(values: unknown[]): unknown[] {
  return values.length > MAX_ARRAY_ELEMENTS ? values.slice(-MAX_ARRAY_ELEMENTS) : values;
}

/** A deep copy of plain objects and arrays (other values are shared), arrays capped. */
/**
 * Appends in place and drops the oldest beyond the cap: copying a full 100-element array
 * twice per event (concat, then slice) was a measurable share of the event path.
 */
function appendCapped(current: unknown[], incoming: readonly unknown[]): void {
  for (const item of incoming) current.push(clonePatchValue(item));
  if (current.length > MAX_ARRAY_ELEMENTS) current.splice(0, current.length - MAX_ARRAY_ELEMENTS);
}

export function clonePatchValue(value: unknown): unknown {
  if (Array.isArray(value)) return capArray(value).map(clonePatchValue);
  if (isPlainObject(value)) {
    const out: Obj = {};
    for (const key in value) out[key] = clonePatchValue(value[key]);
    return out;
  }
  return value;
}

/**
 * Deep-merges `patch` into `target` in place, the PROTOCOL.md §4 way: objects merge key
 * by key; arrays at a dotted path listed in `appendPaths` are concatenated, other arrays
 * replaced; every array keeps at most its last 100 elements; scalars and `null` replace.
 * Values taken from the patch are copied, so the caller may reuse its patch object.
 */
export function mergePatch(
  target: Obj,
  patch: Readonly<Obj>,
  appendPaths: ReadonlySet<string>,
  prefix = "",
): Obj {
  for (const key in patch) {
    const incoming = patch[key];
    if (incoming === undefined) continue;
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const current = target[key];
    if (Array.isArray(incoming)) {
      if (appendPaths.has(path) && Array.isArray(current)) appendCapped(current, incoming);
      else target[key] = clonePatchValue(incoming);
    } else if (isPlainObject(incoming) && isPlainObject(current)) {
      mergePatch(current, incoming, appendPaths, path);
    } else {
      target[key] = clonePatchValue(incoming);
    }
  }
  return target;
}

/** The dotted paths of `appendPaths` that `patch` actually carries an array for. */
export function appendPathsIn(patch: Readonly<Obj>, appendPaths: readonly string[]): string[] {
  const present: string[] = [];
  for (const path of appendPaths) {
    let node: unknown = patch;
    for (const segment of path.split(".")) {
      node = isPlainObject(node) ? node[segment] : undefined;
    }
    if (Array.isArray(node)) present.push(path);
  }
  return present;
}
