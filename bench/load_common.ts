// deno-lint-ignore-file no-console -- a benchmark process reports on stdout
/**
 * What the load generator's plans share: result lines, subscribed clients, `Transfer`
 * bodies, posting with retry, the fixed-rate and closed-loop senders, and the drain.
 * @module
 */
import process from "node:process";

const decoder = new TextDecoder();

/** Prints one result line for the orchestrator. */
export function emit(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** User + system CPU seconds this process has used. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Options for {@link openClients}. */
export interface ClientsOptions {
  readonly url: string;
  readonly view: string;
  readonly count: number;
  /** Handshakes in progress at once, at most. */
  readonly concurrency: number;
  /** Id of the first client; the others follow in the order they were acknowledged. Default 0. */
  readonly firstId?: number;
  /** Every frame after the `subscribed` acknowledgement. */
  readonly onFrame: (data: ArrayBuffer | string, id: number) => void;
  /** A subscribed client's socket closed. */
  readonly onClose: (code: number, id: number) => void;
}

/** Opens `count` sockets, each subscribed to `view`; resolves once each is acknowledged or failed. */
export async function openClients(
  options: ClientsOptions,
): Promise<{ sockets: WebSocket[]; failed: number }> {
  const { url, view, count, onFrame, onClose } = options;
  const firstId = options.firstId ?? 0;
  const sockets: WebSocket[] = [];
  let failed = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      let id = -1;
      socket.onopen = () => socket.send(JSON.stringify({ type: "subscribe", view }));
      socket.onmessage = (event) => {
        if (id >= 0) return onFrame(event.data, id);
        const text = typeof event.data === "string" ? event.data : decoder.decode(event.data);
        if (!text.includes('"subscribed"')) return;
        id = firstId + sockets.length;
        sockets.push(socket);
        resolve();
      };
      socket.onclose = (event) => {
        if (id < 0) {
          failed++;
          resolve();
        } else onClose(event.code, id);
      };
      socket.onerror = () => {};
    });
  await inPool(count, options.concurrency, openOne);
  return { sockets, failed };
}

/** Runs `task` `count` times, `concurrency` at a time. */
export async function inPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await task(next++);
  });
  await Promise.all(workers);
}

const encoder = new TextEncoder();

/**
 * NDJSON `Transfer` events for slots [from, to), over `keys` mints, as Pharos ingest takes
 * them; with `owners`, each also names the owner of its mint (`owner<k % owners>` for
 * `mint<k>`). Written as a template (the same bytes `JSON.stringify` gives, at a fraction of
 * the cost: the load generator must stay cheap).
 */
export function transferBody(
  from: number,
  to: number,
  keys: number,
  owners?: number,
): Uint8Array<ArrayBuffer> {
  let body = "";
  for (let slot = from; slot < to; slot++) {
    const key = slot % keys;
    const owner = owners === undefined ? "" : `,"owner":"owner${key % owners}"`;
    body += `${
      slot === from ? "" : "\n"
    }{"type":"Transfer","slot":${slot},"data":{"mint":"mint${key}","from":"wallet${
      slot % 97
    }","to":"wallet${(slot * 7) % 89}","amount":"${1_000_000 + slot}"${owner}}}`;
  }
  return encoder.encode(body);
}

/** Where and how to post events. */
export interface IngestTarget {
  readonly url: string;
  readonly token?: string;
  readonly keys: number;
  /** Events name an owner of their mint (see {@link transferBody}). */
  readonly owners?: number;
  /** After a 503, wait what `Retry-After` asks but at most this long. */
  readonly retryAfterCapMs: number;
}

/** Posts slot ranges; {@link Poster.takeRejected} counts the 503s since the last call. */
export interface Poster {
  /** Posts [from, to) (`body`, when prebuilt, must hold exactly those) until accepted. */
  post(from: number, to: number, body?: Uint8Array<ArrayBuffer>): Promise<void>;
  takeRejected(): number;
}

/**
 * Posts events, stamping `sentAt[slot]` just before each attempt. A 503 (pipeline full)
 * is retried with the same body; any other answer but 2xx, or a 2xx that refused some of
 * the events, is a bench bug and throws.
 */
export function createPoster(target: IngestTarget, sentAt: Float64Array): Poster {
  const headers = {
    "content-type": "application/x-ndjson",
    ...(target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }),
  };
  let rejected = 0;
  return {
    async post(from, to, prebuilt) {
      const body = prebuilt ?? transferBody(from, to, target.keys, target.owners);
      for (;;) {
        const now = performance.now();
        for (let slot = from; slot < to; slot++) sentAt[slot] = now;
        const response = await fetch(target.url, { method: "POST", headers, body });
        const text = await response.text();
        if (response.ok) {
          if (text.includes('"rejected":') && !text.includes('"rejected":0')) {
            throw new Error(`ingest refused some events: ${text.slice(0, 300)}`);
          }
          return;
        }
        if (response.status !== 503) throw new Error(`ingest answered ${response.status}`);
        rejected++;
        const retryAfterMs = Number(response.headers.get("retry-after") ?? 0) * 1000;
        await sleep(Math.min(target.retryAfterCapMs, Math.max(1, retryAfterMs || 1)));
      }
    },
    takeRejected() {
      const count = rejected;
      rejected = 0;
      return count;
    },
  };
}

/**
 * Posts `rate` events per second for `seconds`: every `intervalMs`, `post(count)` gets the
 * events due since the last post. Resolves when every post has been accepted.
 */
export async function sendAtRate(
  rate: number,
  seconds: number,
  intervalMs: number,
  post: (count: number) => Promise<void>,
): Promise<void> {
  const start = performance.now();
  const total = Math.round(rate * seconds);
  const posts: Promise<void>[] = [];
  let scheduled = 0;
  while (scheduled < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    if (due > scheduled) {
      posts.push(post(due - scheduled));
      scheduled = due;
    }
    await sleep(intervalMs);
  }
  await Promise.all(posts);
}

/**
 * A closed loop for `seconds` (or while `keepGoing()`): calls `send()`, which starts a
 * post, whenever `canSend(postsInFlight)`; else waits for `progress()` (resolved when
 * deliveries complete events), a post to finish, or 5 ms. Resolves when every post has
 * finished.
 */
export async function sendClosedLoop(
  seconds: number,
  options: {
    readonly keepGoing: () => boolean;
    readonly canSend: (postsInFlight: number) => boolean;
    readonly send: () => Promise<void>;
    readonly progress: () => Promise<void>;
  },
): Promise<void> {
  const end = performance.now() + seconds * 1000;
  const posts = new Set<Promise<void>>();
  while (performance.now() < end && options.keepGoing()) {
    if (options.canSend(posts.size)) {
      const request = options.send().finally(() => posts.delete(request));
      posts.add(request);
      continue;
    }
    await Promise.race([options.progress(), sleep(5), ...posts]);
  }
  await Promise.all(posts);
}

/** Waits until `done()`, or until `progress()` (a count) has not moved for `idleMs`. */
export async function drain(
  done: () => boolean,
  progress: () => number,
  idleMs: number,
): Promise<void> {
  let lastProgress = performance.now();
  let last = progress();
  while (!done() && performance.now() - lastProgress < idleMs) {
    await sleep(20);
    if (progress() !== last) {
      last = progress();
      lastProgress = performance.now();
    }
  }
}

/** Slots the load generator can track in one process. */
export const MAX_SLOTS = 4_000_000;

/**
 * Which events every live client meant to get them has received. Each client gets events
 * in slot order, so events complete in order: `completed` is the first slot some live
 * client still lacks. By default every live client gets every event; a subclass says
 * otherwise with {@link Completion.receivers}.
 */
export class Completion {
  /** Clients that received each slot. */
  readonly received: Uint32Array = new Uint32Array(MAX_SLOTS);
  /** The first slot not yet complete. */
  completed = 0;
  /** The next slot to post (slots below it were posted). */
  sent = 0;
  /** Live clients. */
  alive = 0;
  #wake: (() => void) | undefined;

  /** Live clients that get `slot`. */
  receivers(_slot: number): number {
    return this.alive;
  }

  /** One client received `slot`. */
  receive(slot: number): void {
    if (++this.received[slot]! >= this.receivers(slot) && slot === this.completed) this.advance();
  }

  /** A client left: events it lacked may now be complete. */
  leave(): void {
    this.alive--;
    this.advance();
  }

  /** Moves `completed` past every complete slot and wakes a waiting sender. */
  advance(): void {
    while (
      this.completed < this.sent && this.received[this.completed]! >= this.receivers(this.completed)
    ) {
      this.completed++;
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves at the next {@link Completion.advance}. */
  progress(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /** True when every posted event is complete. */
  get done(): boolean {
    return this.completed >= this.sent;
  }
}
