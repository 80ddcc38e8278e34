/**
 * A real headless Chromium (Debian's package `chromium`; `.ci/run` installs it) driven over
 * the DevTools protocol with Deno's own WebSocket: pages to load, JavaScript to evaluate in
 * them, the script errors and console errors they log, viewport sizes and screenshots.
 * Not a fake: the folder's name is historical. Only loopback pages are loaded, and the
 * browser's own background networking is off (this machine has no internet).
 */
import { eventually } from "../wait.ts";

const STARTUP_TIMEOUT_MS = 20_000;

/** What a page reported that a user would call an error. */
export interface PageProblem {
  readonly kind: "exception" | "console" | "log";
  readonly text: string;
}

/** One tab. */
export interface Page {
  /** Loads `url` and waits for its `load` event. */
  navigate(url: string): Promise<void>;
  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy; returns its value, or fails with `what`. */
  waitFor<T = unknown>(expression: string, what: string, timeoutMs?: number): Promise<T>;
  /** Sets the window size (a phone: `mobile` true). */
  setViewport(width: number, height: number, mobile?: boolean): Promise<void>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Uint8Array>;
  /** Script exceptions, console errors and error log entries, in order. */
  readonly problems: readonly PageProblem[];
}

/** A running browser. */
export interface Browser extends AsyncDisposable {
  newPage(): Promise<Page>;
}

type Message = {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
};

/** Finds Debian's binary, or fails saying how to install it. */
async function chromiumPath(): Promise<string> {
  for (const path of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      await Deno.stat(path);
      return path;
    } catch {
      // next
    }
  }
  throw new Error(
    "chromium is not installed: install the Debian package `chromium` " +
      "(.ci/run does: apt-get install -y chromium)",
  );
}

/** Reads stderr until Chromium prints its DevTools address. */
async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<{
  url: string;
  rest: Promise<void>;
}> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    const match = seen.match(/DevTools listening on (ws:\/\/\S+)/);
    if (match) {
      // Keep draining stderr so the browser never blocks on a full pipe.
      const rest = (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })().catch(() => {});
      return { url: match[1]!, rest };
    }
  }
  throw new Error(`chromium printed no DevTools address:\n${seen.slice(-2000)}`);
}

/** Starts headless Chromium with a fresh profile; dispose it to stop it. */
export async function launchChromium(): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "pharos-chromium-" });
  const child = new Deno.Command(await chromiumPath(), {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let socket: WebSocket | undefined;
  const stop = async () => {
    socket?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  let drained: Promise<void> = Promise.resolve();
  try {
    const { url, rest } = await devtoolsUrl(child.stderr);
    drained = rest;
    socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket!.onopen = () => resolve();
      socket!.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const ws = socket;
  let nextId = 1;
  const pending = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  const listeners = new Set<(message: Message) => void>();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data as string) as Message;
    if (message.id !== undefined) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message.result ?? {});
      return;
    }
    for (const listener of listeners) listener(message);
  };
  const send = (
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  return {
    async newPage() {
      const { targetId } = await send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true }) as {
        sessionId: string;
      };
      const call = (method: string, params: Record<string, unknown> = {}) =>
        send(method, params, sessionId);
      const problems: PageProblem[] = [];
      let loaded: (() => void) | undefined;
      listeners.add((message) => {
        if (message.sessionId !== sessionId) return;
        const params = message.params ?? {};
        if (message.method === "Page.loadEventFired") loaded?.();
        if (message.method === "Runtime.exceptionThrown") {
          const details = params.exceptionDetails as {
            text: string;
            exception?: { description?: string };
          };
          problems.push({
            kind: "exception",
            text: details.exception?.description ?? details.text,
          });
        }
        if (message.method === "Runtime.consoleAPICalled" && params.type === "error") {
          const args = params.args as { value?: unknown; description?: string }[];
          problems.push({
            kind: "console",
            text: args.map((a) => String(a.value ?? a.description ?? "")).join(" "),
          });
        }
        if (message.method === "Log.entryAdded") {
          const entry = params.entry as { level: string; text: string; url?: string };
          if (entry.level === "error") {
            problems.push({ kind: "log", text: `${entry.text} ${entry.url ?? ""}`.trim() });
          }
        }
      });
      await call("Page.enable");
      await call("Runtime.enable");
      await call("Log.enable");
      const evaluate = async <T>(expression: string): Promise<T> => {
        const result = await call("Runtime.evaluate", {
          expression,
          awaitPromise: true,
          returnByValue: true,
        }) as {
          result: { value?: T };
          exceptionDetails?: { text: string; exception?: { description?: string } };
        };
        if (result.exceptionDetails) {
          const details = result.exceptionDetails;
          throw new Error(`${expression}: ${details.exception?.description ?? details.text}`);
        }
        return result.result.value as T;
      };
      return {
        problems,
        async navigate(url) {
          const load = new Promise<void>((resolve) => (loaded = resolve));
          await call("Page.navigate", { url });
          await load;
        },
        evaluate,
        async waitFor<T>(expression: string, what: string, timeoutMs = 10_000): Promise<T> {
          let last: unknown;
          return await eventually(
            async () => {
              last = await evaluate(expression);
              return last ? last as T : undefined;
            },
            what,
            { timeoutMs, everyMs: 50, detail: () => `last: ${last}` },
          );
        },
        async setViewport(width, height, mobile = false) {
          await call("Emulation.setDeviceMetricsOverride", {
            width,
            height,
            deviceScaleFactor: 1,
            mobile,
          });
        },
        async screenshot() {
          const { data } = await call("Page.captureScreenshot", { format: "png" }) as {
            data: string;
          };
          return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        },
      };
    },
    async [Symbol.asyncDispose]() {
      for (const waiter of pending.values()) waiter.reject(new Error("browser closed"));
      pending.clear();
      await stop();
      await drained;
    },
  };
}
