/**
 * Debian's `prometheus` binary on a free loopback port, scraping given targets every second
 * with ops/prometheus/alerts.yml loaded, its TSDB in a temp dir; and its HTTP API.
 */
import assert from "node:assert/strict";
import { eventually } from "../wait.ts";

const ROOT = new URL("../../", import.meta.url);
const ALERTS = new URL("ops/prometheus/alerts.yml", ROOT).pathname;

/** Scrape and rule evaluation period: `for:` is minutes, but `pending` comes at once. */
const INTERVAL = "1s";
/** How long one alert may take to go pending once its cause is there. */
const ALERT_TIMEOUT_MS = 12_000;

/** A free loopback TCP port (closed again, so Prometheus can bind it). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A rule as `/api/v1/rules` lists it. */
export interface Rule {
  readonly name: string;
  readonly health: string;
  readonly lastError?: string;
  /** RFC 3339 time of the latest evaluation. */
  readonly lastEvaluation: string;
}

/** An alert as `/api/v1/alerts` lists it. */
export interface Alert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: string;
}

/** An instant query's `data`. */
export interface QueryResult {
  readonly resultType: string;
  readonly result: unknown;
}

/** Debian's `prometheus` on a free loopback port, with its TSDB in a temp dir. */
export class Prometheus implements AsyncDisposable {
  readonly url: string;
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  readonly #exited: Promise<Deno.CommandStatus>;
  #output = "";

  private constructor(child: Deno.ChildProcess, dir: string, port: number) {
    this.#child = child;
    this.#dir = dir;
    this.url = `http://127.0.0.1:${port}`;
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this.#output += text;
    };
    this.#exited = Promise.all([collect(child.stdout), collect(child.stderr)]).then(() =>
      child.status
    );
  }

  /**
   * Starts Prometheus scraping each job's target (host:port) and loading alerts.yml, with
   * the feature flags `features` (`exemplar-storage`).
   */
  static async start(
    targets: Readonly<Record<string, string>>,
    features: readonly string[] = [],
  ): Promise<Prometheus> {
    await assertInstalled();
    const dir = await Deno.makeTempDir({ prefix: "pharos-prometheus-" });
    const config = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(
      config,
      [
        "global:",
        `  scrape_interval: ${INTERVAL}`,
        `  scrape_timeout: ${INTERVAL}`,
        `  evaluation_interval: ${INTERVAL}`,
        "rule_files:",
        `  - ${JSON.stringify(ALERTS)}`,
        "scrape_configs:",
        ...Object.entries(targets).flatMap(([job, target]) => [
          `  - job_name: ${job}`,
          "    metrics_path: /metrics",
          "    static_configs:",
          `      - targets: [${JSON.stringify(target)}]`,
        ]),
        "",
      ].join("\n"),
    );
    const port = freePort();
    const child = new Deno.Command("prometheus", {
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
        ...(features.length === 0 ? [] : [`--enable-feature=${features.join(",")}`]),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const prometheus = new Prometheus(child, dir, port);
    try {
      await eventually(
        async () => {
          const response = await fetch(`${prometheus.url}/-/ready`).catch(() => undefined);
          await response?.body?.cancel();
          return response?.status === 200 ? true : undefined;
        },
        "Prometheus to be ready",
        { timeoutMs: 15_000, everyMs: 250, detail: () => prometheus.#output },
      );
    } catch (error) {
      await prometheus[Symbol.asyncDispose]();
      throw error;
    }
    return prometheus;
  }

  /** GET `/api/v1/<path>`; the `data` of a successful answer, else throws with its error. */
  async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const url = new URL(`/api/v1/${path}`, this.url);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const response = await fetch(url);
    const body = await response.json() as { status: string; data?: T; error?: string };
    if (body.status !== "success") {
      throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? response.status}`);
    }
    return body.data as T;
  }

  async rules(): Promise<Rule[]> {
    const data = await this.api<{ groups: { rules: Rule[] }[] }>("rules");
    return data.groups.flatMap((group) => group.rules);
  }

  async alerts(): Promise<Alert[]> {
    return (await this.api<{ alerts: Alert[] }>("alerts")).alerts;
  }

  query(expr: string): Promise<QueryResult> {
    return this.api<QueryResult>("query", { query: expr });
  }

  /** Resolves once every `alertname` (with `labels`) is pending or firing. */
  async waitForAlerts(
    wanted: readonly { readonly alertname: string; readonly [label: string]: string }[],
    whileWaiting: () => Promise<void> = async () => {},
  ): Promise<void> {
    let alerts: Alert[] = [];
    const active = (want: Record<string, string>) =>
      alerts.some((alert) =>
        (alert.state === "pending" || alert.state === "firing") &&
        Object.entries(want).every(([key, value]) => alert.labels[key] === value)
      );
    await eventually(
      async () => {
        await whileWaiting();
        alerts = await this.alerts();
        return wanted.every(active) ? true : undefined;
      },
      wanted.map((w) => JSON.stringify(w)).join(", ") + " pending",
      {
        timeoutMs: ALERT_TIMEOUT_MS,
        everyMs: 250,
        detail: () => `alerts: ${JSON.stringify(alerts)}`,
      },
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.#exited;
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** Fails with a clear message when Debian's `prometheus` is not on PATH. */
async function assertInstalled(): Promise<void> {
  try {
    const { success } = await new Deno.Command("prometheus", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(success, "prometheus --version failed");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        "The prometheus binary is not installed: this test runs a real Prometheus. Install " +
          "Debian's package (apt-get install prometheus, as .ci/run does).",
        { cause: error },
      );
    }
    throw error;
  }
}
