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

type Take = (value: unknown) => unknown;

/**
 * Appends in place and drops the oldest beyond the cap: copying a full 100-element array
 * twice per event (concat, then slice) was a measurable share of the event path.
 */
function appendCapped(current: unknown[], incoming: readonly unknown[], take: Take): void {
  for (const item of incoming) current.push(take(item));
  if (current.length > MAX_ARRAY_ELEMENTS) current.splice(0, current.length - MAX_ARRAY_ELEMENTS);
}

/**
 * The value itself, with every array in it capped in place: for values the caller hands
 * over and never uses again, so nothing needs copying.
 */
function adoptPatchValue(value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length > MAX_ARRAY_ELEMENTS) value.splice(0, value.length - MAX_ARRAY_ELEMENTS);
    for (let i = 0; i < value.length; i++) value[i] = adoptPatchValue(value[i]);
    return value;
  }
  if (isPlainObject(value)) {
    for (const key in value) value[key] = adoptPatchValue(value[key]);
  }
  return value;
}

/** A deep copy of plain objects and arrays (other values are shared), arrays capped. */
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
 * Deep-merges `patch` into `target` in place, the docs/protocol.md §4 way: objects merge key
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
  return merge(target, patch, appendPaths, prefix, clonePatchValue);
}

/**
 * {@link mergePatch} for a patch the caller hands over: its values become part of
 * `target` (arrays capped in place) instead of being copied. The projector merges wire
 * patches, fresh copies that nothing else holds, so the copy would only feed the GC.
 */
export function mergeOwnedPatch(
  target: Obj,
  patch: Obj,
  appendPaths: ReadonlySet<string>,
): Obj {
  return merge(target, patch, appendPaths, "", adoptPatchValue);
}

/** {@link adoptPatchValue} of a whole patch: a new entity made of the patch itself. */
export function adoptPatch(patch: Obj): Obj {
  return adoptPatchValue(patch) as Obj;
}

function merge(
  target: Obj,
  patch: Readonly<Obj>,
  appendPaths: ReadonlySet<string>,
  prefix: string,
  take: Take,
): Obj {
  for (const key in patch) {
    const incoming = patch[key];
    if (incoming === undefined) continue;
    const current = target[key];
    // The dotted path is built only where it is read (arrays, nested objects): a string
    // per merged field, twice per event, was garbage for nothing.
    if (Array.isArray(incoming)) {
      const path = prefix === "" ? key : `${prefix}.${key}`;
      if (appendPaths.has(path) && Array.isArray(current)) appendCapped(current, incoming, take);
      else target[key] = take(incoming);
    } else if (isPlainObject(incoming) && isPlainObject(current)) {
      merge(current, incoming, appendPaths, prefix === "" ? key : `${prefix}.${key}`, take);
    } else {
      target[key] = take(incoming);
    }
  }
  return target;
}

/** The dotted paths of `appendPaths` that `patch` actually carries an array for. */
export function appendPathsIn(
  patch: Readonly<Obj>,
  appendPaths: readonly string[],
): readonly string[] {
  let present: string[] | undefined;
  for (let i = 0; i < appendPaths.length; i++) {
    const path = appendPaths[i]!;
    let node: unknown = patch;
    if (path.includes(".")) {
      for (const segment of path.split(".")) node = isPlainObject(node) ? node[segment] : undefined;
    } else node = patch[path];
    // `present` stays undefined while every path so far is there.
    if (Array.isArray(node)) present?.push(path);
    else present ??= appendPaths.slice(0, i);
  }
  // Every path present (the usual case): the caller's own array, shared, not a new one.
  return present ?? appendPaths;
}
