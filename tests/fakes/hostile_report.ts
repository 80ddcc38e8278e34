/**
 * A recorder for hostile-input tests: each case says what was tried, what Pharos did and
 * whether that held up; {@link HostileReport.summary} prints it all at the end.
 *
 * `HOSTILE_MODE=soak` (read once, here) multiplies counts and durations by
 * {@link SOAK_FACTOR} for long runs; the default is a short run for `deno task test`.
 */

/** `short` (default) or `soak` (`HOSTILE_MODE=soak`). */
export type HostileMode = "short" | "soak";

/** How much a soak run multiplies counts and durations by. */
export const SOAK_FACTOR = 20;

function readMode(): HostileMode {
  const value = Deno.env.get("HOSTILE_MODE")?.trim().toLowerCase();
  return value === "soak" ? "soak" : "short";
}

/** The mode of this run, read once from `HOSTILE_MODE`. */
export const HOSTILE_MODE: HostileMode = readMode();

/** `n` in short mode, `n × SOAK_FACTOR` in soak mode (counts, rounds, durations). */
export function scaled(n: number): number {
  return HOSTILE_MODE === "soak" ? n * SOAK_FACTOR : n;
}

/** One recorded case. */
export interface HostileCase {
  readonly name: string;
  /** What the test sent or did. */
  readonly tried: string;
  /** What Pharos did in answer. */
  readonly saw: string;
  /** True when Pharos held up (the outcome was an acceptable one). */
  readonly ok: boolean;
}

/** Collects hostile cases; one per test file (or per `Deno.test`). */
export class HostileReport {
  readonly #cases: HostileCase[] = [];

  /** Records a case; `ok` false marks it failed. */
  record(caseName: string, tried: string, saw: string, ok: boolean): void {
    this.#cases.push({ name: caseName, tried, saw, ok });
  }

  /** Every case recorded so far, in order. */
  get cases(): readonly HostileCase[] {
    return this.#cases;
  }

  /** The cases that did not hold. */
  failures(): HostileCase[] {
    return this.#cases.filter((c) => !c.ok);
  }

  /**
   * `hostile: 57 cases, 57 held, 0 failed (mode short)` followed by one line per case,
   * `  held   name: tried -> saw` (failed ones marked `FAILED`).
   */
  /** Records the case `rss-bounded`: RSS grew by less than `boundBytes`. */
  recordRssGrowth(beforeBytes: number, afterBytes: number, boundBytes: number): void {
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    this.record(
      "rss-bounded",
      `RSS growth under ${boundBytes / 2 ** 20} MiB`,
      `${mib(beforeBytes)} MiB -> ${mib(afterBytes)} MiB`,
      afterBytes - beforeBytes < boundBytes,
    );
  }

  summary(): string {
    const held = this.#cases.filter((c) => c.ok).length;
    const failed = this.#cases.length - held;
    const head =
      `hostile: ${this.#cases.length} cases, ${held} held, ${failed} failed (mode ${HOSTILE_MODE})`;
    const lines = this.#cases.map((c) =>
      `  ${c.ok ? "held  " : "FAILED"} ${c.name}: ${c.tried} -> ${c.saw}`
    );
    return [head, ...lines].join("\n");
  }
}

/** A fresh, empty report. */
export function createHostileReport(): HostileReport {
  return new HostileReport();
}

/**
 * A small seeded PRNG (mulberry32), so a hostile run is reproducible from its seed.
 * Returns floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The seed of this run: `HOSTILE_SEED` when set (to replay a failure), else a fixed one. */
export const HOSTILE_SEED: number = Number(Deno.env.get("HOSTILE_SEED") ?? "20240917") >>> 0;

/** Resident set size of process `pid` in bytes, from `/proc/<pid>/status` (Linux). */
export async function residentBytes(pid: number): Promise<number> {
  const { stdout, success } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!success) throw new Error(`cannot read /proc/${pid}/status (has the process exited?)`);
  const match = new TextDecoder().decode(stdout).match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Sum of every sample of `name` (any labels, or exactly `labels`) in Prometheus text. */
export function metricSum(text: string, name: string, labels?: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    if (space < 0) continue;
    const series = line.slice(0, space);
    const brace = series.indexOf("{");
    const metric = brace < 0 ? series : series.slice(0, brace);
    if (metric !== name) continue;
    if (labels !== undefined && series.slice(metric.length) !== labels) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
