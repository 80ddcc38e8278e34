/**
 * The views a client may subscribe to: a list of patterns over view ids (`Token/list`,
 * `Order/*`), where `*` matches any run of characters, nothing else is special.
 *
 * The patterns come from tokens, so they are untrusted: each is checked before use (length,
 * characters, count) and matched without regular expressions, in time linear in the
 * pattern and the view id whatever the pattern's stars (`**` is the same as `*`).
 */
export class ViewGrant {
  /** The patterns as given, normalised (runs of `*` collapsed): what `/status` and logs show. */
  readonly patterns: readonly string[];
  readonly #parts: readonly (readonly string[])[];
  /** Answers per view id: a stack has few views, and a session asks about the same ones. */
  readonly #answers = new Map<string, boolean>();
  readonly #everything: boolean;

  private constructor(patterns: readonly string[]) {
    this.patterns = Object.freeze([...patterns]);
    this.#parts = patterns.map((pattern) => pattern.split("*"));
    this.#everything = patterns.includes("*");
  }

  /** Every view: the grant of clients when nothing narrows it. */
  static readonly ALL: ViewGrant = new ViewGrant(["*"]);

  /**
   * The grant of `patterns`, or the problems that make it unusable (a token carrying such a
   * grant is refused, a configured one stops start-up): at most {@link MAX_VIEW_PATTERNS}
   * patterns of 1 to {@link MAX_VIEW_PATTERN_LENGTH} characters each, made of the characters
   * view ids use (`A-Z a-z 0-9 _ - /`) and `*`.
   */
  static parse(patterns: unknown): ViewGrant | { readonly problems: readonly string[] } {
    if (!Array.isArray(patterns)) return { problems: ["views must be an array of strings"] };
    if (patterns.length > MAX_VIEW_PATTERNS) {
      return { problems: [`at most ${MAX_VIEW_PATTERNS} view patterns, got ${patterns.length}`] };
    }
    const problems: string[] = [];
    const normalised: string[] = [];
    patterns.forEach((pattern: unknown, i) => {
      const problem = patternProblem(pattern);
      if (problem !== undefined) problems.push(`view pattern ${i}: ${problem}`);
      else normalised.push((pattern as string).replace(/\*+/g, "*"));
    });
    return problems.length > 0 ? { problems } : new ViewGrant([...new Set(normalised)]);
  }

  /** True when some pattern matches the whole of `view`. */
  allows(view: string): boolean {
    if (this.#everything) return true;
    let answer = this.#answers.get(view);
    if (answer === undefined) {
      answer = this.#parts.some((parts) => matchesParts(parts, view));
      // Bounded by the caller: only ids of views the stack has are asked about.
      this.#answers.set(view, answer);
    }
    return answer;
  }
}

/** Most patterns one grant holds. */
export const MAX_VIEW_PATTERNS = 256;
/** Longest pattern: a view id is at most 129 characters (64 + "/" + 64). */
export const MAX_VIEW_PATTERN_LENGTH = 256;
const PATTERN = /^[A-Za-z0-9_\-/*]+$/;

function patternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== "string") return "not a string";
  if (pattern.length === 0) return "empty";
  if (pattern.length > MAX_VIEW_PATTERN_LENGTH) {
    return `longer than ${MAX_VIEW_PATTERN_LENGTH} characters`;
  }
  if (!PATTERN.test(pattern)) {
    return `${JSON.stringify(pattern.slice(0, 40))} has a character outside A-Z a-z 0-9 _ - / *`;
  }
  return undefined;
}

/**
 * Whether `text` is the pattern's literal `parts` (the pattern split at its stars) with any
 * runs between them: the first part a prefix, the last a suffix, the middle ones found in
 * order, each at its leftmost place (leftmost is always safe for a middle part, so there is
 * no backtracking).
 */
function matchesParts(parts: readonly string[], text: string): boolean {
  if (parts.length === 1) return parts[0] === text;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (first.length + last.length > text.length) return false;
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
