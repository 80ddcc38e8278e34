// deno-lint-ignore-file no-console
/**
 * Hostile clients against a real `main.ts` process (demo source at 200 events/s): dozens of
 * concurrent sessions send a seeded-random mix of mistyped, unknown, deeply nested, huge,
 * invalid UTF-8, binary, fragmented and mutated messages and subscribe floods, while
 * well-behaved observers must keep receiving patches. Afterwards the process must be alive
 * and healthy, its memory bounded and the errors counted (docs/protocol.md §2, §5, §6).
 *
 * `HOSTILE_MODE=soak` runs 20× the actions; `HOSTILE_SEED=<n>` replays another mix.
 */
import assert from "node:assert/strict";
import {
  createHostileReport,
  HOSTILE_MODE,
  HOSTILE_SEED,
  type HostileReport,
  metricSum,
  residentBytes,
  scaled,
  seededRandom,
} from "../fakes/hostile_report.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { holdsWithin, realTime } from "../wait.ts";
import { RawWebSocket, toClose, type WireFrame } from "./_raw_ws.ts";

const LIST = "Token/list";
const MAX_MESSAGE_BYTES = 65_536; // the default of PHAROS_MAX_MESSAGE_BYTES
const MAX_SUBSCRIPTIONS = 20;
const SESSIONS = 30;
const ACTIONS_PER_SESSION = scaled(6);
const OBSERVERS = 4;
const FLOOD_SESSIONS = 3;
/**
 * RSS growth allowed over the barrage. A Deno process serving this load sits near 100 MB;
 * the barrage holds at most ~30 sessions × (one 64 KiB message being assembled + a bounded
 * outbound queue) at a time, a few MB, plus V8 heap growth that GC has not yet returned.
 * 100 MB leaves room for that slack yet catches retention of what the hostile clients sent
 * or per-connection leaks. Soak mode (20× the actions) grows V8's heap further once: six
 * soak barrages in one process measured RSS 194, 211, 218, 204, 212, 231 MiB after each
 * while the heap in use went 37, 106, 33, 71, 91, 75 MB (garbage, no trend: no leak), so
 * the soak bound is 200 MB over the start.
 */
const RSS_GROWTH_BOUND = (HOSTILE_MODE === "soak" ? 200 : 100) * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One masked client frame; `fin` false for all but the last fragment of a message. */
function frameBytes(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = new Uint8Array(header + 4 + length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  const view = new DataView(frame.buffer);
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65_536) {
    frame[1] = 0x80 | 126;
    view.setUint16(2, length);
  } else {
    frame[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(length));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i % 4]!;
  return frame;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Which outcome a hostile action had. */
type Outcome = { readonly ok: boolean; readonly saw: string; readonly closed?: number };

/**
 * A raw hostile connection: writes arbitrary frames, drains whatever the server sends (so it
 * is never a slow consumer by accident) and remembers the close code.
 */
class HostileSession implements AsyncDisposable {
  readonly raw: RawWebSocket;
  readonly frames: WireFrame[] = [];
  closeCode: number | undefined;
  ended = false;
  barriers = 0;
  readonly #draining: Promise<void>;
  #wakers: (() => void)[] = [];

  private constructor(raw: RawWebSocket) {
    this.raw = raw;
    this.#draining = this.#drain();
  }

  static async open(port: number): Promise<HostileSession> {
    const { socket, response } = await RawWebSocket.open(port, "/", 10_000);
    if (response.status !== 101) {
      socket.close();
      throw new Error(`upgrade refused: ${response.status} ${response.body}`);
    }
    return new HostileSession(socket);
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        const frame = await this.raw.readFrame(600_000);
        if (frame === undefined) break;
        this.frames.push(frame);
        this.#wake();
        if (frame.opcode === 8) {
          this.closeCode = toClose(frame).code;
          break;
        }
      }
    } catch {
      // The connection was closed under the read (dispose or a reset): that is the end.
    } finally {
      this.ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    for (const wake of this.#wakers.splice(0)) wake();
  }

  /** Writes raw bytes; false when the connection is gone. */
  async write(bytes: Uint8Array): Promise<boolean> {
    try {
      let written = 0;
      while (written < bytes.length) {
        written += await this.raw.conn.write(bytes.subarray(written));
      }
      return true;
    } catch {
      return false;
    }
  }

  send(opcode: number, payload: Uint8Array, fin = true): Promise<boolean> {
    return this.write(frameBytes(opcode, payload, fin));
  }

  text(message: unknown): Promise<boolean> {
    return this.send(
      1,
      encoder.encode(typeof message === "string" ? message : JSON.stringify(message)),
    );
  }

  /** Waits until `predicate` holds or the connection ends; false on timeout or end. */
  async waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.ended) return predicate();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wakers.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 100));
      });
      clearTimeout(timer);
    }
    return true;
  }

  /** Text frames parsed as JSON (auth replies and error frames). */
  texts(): Record<string, unknown>[] {
    return this.frames.filter((f) => f.opcode === 1).map((f) => {
      try {
        return JSON.parse(decoder.decode(f.payload)) as Record<string, unknown>;
      } catch {
        return { unparseable: decoder.decode(f.payload).slice(0, 80) };
      }
    });
  }

  /** Uncompressed binary frames whose JSON `op` is `op`. */
  binaryOps(op: string): number {
    let n = 0;
    for (const f of this.frames) {
      if (f.opcode !== 2 || f.payload[0] === 0x1f) continue;
      const text = decoder.decode(f.payload.subarray(0, 40));
      if (text.startsWith(`{"op":"${op}"`) || text.includes(`"op":"${op}"`)) n++;
    }
    return n;
  }

  authReplies(): number {
    return this.texts().filter((t) => "success" in t).length;
  }

  /**
   * Sends a valid `refresh_auth` and waits for its reply: the session answers messages in
   * order, so the reply proves every earlier message was handled and the socket is usable.
   */
  async barrier(timeoutMs = 10_000): Promise<boolean> {
    const before = this.authReplies();
    this.barriers++;
    if (!await this.text({ type: "refresh_auth", token: `barrier-${this.barriers}` })) {
      return false;
    }
    return await this.waitFor(() => this.authReplies() > before, timeoutMs);
  }

  /** Waits for the server's close frame (or the end of the connection). */
  async closedWithin(timeoutMs: number): Promise<number | undefined> {
    await this.waitFor(() => this.closeCode !== undefined, timeoutMs);
    return this.closeCode;
  }

  describeEnd(): string {
    return this.closeCode !== undefined
      ? `close ${this.closeCode}`
      : this.ended
      ? "connection dropped without a close frame"
      : "still open";
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.raw.close();
    await this.#draining;
  }
}

/** What each hostile action kind saw across all sessions, summed for the report. */
class Tally {
  readonly #kinds = new Map<
    string,
    { tried: string; count: number; failures: string[]; saw: Map<string, number> }
  >();
  /** Messages sent that Pharos must ignore and count as errors (a lower bound). */
  ignoredSent = 0;
  /** 1009 closes seen. */
  tooBig = 0;
  /** Connections the server failed without a close frame (protocol violations). */
  dropped = 0;

  add(kind: string, tried: string, outcome: Outcome): void {
    const entry = this.#kinds.get(kind) ??
      { tried, count: 0, failures: [], saw: new Map<string, number>() };
    entry.count++;
    entry.saw.set(outcome.saw, (entry.saw.get(outcome.saw) ?? 0) + 1);
    if (!outcome.ok) entry.failures.push(outcome.saw);
    this.#kinds.set(kind, entry);
  }

  recordInto(report: HostileReport): void {
    for (const [kind, entry] of this.#kinds) {
      const saw = [...entry.saw].map(([s, n]) => `${n}× ${s}`).join("; ");
      report.record(kind, `${entry.count}× ${entry.tried}`, saw, entry.failures.length === 0);
    }
  }
}

/** Values of the wrong JSON type (or an invalid value) for each kind of field. */
const NOT_A_STRING = [true, 0, -1, 1.5, 1e308, [], ["Token/list"], {}, { $ne: 1 }];
const NOT_A_COUNT = ["3", true, -1, 1.5, 1e12, [], {}, "Infinity"];
const NOT_A_BOOL = ["no", "false", 0, 1, [], {}];
const FIELDS: Readonly<Record<string, readonly (readonly [string, readonly unknown[]])[]>> = {
  subscribe: [
    ["view", [...NOT_A_STRING, "", "Token:list", "x".repeat(300)]],
    ["key", [...NOT_A_STRING, "", "a:b", "k".repeat(300)]],
    ["take", NOT_A_COUNT],
    ["skip", NOT_A_COUNT],
    ["withSnapshot", NOT_A_BOOL],
    ["after", [...NOT_A_STRING, "yesterday", "1:2:3"]],
    ["snapshotLimit", NOT_A_COUNT],
  ],
  unsubscribe: [["view", [...NOT_A_STRING, ""]], ["key", [...NOT_A_STRING, "a:b"]]],
  refresh_auth: [["token", NOT_A_STRING]],
};

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A context for actions: the session may be replaced when an action closes it. */
interface Ctx {
  session: HostileSession;
  readonly port: number;
  readonly random: () => number;
  readonly tally: Tally;
}

/** Sends `messages` that must all be ignored, then checks the socket answers a barrier. */
async function expectIgnored(ctx: Ctx, kind: string, tried: string, messages: Uint8Array[]) {
  const acksBefore = ctx.session.binaryOps("subscribed");
  for (const message of messages) await ctx.session.send(1, message);
  ctx.tally.ignoredSent += messages.length;
  const answered = await ctx.session.barrier();
  const acks = ctx.session.binaryOps("subscribed") - acksBefore;
  ctx.tally.add(kind, tried, {
    ok: answered && acks === 0,
    saw: answered
      ? acks === 0 ? "ignored, socket usable" : `${acks} subscribed ack(s) for bad input`
      : `no barrier reply (${ctx.session.describeEnd()})`,
  });
}

/** Sends something that must close the socket with `code`; reopens a fresh session after. */
async function expectClose(
  ctx: Ctx,
  kind: string,
  tried: string,
  send: (s: HostileSession) => Promise<unknown>,
  accept: readonly number[],
  orDropped = false,
): Promise<void> {
  await send(ctx.session);
  const code = await ctx.session.closedWithin(10_000);
  if (code === 1009) ctx.tally.tooBig++;
  // A protocol violation may fail the connection without a close frame (RFC 6455 §7.1.7).
  const failed = orDropped && code === undefined && ctx.session.ended;
  if (failed) ctx.tally.dropped++;
  ctx.tally.add(kind, tried, {
    ok: (code !== undefined && accept.includes(code)) || failed,
    saw: ctx.session.describeEnd(),
  });
  await reopen(ctx);
}

async function reopen(ctx: Ctx): Promise<void> {
  await ctx.session[Symbol.asyncDispose]();
  ctx.session = await HostileSession.open(ctx.port);
}

const subscribe = (extra: Record<string, unknown> = {}) =>
  encoder.encode(JSON.stringify({ type: "subscribe", view: LIST, ...extra }));

/** Every hostile action, by name. */
const ACTIONS: Readonly<Record<string, (ctx: Ctx) => Promise<void>>> = {
  async "wrong-types"(ctx) {
    const type = pick(ctx.random, Object.keys(FIELDS));
    const messages = FIELDS[type]!.flatMap(([name, values]) =>
      values.map((value) => {
        const base: Record<string, unknown> = type === "refresh_auth"
          ? { type }
          : { type, view: LIST };
        return encoder.encode(JSON.stringify({ ...base, [name]: value }));
      })
    );
    await expectIgnored(
      ctx,
      `wrong-types`,
      "every field of subscribe/unsubscribe/refresh_auth mistyped",
      messages,
    );
  },
  async "unknown-types"(ctx) {
    const messages = [
      { type: "bogus", view: LIST },
      { type: 42 },
      { type: null, view: 1 },
      { type: ["subscribe"], view: LIST },
      { type: "SUBSCRIBE", view: LIST },
      { type: "subscribe\u0000", view: LIST },
      { type: "__proto__", view: LIST },
      { hello: "world" },
      "null",
      "[]",
      "42",
      '"subscribe"',
      "not json",
      "",
    ].map((m) => encoder.encode(typeof m === "string" ? m : JSON.stringify(m)));
    await expectIgnored(ctx, "unknown-types", "unknown types, non-objects, non-JSON", messages);
  },
  async "deep-nesting"(ctx) {
    const depth = 10_000;
    const messages = [
      "[".repeat(depth) + "]".repeat(depth),
      '{"a":'.repeat(depth) + "1" + "}".repeat(depth),
      '{"type":"subscribe","view":"Token/list","key":' + "[".repeat(depth) + "]".repeat(depth) +
      "}",
      '{"type":"subscribe","view":' + '{"v":'.repeat(depth) + "0" + "}".repeat(depth) + "}",
      "[".repeat(depth), // unbalanced
    ].map((m) => encoder.encode(m));
    await expectIgnored(
      ctx,
      "deep-nesting",
      "JSON nested 10 000 levels (arrays, objects, in fields, unbalanced)",
      messages,
    );
  },
  async "huge-under-max"(ctx) {
    const head = '{"type":"ping","pad":"';
    const ping = head + "x".repeat(MAX_MESSAGE_BYTES - head.length - 2) + '"}';
    await ctx.session.send(1, encoder.encode(ping));
    // Junk of exactly the maximum size: ignored (counted), not closed.
    await ctx.session.send(1, new Uint8Array(MAX_MESSAGE_BYTES).fill(0x7a));
    ctx.tally.ignoredSent++;
    const answered = await ctx.session.barrier();
    ctx.tally.add("huge-under-max", "a 65 536-byte ping and 65 536 bytes of junk", {
      ok: answered,
      saw: answered ? "accepted/ignored, socket usable" : ctx.session.describeEnd(),
    });
  },
  async "huge-over-max"(ctx) {
    const variant = Math.floor(ctx.random() * 3);
    const payload = variant === 0
      ? encoder.encode('{"type":"ping","pad":"' + "x".repeat(MAX_MESSAGE_BYTES) + '"}')
      : variant === 1
      ? encoder.encode("é".repeat(MAX_MESSAGE_BYTES / 2 + 1)) // 65 538 bytes, 32 769 chars
      : new Uint8Array(MAX_MESSAGE_BYTES + 1); // binary
    await expectClose(
      ctx,
      "huge-over-max",
      "messages just over 65 536 bytes (ASCII text, 2-byte UTF-8 text, binary)",
      (s) => s.send(variant === 2 ? 2 : 1, payload),
      [1009],
    );
  },
  async "invalid-utf8"(ctx) {
    const bytes = [
      concat([
        encoder.encode('{"type":"ping","x":"'),
        new Uint8Array([0xff, 0xfe]),
        encoder.encode('"}'),
      ]),
      new Uint8Array([0xc3, 0x28]), // bad continuation
      new Uint8Array([0xed, 0xa0, 0x80]), // UTF-16 surrogate
      new Uint8Array([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
      concat([
        encoder.encode('{"type":"subscribe","view":"Token/list","key":"'),
        new Uint8Array([0xc0, 0xaf]),
        encoder.encode('"}'),
      ]),
    ];
    const payload = pick(ctx.random, bytes);
    await ctx.session.send(1, payload);
    // Acceptable: ignored and usable, closed with 1007, or the connection failed (RFC 6455
    // §8.1 and §7.1.7: the endpoint fails the connection and MAY send a close frame first).
    const answered = await ctx.session.barrier(5000);
    const saw = answered ? "ignored, socket usable" : ctx.session.describeEnd();
    const closed = ctx.session.closeCode;
    if (!answered && closed === undefined) ctx.tally.dropped++;
    ctx.tally.add("invalid-utf8", "text frames with invalid UTF-8", {
      ok: answered || closed === 1007 || (closed === undefined && ctx.session.ended),
      saw,
    });
    if (!answered) await reopen(ctx);
  },
  async "binary-frames"(ctx) {
    const messages: [number, Uint8Array][] = [
      [2, new Uint8Array(0)],
      [2, crypto.getRandomValues(new Uint8Array(1 + Math.floor(ctx.random() * 4096)))],
      [
        2,
        concat([
          new Uint8Array([0x1f, 0x8b, 0x08, 0x00]),
          crypto.getRandomValues(new Uint8Array(64)),
        ]),
      ],
      [2, subscribe()],
    ];
    const acksBefore = ctx.session.binaryOps("subscribed");
    for (const [opcode, payload] of messages) await ctx.session.send(opcode, payload);
    ctx.tally.ignoredSent += messages.length;
    const answered = await ctx.session.barrier();
    const acks = ctx.session.binaryOps("subscribed") - acksBefore;
    ctx.tally.add("binary-frames", "empty, random, gzip-looking and a binary subscribe", {
      ok: answered && acks === 0,
      saw: answered
        ? (acks === 0 ? "ignored, socket usable" : "a binary subscribe was honoured")
        : ctx.session.describeEnd(),
    });
  },
  async "fragment-storm"(ctx) {
    // A valid 30 KB ping split into ~3000 fragments, with a ping control frame every 100.
    const head = '{"type":"ping","pad":"';
    const message = encoder.encode(head + "y".repeat(30_000) + '"}');
    const parts: Uint8Array[] = [];
    let pings = 0;
    for (let i = 0, n = 0; i < message.length; i += 10, n++) {
      const last = i + 10 >= message.length;
      parts.push(frameBytes(n === 0 ? 1 : 0, message.subarray(i, i + 10), last));
      if (n % 100 === 50) {
        parts.push(frameBytes(9, encoder.encode(`p${pings++}`)));
      }
    }
    await ctx.session.write(concat(parts));
    const answered = await ctx.session.barrier();
    const pongs = ctx.session.frames.filter((f) => f.opcode === 10).length;
    ctx.tally.add("fragment-storm", "a 30 KB message in ~3000 fragments with interleaved pings", {
      ok: answered,
      saw: answered
        ? `assembled, socket usable (${pongs} pongs so far)`
        : ctx.session.describeEnd(),
    });
  },
  async "fragment-storm-over-max"(ctx) {
    const total = MAX_MESSAGE_BYTES + 4096;
    const parts: Uint8Array[] = [];
    for (let i = 0, n = 0; i < total; i += 16, n++) {
      parts.push(frameBytes(n === 0 ? 1 : 0, new Uint8Array(16).fill(0x61), i + 16 >= total));
    }
    await expectClose(
      ctx,
      "fragment-storm-over-max",
      "a 69 KB text message in ~4400 fragments",
      (s) => s.write(concat(parts)),
      [1009],
    );
  },
  async "never-finished"(ctx) {
    // Starts a fragmented message, sends continuations, never sets FIN, then disconnects.
    const parts = [frameBytes(1, encoder.encode('{"type":"ping",'), false)];
    for (let i = 0; i < 500; i++) parts.push(frameBytes(0, encoder.encode('"p":1,'), false));
    await ctx.session.write(concat(parts));
    const ended = ctx.session.ended; // told, not checked: the server may still be reading
    ctx.tally.add("never-finished", "a fragmented message without FIN, then disconnect", {
      ok: true, // what matters (no crash, connection released) is checked at the end
      saw: ended ? ctx.session.describeEnd() : "held open until the client left",
    });
    await reopen(ctx);
  },
  async "data-inside-fragments"(ctx) {
    // RFC 6455 §5.4: a new data frame inside a fragmented message is a protocol error.
    await expectClose(
      ctx,
      "data-inside-fragments",
      "a text frame interleaved into an unfinished fragmented message",
      (s) =>
        s.write(concat([
          frameBytes(1, encoder.encode('{"type":'), false),
          frameBytes(1, encoder.encode('{"type":"ping"}')),
        ])),
      [1002, 1007, 1009],
      true,
    );
  },
  async "mutations"(ctx) {
    // Bit flips in the low 7 bits keep the text ASCII (valid UTF-8); truncations cut anywhere.
    const messages: Uint8Array[] = [];
    for (let i = 0; i < 12; i++) {
      const bytes = subscribe({ key: `mut${i}`, withSnapshot: false });
      if (ctx.random() < 0.5) {
        const flips = 1 + Math.floor(ctx.random() * 3);
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(ctx.random() * bytes.length);
          bytes[at] = bytes[at]! ^ (1 << Math.floor(ctx.random() * 7));
        }
        messages.push(bytes);
      } else {
        messages.push(bytes.slice(0, Math.floor(ctx.random() * (bytes.length - 1))));
      }
    }
    for (const message of messages) await ctx.session.send(1, message);
    // Some mutations still parse (a flipped key): those subscribe; the rest are ignored.
    const answered = await ctx.session.barrier();
    ctx.tally.add("mutations", "valid subscribes with bit flips or truncated", {
      ok: answered,
      saw: answered ? "ignored or honoured, socket usable" : ctx.session.describeEnd(),
    });
    // Release what the honoured mutations subscribed, so later actions start clean.
    await reopen(ctx);
  },
};

/** A flood: distinct subscribes up to and over the limit, duplicates, then unsubscribe. */
async function subscribeFlood(port: number, tally: Tally, extra: number): Promise<void> {
  await using session = await HostileSession.open(port);
  const total = MAX_SUBSCRIPTIONS + extra;
  const burst: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    burst.push(frameBytes(1, subscribe({ key: `flood${i}`, withSnapshot: false })));
  }
  // Duplicates of a held identity send nothing and take no slot.
  for (let i = 0; i < 5; i++) {
    burst.push(frameBytes(1, subscribe({ key: "flood0", withSnapshot: false })));
  }
  await session.write(concat(burst));
  const answered = await session.barrier();
  const acks = session.binaryOps("subscribed");
  const limitErrors = session.texts().filter((t) => t.code === "subscription-limit-exceeded");
  const fatal = limitErrors.some((t) => t.fatal !== false || t.type !== "error");
  tally.add(
    "subscribe-flood",
    `${MAX_SUBSCRIPTIONS + 5}-${
      MAX_SUBSCRIPTIONS + 7
    } distinct subscribes (limit ${MAX_SUBSCRIPTIONS}) + 5 duplicates`,
    {
      ok: answered && acks === MAX_SUBSCRIPTIONS && limitErrors.length === extra && !fatal,
      saw: `${acks} acks, ${limitErrors.length} subscription-limit-exceeded, ${
        answered ? "socket usable" : session.describeEnd()
      }`,
    },
  );
  // Unsubscribing frees a slot: the next subscribe is accepted again.
  await session.text({ type: "unsubscribe", view: LIST, key: "flood1" });
  await session.text({ type: "subscribe", view: LIST, key: "flood-again", withSnapshot: false });
  const freed = await session.barrier() && session.binaryOps("subscribed") === acks + 1;
  tally.add("subscribe-after-unsubscribe", "unsubscribe one at the limit, subscribe another", {
    ok: freed,
    saw: freed
      ? "accepted"
      : `${session.binaryOps("subscribed") - acks} new acks, ${session.describeEnd()}`,
  });
}

/** A hostile session: a seeded mix of actions, reconnecting after those that close it. */
async function hostileSession(port: number, seed: number, tally: Tally): Promise<void> {
  const random = seededRandom(seed);
  const ctx: Ctx = { session: await HostileSession.open(port), port, random, tally };
  try {
    const names = Object.keys(ACTIONS);
    for (let i = 0; i < ACTIONS_PER_SESSION; i++) {
      await ACTIONS[pick(random, names)]!(ctx);
    }
    // Exactly one reply per barrier: mistyped refresh_auth messages got none.
    const replies = ctx.session.authReplies();
    tally.add("refresh_auth-replies", "count replies against barriers sent", {
      ok: replies === ctx.session.barriers,
      saw: replies === ctx.session.barriers
        ? "one reply per valid refresh_auth"
        : `${replies} replies to ${ctx.session.barriers} valid refresh_auth`,
    });
  } finally {
    await ctx.session[Symbol.asyncDispose]();
  }
}

/** Bytes a never-finished fragmented message streams: 16× the limit (soak: 320×, 20 MiB). */
const UNFINISHED_BYTES = scaled(16 * MAX_MESSAGE_BYTES);

/**
 * A fragmented text message that grows far past the limit and never ends. The limit holds
 * if the server closes it (1009) once it is over; if it buffers the whole stream instead,
 * that must at least not amplify: RSS growth stays within 4× the bytes sent plus 32 MiB,
 * and the memory comes back when the client leaves (checked by the final RSS bound).
 */
async function neverFinishedOverMax(port: number, pid: number, report: HostileReport) {
  const before = await residentBytes(pid);
  await using session = await HostileSession.open(port);
  const chunk = new Uint8Array(16 * 1024).fill(0x62);
  let sent = 0;
  await session.send(1, encoder.encode('{"type":"ping","pad":"'), false);
  while (sent < UNFINISHED_BYTES && !session.ended) {
    if (!await session.send(0, chunk, false)) break;
    sent += chunk.length;
  }
  await session.waitFor(() => session.ended, 1000);
  const during = await residentBytes(pid);
  const growth = during - before;
  const closedEarly = session.closeCode === 1009;
  report.record(
    "never-finished-over-max",
    `an unfinished fragmented message of ${sent} bytes (limit ${MAX_MESSAGE_BYTES})`,
    `${closedEarly ? "closed 1009" : session.describeEnd()} after ${sent} bytes; RSS +${
      (growth / 2 ** 20).toFixed(1)
    } MiB`,
    closedEarly || growth < 4 * sent + 32 * 2 ** 20,
  );
}

async function metrics(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  return await response.text();
}

function patches(client: TestClient): number {
  return client.ops("patch").length;
}

Deno.test("hostile protocol: a barrage of bad clients leaves Pharos and its observers unharmed", async () => {
  const report = createHostileReport();
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_DEMO_RATE: "200",
    PHAROS_LOG: "warn,pharos.ws.server=info",
    PHAROS_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
    // Sessions reconnect after every closing action and send bursts: per-IP handshake and
    // message-rate limits (tested in hostile_handshake_test.ts) would end them early.
    PHAROS_HANDSHAKES_PER_MINUTE: "0",
    PHAROS_MAX_CONNECTIONS_PER_IP: "0",
    PHAROS_MAX_MESSAGES_PER_MINUTE: "0",
  });
  const port = await server.port;
  const base = `http://127.0.0.1:${port}`;
  let exitedEarly = false;
  server.exited.then(() => exitedEarly = true);

  const observers: TestClient[] = [];
  try {
    for (let i = 0; i < OBSERVERS; i++) {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/`);
      observers.push(client);
      client.send({ type: "subscribe", view: LIST });
    }
    for (const client of observers) {
      await client.waitFor((f) => f.some((x) => x.json.op === "patch"), 10_000, "a first patch");
    }
    await realTime(500, "the server process settles after start-up before the RSS baseline");
    const rssBefore = await residentBytes(server.child.pid);
    const metricsBefore = await metrics(base);
    const patchesBefore = observers.map(patches);

    const tally = new Tally();
    const started = Date.now();
    await Promise.all([
      ...Array.from({ length: SESSIONS }, (_, i) => hostileSession(port, HOSTILE_SEED + i, tally)),
      ...Array.from({ length: FLOOD_SESSIONS }, (_, i) => subscribeFlood(port, tally, 5 + i)),
    ]);
    const barrageMs = Date.now() - started;
    tally.recordInto(report);

    // Observers: still open, and they keep receiving after the barrage.
    const patchesAfter = observers.map(patches);
    const received = patchesAfter.map((n, i) => n - patchesBefore[i]!);
    report.record(
      "observers-during",
      `${OBSERVERS} Token/list observers through a ${barrageMs} ms barrage`,
      `patches received: ${received.join(", ")}`,
      received.every((n) => n > 0),
    );
    const more = await Promise.all(
      observers.map((client, i) =>
        client.waitFor(
          (f) => f.filter((x) => x.json.op === "patch").length > patchesAfter[i]! + 20,
          10_000,
        )
          .then(() => true, () => false)
      ),
    );
    const open = observers.map((c) => c.socket.readyState === WebSocket.OPEN);
    report.record(
      "observers-after",
      "20 more patches each after the barrage",
      `received: ${more.join(", ")}; open: ${open.join(", ")}`,
      more.every(Boolean) && open.every(Boolean),
    );

    // The process: alive, healthy, memory bounded.
    const health = await fetch(`${base}/health`);
    await health.body?.cancel();
    report.record(
      "process-alive",
      "GET /health after the barrage",
      `${health.status}, ${exitedEarly ? "process exited" : "process running"}`,
      health.status === 200 && !exitedEarly,
    );
    await realTime(
      500,
      "the server process settles (collection, freed buffers) before its RSS is read",
    );
    const rssAfter = await residentBytes(server.child.pid);
    report.recordRssGrowth(rssBefore, rssAfter, RSS_GROWTH_BOUND);

    // One client streams a fragmented message far over the limit and never finishes it.
    await neverFinishedOverMax(port, server.child.pid, report);

    // Errors counted: at least every message that must be ignored, and every 1009.
    const metricsAfter = await metrics(base);
    const errors = metricSum(metricsAfter, "ws_connection_errors_total") -
      metricSum(metricsBefore, "ws_connection_errors_total");
    report.record(
      "errors-counted",
      `ws_connection_errors_total grows by >= ${tally.ignoredSent} ignored messages`,
      `grew by ${errors}`,
      errors >= tally.ignoredSent,
    );
    const tooBig =
      metricSum(metricsAfter, "ws_connection_errors_by_kind_total", '{kind="message-too-big"}') -
      metricSum(metricsBefore, "ws_connection_errors_by_kind_total", '{kind="message-too-big"}');
    report.record(
      "too-big-counted",
      `message-too-big errors >= ${tally.tooBig} 1009 closes`,
      `grew by ${tooBig}`,
      tooBig >= tally.tooBig,
    );
    const socketErrors =
      metricSum(metricsAfter, "ws_connection_errors_by_kind_total", '{kind="socket"}') -
      metricSum(metricsBefore, "ws_connection_errors_by_kind_total", '{kind="socket"}');
    report.record(
      "failed-connections-counted",
      `socket errors >= ${tally.dropped} connections failed without a close frame`,
      `grew by ${socketErrors}`,
      socketErrors >= tally.dropped,
    );
    // Hostile sessions are all gone: the server released their connections.
    let active = NaN;
    await holdsWithin(
      async () => (active = metricSum(await metrics(base), "ws_connections_active")) === OBSERVERS,
      { timeoutMs: 10_000, everyMs: 200 },
    );
    report.record(
      "connections-released",
      "every hostile connection closed",
      `ws_connections_active ${active}`,
      active === OBSERVERS,
    );
  } finally {
    for (const client of observers) await client[Symbol.asyncDispose]();
    console.log(report.summary());
  }
  const failures = report.failures();
  assert.deepEqual(
    failures,
    [],
    `hostile cases failed:\n${report.summary()}\n${server.stderr().slice(-2000)}`,
  );
});
