// deno-lint-ignore-file no-console -- a command-line check reports on stdout/stderr
/**
 * Enforces the layout rules of README's "Development" section from the real module graph (`deno info --json`):
 * components import each other only through `mod.ts`, only in the allowed directions (type-only
 * imports included; every allowed direction is followed, they form no cycle, and README's map
 * shows exactly them),
 * each component folder has a `mod.ts` opening with a module doc (description first, a bare
 * `@module` tag last, as `deno doc` reads it), only `main.ts`
 * reads `Deno.env` or writes to the console, and unit tests open no sockets and start no
 * processes.
 * @module
 */

/** A module doc `deno doc` shows: a description, then `@module` alone on the last line. */
const MODULE_DOC = /^\/\*\*\n \* [^@\s][^\n]*\n(?: \*(?: [^\n]*)?\n)* \* @module\n \*\/\n/;

/** Which components each component may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  protocol: [],
  auth: ["util", "config", "log", "telemetry", "ws", "http", "protocol"],
  console: ["util", "bus", "log", "telemetry"],
  config: ["util", "log", "sources"],
  health: ["util", "config"],
  log: ["util", "protocol"],
  telemetry: ["util", "config", "log"],
  stack: [],
  bus: [],
  vm: ["util", "config", "stack", "telemetry"],
  sources: ["util", "stack", "log", "protocol"],
  projector: ["util", "config", "vm", "bus", "stack", "log", "telemetry", "protocol"],
  ws: ["util", "config", "bus", "stack", "log", "telemetry", "protocol"],
  http: ["util", "telemetry", "log", "protocol"],
  sandbox: ["util", "stack", "telemetry", "vm", "log"],
  cluster: [
    "util",
    "config",
    "health",
    "log",
    "telemetry",
    "stack",
    "sources",
    "vm",
    "projector",
    "pipeline",
  ],
  pipeline: [
    "util",
    "config",
    "health",
    "log",
    "telemetry",
    "stack",
    "sources",
    "vm",
    "projector",
  ],
};

/**
 * Modules that are another process's `main.ts`: the handler host's prelude holds that
 * process's console capture and whether the host has started (see src/sandbox/).
 */
const PROCESS_ENTRIES = ["src/sandbox/host_prelude.ts"];

const root = new URL("../", import.meta.url);
const srcUrl = new URL("src/", root).href;
const problems: string[] = [];

function componentOf(specifier: string): { component: string; file: string } | undefined {
  if (!specifier.startsWith(srcUrl)) return undefined;
  const rest = specifier.slice(srcUrl.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return { component: "", file: rest }; // app.ts, mod.ts
  return { component: rest.slice(0, slash), file: rest.slice(slash + 1) };
}

type Graph = {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
};
const modules: Graph["modules"] = [];
for (const entry of ["main.ts", "src/mod.ts"]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) {
    console.error(`check_layout: deno info ${entry} failed`);
    Deno.exit(1);
  }
  modules.push(...(JSON.parse(new TextDecoder().decode(output.stdout)) as Graph).modules);
}
const graph = { modules };
const used = new Set<string>();

for (const module of graph.modules) {
  const from = componentOf(module.specifier);
  if (from === undefined || from.component === "") continue;
  for (const dependency of module.dependencies ?? []) {
    // Type-only imports count: a type is as much a dependency on its component as a value.
    const target = dependency.code?.specifier ?? dependency.type?.specifier;
    if (target === undefined) continue;
    const to = componentOf(target);
    if (to === undefined || to.component === from.component) continue;
    const where = `src/${from.component}/${from.file}`;
    if (to.component === "") {
      problems.push(`${where} imports src/${to.file}: components must not import the app`);
    } else if (to.file !== "mod.ts") {
      problems.push(`${where} reaches into src/${to.component}/${to.file}; import its mod.ts`);
    } else if (!(ALLOWED[from.component] ?? []).includes(to.component)) {
      problems.push(
        `${where} imports ${to.component}: not an allowed direction for ${from.component}`,
      );
    } else used.add(`${from.component}→${to.component}`);
  }
}

// The table is the map README draws: a direction nobody follows is removed from it, and the
// directions form no cycle (each component builds only on those below it).
for (const [component, allowed] of Object.entries(ALLOWED)) {
  for (const to of allowed) {
    if (!used.has(`${component}→${to}`)) {
      problems.push(`ALLOWED lets ${component} import ${to}, but none does: remove it`);
    }
  }
}
function cycleFrom(component: string, path: readonly string[]): string[] | undefined {
  if (path.includes(component)) return [...path.slice(path.indexOf(component)), component];
  for (const to of ALLOWED[component] ?? []) {
    const cycle = cycleFrom(to, [...path, component]);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
for (const component of Object.keys(ALLOWED)) {
  const cycle = cycleFrom(component, []);
  if (cycle !== undefined) problems.push(`ALLOWED has a cycle: ${cycle.join(" → ")}`);
}

// README's "Development" section draws this table: the map a reader sees must be this one.
function readmeMap(readme: string): Map<string, string[]> | undefined {
  const block = readme.split("Which component may import which")[1]?.split("```")[1];
  if (block === undefined) return undefined;
  const map = new Map<string, string[]>();
  for (const line of block.split("\n")) {
    const none = line.match(/^([\w, ]+?)\s+import no component$/);
    if (none) { for (const name of none[1]!.split(/,\s*/)) map.set(name, []); }
    for (const match of line.matchAll(/(\w+)\s+→\s+([\w ]+?)(?=\s{2,}\w+\s+→|\s*$)/g)) {
      map.set(match[1]!, match[2]!.trim().split(/\s+/));
    }
  }
  return map;
}
const drawn = readmeMap(await Deno.readTextFile(new URL("README.md", root)));
if (drawn === undefined) problems.push(`README.md has no "Which component may import which" map`);
else {
  for (const [component, allowed] of Object.entries(ALLOWED)) {
    const shown = drawn.get(component);
    const same = shown !== undefined && shown.length === allowed.length &&
      allowed.every((to) => shown.includes(to));
    if (!same) {
      problems.push(
        `README.md's map shows ${component} → ${shown?.join(" ") ?? "(nothing)"}; ` +
          `the check allows ${allowed.join(" ") || "no component"}`,
      );
    }
  }
  for (const component of drawn.keys()) {
    if (!(component in ALLOWED)) {
      problems.push(`README.md's map shows ${component}: no such component`);
    }
  }
}

for await (const entry of Deno.readDir(new URL("src/", root))) {
  if (!entry.isDirectory) continue;
  if (!(entry.name in ALLOWED)) problems.push(`src/${entry.name}/ is not a known component`);
  try {
    const mod = await Deno.readTextFile(new URL(`src/${entry.name}/mod.ts`, root));
    // The form `deno doc` and JSR read: the description first, a bare `@module` tag last
    // (text on the tag's own line is not shown as the module's description).
    if (!MODULE_DOC.test(mod)) {
      problems.push(
        `src/${entry.name}/mod.ts must open with a module doc: its description, then a bare @module line`,
      );
    }
  } catch {
    problems.push(`src/${entry.name}/ has no mod.ts`);
  }
}

async function* walk(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walk(url);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield url;
  }
}
for await (const file of walk(new URL("src/", root))) {
  const text = await Deno.readTextFile(file);
  const name = file.href.slice(root.href.length);
  if (/\bDeno\.env\b/.test(text)) problems.push(`${name} reads Deno.env; only main.ts may`);
  if (/\bDeno\.serve\(/.test(text)) problems.push(`${name} calls Deno.serve; only main.ts may`);
  if (/^(let|var) /m.test(text) && !PROCESS_ENTRIES.includes(name)) {
    problems.push(`${name} has module-level mutable state`);
  }
}

// Unit tests (`deno task test:unit`) build components from fakes: neither they nor the test
// code they import (followed through relative imports within tests/ and *_test.ts files)
// opens a socket or starts a process. Product code they reach is the test's to drive.
const UNIT_TEST_ROOTS = ["src/", "tests/contract/", "tests/fakes/"];
const REAL_IO =
  /\b(Deno\.(serve|listen|listenTls|connect|connectTls)|new Deno\.Command|new WebSocket)\(/;

async function* testFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* testFiles(url);
    else if (entry.name.endsWith("_test.ts")) yield url;
  }
}

const isTestCode = (url: URL) =>
  url.href.startsWith(new URL("tests/", root).href) || url.href.endsWith("_test.ts");
const pending: URL[] = [];
for (const dir of UNIT_TEST_ROOTS) {
  for await (const file of testFiles(new URL(dir, root))) pending.push(file);
}
const seen = new Set<string>();
const reachedFrom = new Map<string, string>();
while (pending.length > 0) {
  const file = pending.pop()!;
  if (seen.has(file.href)) continue;
  seen.add(file.href);
  const text = await Deno.readTextFile(file);
  const name = file.href.slice(root.href.length);
  if (REAL_IO.test(text)) {
    const via = reachedFrom.get(file.href);
    problems.push(
      `${name} opens a socket or starts a process, so a unit test may not use it` +
        (via === undefined ? "" : ` (reached from ${via})`),
    );
  }
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?from "(\.{1,2}\/[^"]+)";/gms)) {
    const target = new URL(match[1]!, file);
    if (!isTestCode(target) || seen.has(target.href)) continue;
    if (!reachedFrom.has(target.href)) reachedFrom.set(target.href, name);
    pending.push(target);
  }
}

if (problems.length > 0) {
  console.error(`Layout check failed:\n  - ${[...new Set(problems)].join("\n  - ")}`);
  Deno.exit(1);
}
console.log("Layout check passed");
