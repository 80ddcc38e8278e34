import type { HandlerCancelReason } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { CaptureChannel, type HostCapture, HostCaptureError } from "./capture_channel.ts";
import type { HostLaunch } from "./host_command.ts";
import {
  type CaptureKind,
  type DoneMessage,
  type HostMessage,
  type ReadyMessage,
  type RunMessage,
  type ServerMessage,
} from "./protocol.ts";
import { StdoutParser } from "./stdout_parser.ts";

/** Kept from the host's stderr, for telling an out-of-memory death from a crash. */
const STDERR_TAIL_BYTES = 8192;
/** V8's and Deno's words for a heap over its limit. */
const OUT_OF_MEMORY = /out of memory|heap limit|allocation failed/i;

/** How a host process ended. */
export interface HostExit {
  readonly reason: HandlerCancelReason;
  readonly code: number | null;
  readonly signal: string | null;
  /** The end of its stderr (Deno's own error output). */
  readonly stderr: string;
}

/** A run that did not finish because its host died (or was killed) first. */
export class HostDiedError extends Error {
  override readonly name = "HostDiedError";
  constructor(
    readonly exit: HostExit,
    /** Handler runs the host had started for this run message (its marks). */
    readonly runsStarted: number,
  ) {
    super(`Handler host died (${exit.reason}, ${describeExit(exit)})`);
  }
}

/** `exit code 1` / `signal SIGKILL`. */
export function describeExit(exit: Pick<HostExit, "code" | "signal">): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/** Options for {@link HostProcess.spawn}. */
export interface HostProcessOptions {
  readonly launch: HostLaunch;
  readonly clock: Clock;
  /**
   * Longest a handler run may go without the next mark or the answer before the host is
   * killed (`timeout`): the run budget plus a grace, so that async runs the host cancels
   * itself are not killed first.
   */
  readonly watchdogMs: number;
}

interface PendingRun {
  readonly id: number;
  /** When the host began it (it became the oldest unanswered run). */
  startedAt: number;
  resolve(answer: RunAnswer): void;
  reject(error: HostDiedError): void;
}

/** A run's answer and when the host began the run (monotonic ms, server clock). */
export interface RunAnswer {
  readonly done: DoneMessage;
  readonly startedAt: number;
}

/**
 * One handler host process, from the server's side: spawns it, reads its marks and
 * messages, runs one message at a time under a watchdog, and tells how it ended.
 */
export class HostProcess {
  readonly pid: number;
  /** Wall-clock ms when it was spawned. */
  readonly startedAt: number;
  /** Resolves when the host has loaded the stack; rejects when it could not. */
  readonly ready: Promise<ReadyMessage>;
  /** Resolves once the process has ended. */
  readonly exited: Promise<HostExit>;
  /**
   * The server's state generation the host's tables were seeded with; undefined before the
   * first seed. A server that replaces its state (a cluster checkpoint) starts a new one.
   */
  seeded: number | undefined;
  /** `[rss, heapUsed]` as the host last reported them (with a batch's answer, or asked). */
  memory: readonly [number, number] | undefined;
  /** The host's CPU seconds as it last reported them (asked: {@link requestUsage}). */
  cpuSeconds: number | undefined;

  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #clock: Clock;
  readonly #watchdogMs: number;
  readonly #parser: StdoutParser;
  readonly #captures: CaptureChannel;
  #stderr = "";
  #killedFor: HandlerCancelReason | undefined;
  #ended: HostExit | undefined;
  /** Runs sent and not answered, in order: the host runs them one after another. */
  #queue: PendingRun[] = [];
  /** Marks seen when the first queued run began: later ones are its runs. */
  #marksAtHeadStart = 0;
  #lastProgressAt = 0;
  #watchdog: Disposable | undefined;
  /** When the watchdog's timer is due: a timer far later than that means the server stalled. */
  #watchdogDueAt = 0;
  #onReady!: (message: ReadyMessage) => void;
  #onNotReady!: (error: Error) => void;

  private constructor(options: HostProcessOptions) {
    const { launch } = options;
    this.#clock = options.clock;
    this.#watchdogMs = options.watchdogMs;
    this.#child = new Deno.Command(launch.command, {
      args: [...launch.args],
      env: launch.env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.startedAt = options.clock.now();
    this.#writer = this.#child.stdin.getWriter();
    this.#parser = new StdoutParser((message) => this.#onMessage(message));
    this.#captures = new CaptureChannel({
      send: (message) => this.send(message),
      clock: this.#clock,
    });
    this.ready = new Promise<ReadyMessage>((resolve, reject) => {
      this.#onReady = resolve;
      this.#onNotReady = reject;
    });
    this.ready.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    void this.#readStdout();
    const stderrDone = this.#readStderr();
    this.exited = this.#child.status.then(async (status) => {
      await stderrDone;
      return this.#end(status);
    });
  }

  /** Starts a host process. */
  static spawn(options: HostProcessOptions): HostProcess {
    return new HostProcess(options);
  }

  /** True while the process runs and has not been told to die. */
  get alive(): boolean {
    return this.#ended === undefined && this.#killedFor === undefined;
  }

  /** Sends a message that has no answer (a seed). */
  async send(message: ServerMessage): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  }

  /**
   * Sends one run message; resolves with its answer, or rejects with
   * {@link HostDiedError} when the host dies first. Several may be queued: the host runs
   * them in order (the server sends the next batch while it publishes the last).
   */
  run(message: RunMessage): Promise<RunAnswer> {
    const ended = this.#ended;
    if (ended !== undefined || this.#killedFor !== undefined) {
      const exit = ended ?? { reason: this.#killedFor!, code: null, signal: null, stderr: "" };
      return Promise.reject(new HostDiedError(exit, 0));
    }
    const done = new Promise<RunAnswer>((resolve, reject) => {
      this.#queue.push({ id: message.id, startedAt: 0, resolve, reject });
    });
    if (this.#queue.length === 1) this.#startHead();
    this.send(message).catch(() => {}); // a dead pipe shows as the process ending
    return done;
  }

  /**
   * Takes a CPU profile of the host's next `seconds`, or a heap snapshot, while it keeps
   * running batches (a heap snapshot stops it while V8 takes it; the watchdog waits).
   * Rejects with a `HostCaptureError`: `died` when the host ends first (a runaway handler
   * killed by the watchdog), `timeout` when it does not answer in time.
   */
  capture(what: CaptureKind, seconds: number): Promise<HostCapture> {
    if (!this.alive) {
      return Promise.reject(
        new HostCaptureError("unavailable", `handler host ${this.pid} has ended`),
      );
    }
    return this.#captures.take(what, seconds);
  }

  #startHead(): void {
    this.#marksAtHeadStart = this.#parser.marks;
    this.#queue[0]!.startedAt = this.#lastProgressAt = this.#clock.monotonic();
    this.#armWatchdog(this.#watchdogMs);
  }

  /**
   * Asks the host for its memory and CPU time: `memory` and `cpuSeconds` change when it
   * answers, once it has run what was sent before (a host stuck in a run never does).
   */
  requestUsage(): void {
    if (!this.alive) return;
    this.send({ t: "usage" }).catch(() => {}); // a dead pipe shows as the process ending
  }

  /** Kills the process (SIGKILL: a host stuck in a loop would not see anything gentler). */
  kill(reason: HandlerCancelReason): void {
    if (this.#ended !== undefined || this.#killedFor !== undefined) return;
    this.#killedFor = reason;
    this.#watchdog?.[Symbol.dispose]();
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  #armWatchdog(ms: number): void {
    this.#watchdog?.[Symbol.dispose]();
    this.#watchdogDueAt = this.#clock.monotonic() + ms;
    this.#watchdog = this.#clock.setTimer(ms, () => this.#checkProgress());
  }

  #checkProgress(): void {
    if (this.#queue.length === 0) return;
    if (this.#clock.monotonic() - this.#watchdogDueAt >= this.#watchdogMs) {
      // The timer came a whole budget late: the server itself stalled (a heap snapshot of
      // it takes seconds), so the host's silence may be marks still unread in the pipe, more
      // than one reader turn can take. The budget starts over rather than kill a host that
      // may be working; a runaway is killed one budget later.
      this.#lastProgressAt = this.#clock.monotonic();
      this.#armWatchdog(this.#watchdogMs);
      return;
    }
    if (this.#captures.blocking) {
      // A capture holds the host between two runs; its own timeout bounds that.
      this.#armWatchdog(this.#watchdogMs);
      return;
    }
    const idleMs = this.#clock.monotonic() - this.#lastProgressAt;
    if (idleMs < this.#watchdogMs) {
      this.#armWatchdog(this.#watchdogMs - idleMs);
      return;
    }
    // A server busy past the budget may not have read marks that are already in the pipe:
    // give the reader one turn before calling the run stuck.
    this.#watchdog = this.#clock.setTimer(0, () => {
      if (this.#queue.length === 0) return;
      const stuck = !this.#captures.blocking &&
        this.#clock.monotonic() - this.#lastProgressAt >= this.#watchdogMs;
      if (stuck) this.kill("timeout");
      else this.#checkProgress();
    });
  }

  #onMessage(message: HostMessage): void {
    switch (message.t) {
      case "ready":
        this.#onReady(message);
        return;
      case "fatal":
        this.#onNotReady(new Error(message.message));
        return;
      case "done": {
        const head = this.#queue[0];
        if (head === undefined || head.id !== message.id) {
          this.#protocolError(`an answer to run ${message.id} nobody asked for`);
          return;
        }
        this.#queue.shift();
        this.#watchdog?.[Symbol.dispose]();
        if (this.#queue.length > 0) this.#startHead();
        if (message.mem !== undefined) this.memory = message.mem;
        head.resolve({ done: message, startedAt: head.startedAt });
        return;
      }
      case "capturing":
      case "sampling":
      case "captured":
      case "chunk":
      case "capture-failed": {
        const blocked = this.#captures.blocking;
        this.#captures.onMessage(message);
        // The run waiting behind a capture gets its whole budget from now.
        if (blocked && !this.#captures.blocking) this.#lastProgressAt = this.#clock.monotonic();
        return;
      }
      case "usage":
        // Not a run's progress: it never counts for the watchdog.
        this.memory = [message.rss, message.heapUsed];
        this.cpuSeconds = message.cpu;
        return;
      default:
        this.#protocolError(`a message of unknown type`);
    }
  }

  /** Guest code wrote to stdout itself, or the host is broken: either way it must go. */
  #protocolError(what: string): void {
    this.#stderr += `\n[pharos] the handler host sent ${what}`;
    this.kill("crash");
  }

  async #readStdout(): Promise<void> {
    try {
      for await (const chunk of this.#child.stdout) {
        const before = this.#parser.marks;
        if (!this.#parser.feed(chunk)) {
          this.#protocolError(this.#parser.error ?? "output that is not a message");
          break;
        }
        if (this.#parser.marks !== before) this.#lastProgressAt = this.#clock.monotonic();
      }
    } catch {
      // the process ended
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        this.#stderr += decoder.decode(chunk, { stream: true });
        if (this.#stderr.length > STDERR_TAIL_BYTES * 2) {
          this.#stderr = this.#stderr.slice(-STDERR_TAIL_BYTES);
        }
      }
    } catch {
      // the process ended
    }
  }

  #end(status: Deno.CommandStatus): HostExit {
    this.#watchdog?.[Symbol.dispose]();
    const stderr = this.#stderr.slice(-STDERR_TAIL_BYTES).trim();
    const reason = this.#killedFor ??
      (OUT_OF_MEMORY.test(stderr) ? "memory" : "crash");
    const exit: HostExit = { reason, code: status.code, signal: status.signal, stderr };
    this.#ended = exit;
    this.#writer.close().catch(() => {});
    this.#captures.failAll(
      new HostCaptureError(
        "died",
        `the handler host ended (${reason}, ${describeExit(exit)}) before the capture was done`,
      ),
    );
    const [head, ...queued] = this.#queue.splice(0);
    head?.reject(new HostDiedError(exit, this.#parser.marks - this.#marksAtHeadStart));
    for (const run of queued) run.reject(new HostDiedError(exit, 0));
    this.#onNotReady(
      new Error(
        `the handler host exited (${describeExit(exit)}) before loading the stack` +
          (stderr === "" ? "" : `: ${stderr}`),
      ),
    );
    return exit;
  }
}
