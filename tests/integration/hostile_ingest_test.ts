// deno-lint-ignore-file no-console
/**
 * Hostile producers against the ingest endpoint of a real `main.ts` process
 * (`PHAROS_SOURCES=demo,ingest`): malformed NDJSON, wrong shapes, oversized lines, odd
 * content types and encodings, stalled and abandoned chunked bodies, bad auth headers and
 * garbage over WebSocket ingest. Every HTTP answer must be clean (4xx/413/503 with a JSON
 * body, never a 5xx crash answer), the token never echoed, good lines applied, the process
 * up and its memory bounded.
 *
 * `HOSTILE_MODE=soak` repeats the barrage 20×.
 */
import assert from "node:assert/strict";
import {
  createHostileReport,
  type HostileReport,
  metricSum,
  residentBytes,
  scaled,
} from "../fakes/hostile_report.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { realTime } from "../wait.ts";

const TOKEN = "hostile-ingest-token-4f1c9e";
const MAX_BYTES = 65_536;
const ROUNDS = scaled(1);
/** See hostile_protocol_test.ts: a ~100 MB process; the barrage sends a few MB per round. */
const RSS_GROWTH_BOUND = 100 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function transfer(mint: string, slot: number, amount = "1") {
  return { type: "Transfer", slot, data: { mint, from: "alice", to: "bob", amount } };
}

const ndjson = (...lines: unknown[]) =>
  lines.map((line) => typeof line === "string" ? line : JSON.stringify(line)).join("\n");

/** What an HTTP answer looked like, for the report. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly json: Record<string, unknown> | undefined;
}

async function toAnswer(response: Response): Promise<Answer> {
  const body = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    body,
    json,
  };
}

function describe(answer: Answer): string {
  const code = answer.json?.code ?? answer.json?.error;
  const counts = answer.json !== undefined && "accepted" in answer.json
    ? ` accepted ${answer.json.accepted} rejected ${answer.json.rejected}`
    : "";
  return `${answer.status}${code === undefined ? "" : ` ${code}`}${counts}${
    answer.json === undefined ? " (not JSON)" : ""
  }`;
}

/** A clean answer: not 5xx (503 pipeline-full aside), JSON body with a JSON content type. */
function isClean(answer: Answer): boolean {
  const statusOk = answer.status < 500 ||
    (answer.status === 503 && answer.json?.code === "pipeline-full");
  return statusOk && answer.json !== undefined && answer.contentType.startsWith("application/json");
}

/** A clean error: `status` and a §6 body whose `error` and `code` agree. */
function isCleanError(answer: Answer, statuses: readonly number[]): boolean {
  return isClean(answer) && statuses.includes(answer.status) &&
    typeof answer.json?.code === "string" && answer.json.error === answer.json.code &&
    typeof answer.json.message === "string";
}

class Ingest {
  readonly base: string;
  readonly port: number;
  readonly report: HostileReport;
  /** Good lines sent in 202 answers, by mint. */
  readonly goodMints = new Set<string>();
  #slot = 1_000_000;

  constructor(port: number, report: HostileReport) {
    this.port = port;
    this.base = `http://127.0.0.1:${port}`;
    this.report = report;
  }

  nextSlot(): number {
    return this.#slot++;
  }

  async post(body: BodyInit | null, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${this.base}/ingest`, {
      method: "POST",
      body,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/x-ndjson",
        ...headers,
      },
    });
    return await toAnswer(response);
  }

  check(name: string, tried: string, answer: Answer, ok: boolean): void {
    const leaked = answer.body.includes(TOKEN);
    this.report.record(
      name,
      tried,
      describe(answer) + (leaked ? " LEAKS THE TOKEN" : ""),
      ok && !leaked,
    );
  }
}

/** Raw HTTP over TCP: sends `head` then `chunks` (pausing `stallMs` between), reads the answer. */
async function rawHttp(
  port: number,
  head: string,
  chunks: readonly Uint8Array[],
  options: { stallMs?: number; abandon?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, encoder.encode(head));
    for (const chunk of chunks) {
      if (options.stallMs) await realTime(options.stallMs, "a producer stalling mid-body");
      await writeAll(conn, chunk);
    }
    if (options.abandon) return "abandoned";
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const buffer = new Uint8Array(64 * 1024);
    let text = "";
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return text === "" ? "no answer" : text;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = conn.read(buffer);
      const timeout = new Promise<"timeout">((resolve) =>
        timer = setTimeout(() => resolve("timeout"), left)
      );
      const n = await Promise.race([read, timeout]).finally(() => clearTimeout(timer));
      if (n === "timeout") {
        conn.close();
        await read.catch(() => null);
        return text === "" ? "no answer" : text;
      }
      if (n === null) return text === "" ? "connection closed" : text;
      text += decoder.decode(buffer.subarray(0, n));
      // One answer is enough: stop once the headers and the announced body are in.
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const length = Number(text.slice(0, end).match(/content-length:\s*(\d+)/i)?.[1] ?? NaN);
        if (Number.isFinite(length) && encoder.encode(text.slice(end + 4)).length >= length) {
          return text;
        }
        if (
          /transfer-encoding:\s*chunked/i.test(text.slice(0, end)) && text.endsWith("0\r\n\r\n")
        ) return text;
      }
    }
  } finally {
    try {
      conn.close();
    } catch {
      // already closed after a timeout
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function rawStatus(text: string): number {
  return Number(text.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? NaN);
}

async function malformedBodies(ingest: Ingest, round: number): Promise<void> {
  // Broken JSON mixed with good lines: the good ones are accepted and applied.
  const good = [0, 1, 2].map((i) => `hgood-${round}-${i}`);
  const lines = [
    transfer(good[0]!, ingest.nextSlot()),
    "{oops",
    '{"type":"Transfer","slot":1,"data":{"mint":"x"', // cut short
    transfer(good[1]!, ingest.nextSlot()),
    "\u0000\u0001\u0002",
    "[".repeat(10_000) + "]".repeat(10_000),
    "null",
    "",
    "   ",
    transfer(good[2]!, ingest.nextSlot()),
  ];
  const mixed = await ingest.post(ndjson(...lines));
  const accepted = mixed.json?.accepted;
  ingest.check(
    "mixed-ndjson",
    "3 good lines among broken JSON, NUL bytes, 10 000-deep nesting, blank lines",
    mixed,
    mixed.status === 202 && isClean(mixed) && accepted === 3,
  );
  if (mixed.status === 202) { for (const mint of good) ingest.goodMints.add(mint); }

  const shapes = [
    {},
    [],
    { type: 5 },
    { type: "" },
    { type: "Transfer" },
    { type: "Transfer", data: "x" },
    { type: "Transfer", data: null },
    { type: "Transfer", slot: -1, data: { mint: "m" } },
    { type: "Transfer", slot: "nine", data: { mint: "m" } },
    { type: "Transfer", slot: 1.5, data: { mint: "m" } },
    { type: "Transfer", slot: 1e308, data: { mint: "m" } },
    { type: "Transfer", key: 7, data: { mint: "m" } },
    { type: "Transfer", index: -3, slot: 1, data: { mint: "m" } },
    { type: "Transfer", traceparent: 42, data: { mint: "m" } },
    { type: "Transfer", data: { mint: { $ne: 1 } } },
    { type: "NoSuchEvent", slot: 1, data: {} },
    { type: "x".repeat(5000), data: {} },
    { __proto__: { type: "Transfer" }, data: {} },
  ];
  const wrong = await ingest.post(ndjson(...shapes));
  ingest.check(
    "wrong-shapes",
    `${shapes.length} events with wrong types, missing or absurd fields`,
    wrong,
    isClean(wrong) && (wrong.status === 202 || wrong.status === 400),
  );
  // A JSON array body with the same junk.
  const array = await ingest.post(JSON.stringify(shapes), { "content-type": "application/json" });
  ingest.check(
    "wrong-shapes-array",
    "the same events as one JSON array",
    array,
    isClean(array) && array.status < 500,
  );

  // One line over PHAROS_INGEST_MAX_BYTES.
  const huge = await ingest.post(JSON.stringify(transfer("h".repeat(MAX_BYTES + 10), 1)));
  ingest.check(
    "huge-line",
    `one line of ${MAX_BYTES + 100} bytes`,
    huge,
    isCleanError(huge, [413]),
  );
  const streamedHuge = await ingest.post(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(4096).fill(0x61));
        controller.close();
      },
    }),
  );
  ingest.check(
    "huge-streamed",
    "160 KiB streamed without Content-Length",
    streamedHuge,
    isCleanError(streamedHuge, [413]),
  );

  // NDJSON and JSON media types (or none) are parsed; anything else, form posts above all
  // (which a browser sends cross-site without a preflight), is refused with 415.
  for (
    const [type, expected] of [
      ["text/plain", 202],
      ["application/octet-stream", 415],
      ["multipart/form-data; boundary=x", 415],
      ["application/x-www-form-urlencoded", 415],
      ["application/json; charset=latin1", 202],
      ["../../etc/passwd", 415],
      ["", 202],
    ] as const
  ) {
    const mint = `hctype-${round}-${type.length}`;
    const answer = await ingest.post(ndjson(transfer(mint, ingest.nextSlot())), {
      "content-type": type,
    });
    if (answer.status === 202 && answer.json?.accepted === 1) ingest.goodMints.add(mint);
    ingest.check(
      `content-type ${JSON.stringify(type)}`,
      `a good line with this Content-Type: expect ${expected}`,
      answer,
      isClean(answer) && answer.status === expected,
    );
  }

  const empty = await ingest.post(null);
  ingest.check("empty-body", "POST with no body", empty, isClean(empty) && empty.status < 500);
  const blank = await ingest.post("\n\n\n");
  ingest.check(
    "blank-body",
    "POST with only newlines",
    blank,
    isClean(blank) && blank.status < 500,
  );

  const gzipish = new Uint8Array([
    0x1f,
    0x8b,
    0x08,
    0x00,
    ...crypto.getRandomValues(new Uint8Array(512)),
  ]);
  const gz1 = await ingest.post(gzipish);
  ingest.check(
    "gzip-garbage",
    "gzip magic bytes then noise",
    gz1,
    isClean(gz1) && gz1.status < 500,
  );
  const gz2 = await ingest.post(gzipish, { "content-encoding": "gzip" });
  ingest.check(
    "gzip-garbage-encoded",
    "the same with Content-Encoding: gzip",
    gz2,
    isClean(gz2) && gz2.status < 500,
  );
  const bomb = await gzipBomb();
  const gz3 = await ingest.post(bomb, { "content-encoding": "gzip" });
  ingest.check(
    "gzip-bomb",
    `${bomb.length} gzip bytes inflating to 64 MiB, Content-Encoding: gzip`,
    gz3,
    isClean(gz3) && gz3.status < 500,
  );

  const invalidUtf8 = new Uint8Array([
    ...encoder.encode(JSON.stringify(transfer(`hutf-${round}`, ingest.nextSlot())) + "\n"),
    ...encoder.encode('{"type":"Transfer","slot":5,"data":{"mint":"'),
    0xff,
    0xfe,
    0xc0,
    0xaf,
    ...encoder.encode('"}}'),
  ]);
  const utf = await ingest.post(invalidUtf8);
  ingest.check(
    "invalid-utf8",
    "a good line then a line with invalid UTF-8 bytes",
    utf,
    isClean(utf) && utf.status < 500,
  );
}

/** A gzip stream of 64 MiB of zeros: a few dozen KB on the wire. */
async function gzipBomb(): Promise<Uint8Array<ArrayBuffer>> {
  const zeros = new Uint8Array(1024 * 1024);
  const stream = new ReadableStream<BufferSource>({
    start(controller) {
      for (let i = 0; i < 64; i++) controller.enqueue(zeros);
      controller.close();
    },
  }).pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function stalledBodies(ingest: Ingest, round: number): Promise<void> {
  const head = (extra: string) =>
    `POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
    `Content-Type: application/x-ndjson\r\n${extra}\r\n`;
  const line = encoder.encode(
    JSON.stringify(transfer(`hstall-${round}`, ingest.nextSlot())) + "\n",
  );
  const chunk = (bytes: Uint8Array) =>
    new Uint8Array([
      ...encoder.encode(bytes.length.toString(16) + "\r\n"),
      ...bytes,
      ...encoder.encode("\r\n"),
    ]);

  // Chunked, stalls between chunks, then finishes: accepted.
  const slow = await rawHttp(ingest.port, head("Transfer-Encoding: chunked\r\n"), [
    chunk(line.subarray(0, 10)),
    chunk(line.subarray(10)),
    encoder.encode("0\r\n\r\n"),
  ], { stallMs: 300 });
  const slowStatus = rawStatus(slow);
  if (slowStatus === 202) ingest.goodMints.add(`hstall-${round}`);
  ingest.report.record(
    "chunked-stall-finish",
    "a chunked body that stalls 300 ms between chunks, then ends",
    String(slowStatus),
    slowStatus === 202,
  );

  // Chunked, half a line, then the client vanishes: nothing to answer, nothing may break.
  const gone = await Promise.all(
    Array.from(
      { length: 10 },
      () =>
        rawHttp(
          ingest.port,
          head("Transfer-Encoding: chunked\r\n"),
          [chunk(line.subarray(0, 20))],
          {
            stallMs: 100,
            abandon: true,
          },
        ),
    ),
  );
  ingest.report.record(
    "chunked-abandoned",
    "10 chunked bodies cut off mid-line (TCP closed)",
    gone[0]!,
    true,
  );

  // Content-Length promises more than arrives; the client goes quiet, then leaves.
  const short = await Promise.all(
    Array.from(
      { length: 10 },
      () => rawHttp(ingest.port, head("Content-Length: 5000\r\n"), [line], { timeoutMs: 1000 }),
    ),
  );
  const answered = short.filter((s) => s !== "no answer" && s !== "connection closed");
  const bad = answered.filter((s) => rawStatus(s) >= 500 && rawStatus(s) !== 503);
  ingest.report.record(
    "short-content-length",
    "10 bodies shorter than Content-Length, client stalls 1 s then leaves",
    answered.length === 0
      ? "no answer while waiting (as expected)"
      : `answers: ${answered.map(rawStatus).join(",")}`,
    bad.length === 0,
  );

  // Declared far over the limit: refused up front, without reading the body.
  const declared = await rawHttp(ingest.port, head(`Content-Length: ${100 * MAX_BYTES}\r\n`), [
    line,
  ], { timeoutMs: 3000 });
  ingest.report.record(
    "declared-over-limit",
    `Content-Length ${100 * MAX_BYTES} with a short body`,
    String(rawStatus(declared)),
    rawStatus(declared) === 413 && !declared.includes(TOKEN),
  );

  // Chunk-size garbage.
  const junk = await rawHttp(ingest.port, head("Transfer-Encoding: chunked\r\n"), [
    encoder.encode("zz\r\nhello\r\n0\r\n\r\n"),
  ], { timeoutMs: 3000 });
  const junkStatus = rawStatus(junk);
  ingest.report.record(
    "chunk-size-garbage",
    "a chunked body with a non-hex chunk size",
    Number.isNaN(junkStatus) ? junk.slice(0, 40) || "closed" : String(junkStatus),
    Number.isNaN(junkStatus) || junkStatus < 500,
  );
}

async function badAuth(ingest: Ingest): Promise<void> {
  const goodLine = ndjson(transfer("hauth-never", 1));
  const cases: [string, Record<string, string>][] = [
    ["missing", {}],
    ["wrong", { authorization: "Bearer nope" }],
    ["prefix of the token", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ["token plus a suffix", { authorization: `Bearer ${TOKEN}x` }],
    ["lower-case scheme, wrong token", { authorization: "bearer nope" }],
    ["Basic scheme", { authorization: `Basic ${btoa(`user:${TOKEN}`)}` }],
    ["Bearer without a token", { authorization: "Bearer" }],
    ["Bearer and spaces", { authorization: "Bearer     " }],
    ["oversized (16 KiB)", { authorization: `Bearer ${"A".repeat(16 * 1024)}` }],
    ["two tokens", { authorization: `Bearer nope, Bearer ${TOKEN}x` }],
  ];
  for (const [name, headers] of cases) {
    const response = await fetch(`${ingest.base}/ingest`, {
      method: "POST",
      body: goodLine,
      headers: { "content-type": "application/x-ndjson", ...headers },
    });
    const answer = await toAnswer(response);
    const sent = headers.authorization ?? "";
    const echoed = sent.length > 12 &&
      answer.body.includes(sent.replace(/^\S+\s+/, "").trim().slice(0, 12));
    // Bare 401 with a §6 body; a 400 (malformed header) or 431 (header too large) is clean too.
    const clean = isCleanError(answer, [401, 400]) || answer.status === 431;
    ingest.report.record(
      `auth: ${name}`,
      "POST /ingest with a good line",
      describe(answer) + (echoed ? " ECHOES THE HEADER" : ""),
      clean && !echoed && !answer.body.includes(TOKEN),
    );
  }
  // A wrong token with bytes fetch will not send: over raw TCP.
  const raw = await rawHttp(
    ingest.port,
    `POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \u00ff\u00fe${TOKEN}\r\nContent-Length: 2\r\n\r\n`,
    [encoder.encode("{}")],
  );
  ingest.report.record(
    "auth: non-ASCII bytes",
    "Authorization with bytes 0xff 0xfe",
    String(rawStatus(raw)),
    [400, 401].includes(rawStatus(raw)) && !raw.includes(TOKEN),
  );
}

async function wsGarbage(ingest: Ingest, round: number): Promise<void> {
  const url = `ws://127.0.0.1:${ingest.port}/ingest?token=${encodeURIComponent(TOKEN)}`;
  await using producer = await TestClient.connect(url);
  const goodMint = `hws-${round}`;
  const messages: (string | Uint8Array)[] = [
    "not json",
    "",
    "null",
    "[]",
    "{}",
    "[".repeat(10_000) + "]".repeat(10_000),
    JSON.stringify({ type: 5 }),
    JSON.stringify([{ type: "Transfer" }, null, 7, "x"]),
    new Uint8Array([1, 2, 3]),
    new Uint8Array([0x1f, 0x8b, 0, 0]),
    JSON.stringify(transfer(goodMint, ingest.nextSlot())),
  ];
  for (const message of messages) producer.socket.send(message);
  // The barrier: a message of 7 bad events, whose reply (rejected: 7, more than any message
  // above has) comes after every reply to the messages before it.
  producer.socket.send(JSON.stringify(Array.from({ length: 7 }, () => null)));
  const isBarrier = (f: { json: Record<string, unknown> }) => f.json.rejected === 7;
  await producer.waitFor((f) => f.some(isBarrier), 5000, "the barrier's reply").catch(() => {
    // A closed or silent socket is what the report records below.
  });
  const replies = producer.frames.filter((f) => !isBarrier(f)).map((f) => f.json);
  const open = producer.socket.readyState === WebSocket.OPEN;
  ingest.report.record(
    "ws-ingest-garbage",
    `${messages.length} messages: non-JSON, deep nesting, wrong shapes, binary, one good`,
    `${replies.length} replies (${
      [...new Set(replies.map((r) => String(r.type ?? r.error)))].join(",")
    }), ${open ? "open" : "closed"}`,
    open && replies.length > 0 && replies.every((r) => r.type === "ingest-error"),
  );
  ingest.goodMints.add(goodMint);

  await using big = await TestClient.connect(url);
  big.socket.send("x".repeat(MAX_BYTES + 1));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const close = await Promise.race([
    big.closed,
    new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 5000)),
  ]).finally(() => clearTimeout(timer));
  ingest.report.record(
    "ws-ingest-over-max",
    `one ${MAX_BYTES + 1}-byte message`,
    close ? `close ${close.code}` : "not closed",
    close?.code === 1009,
  );

  // A wrong token over WebSocket: refused before the upgrade, never echoed.
  const refused = await fetch(
    `http://127.0.0.1:${ingest.port}/ingest?token=wrong-${TOKEN.slice(0, 4)}`,
    {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    },
  ).then(toAnswer);
  ingest.report.record(
    "ws-ingest-wrong-token",
    "upgrade /ingest?token=wrong-…",
    describe(refused),
    isCleanError(refused, [401]) && !refused.body.includes(`wrong-${TOKEN.slice(0, 4)}`),
  );
}

Deno.test("hostile ingest: malformed producers get clean answers, good lines still land", async () => {
  const report = createHostileReport();
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_SOURCES: "demo,ingest",
    PHAROS_DEMO_RATE: "20",
    PHAROS_INGEST_TOKEN: TOKEN,
    PHAROS_INGEST_MAX_BYTES: String(MAX_BYTES),
    PHAROS_LOG: "warn,pharos.ws.server=info",
    // Many mints: keep them all in the view cache so the subscriber check is exact.
    PHAROS_VIEW_CACHE_SIZE: "5000",
    PHAROS_STATE_TABLE_SIZE: "5000",
  });
  const port = await server.port;
  const ingest = new Ingest(port, report);
  let exitedEarly = false;
  server.exited.then(() => exitedEarly = true);
  await using subscriber = await TestClient.connect(`ws://127.0.0.1:${port}/`);
  try {
    subscriber.send({ type: "subscribe", view: "Token/list", withSnapshot: false });
    await subscriber.waitFor((f) => f.some((x) => x.json.op === "patch"), 10_000, "demo patches");
    const rssBefore = await residentBytes(server.child.pid);
    const metricsBefore = await (await fetch(`${ingest.base}/metrics`)).text();

    for (let round = 0; round < ROUNDS; round++) {
      const quiet = round > 0; // one report line per case: later rounds only record failures
      const sub = quiet ? createHostileReport() : report;
      const roundIngest = quiet
        ? Object.assign(new Ingest(port, sub), { goodMints: ingest.goodMints })
        : ingest;
      await malformedBodies(roundIngest, round);
      await stalledBodies(roundIngest, round);
      await badAuth(roundIngest);
      await wsGarbage(roundIngest, round);
      for (const failure of sub.failures()) {
        if (quiet) {
          report.record(`${failure.name} (round ${round})`, failure.tried, failure.saw, false);
        }
      }
    }

    // Good lines were applied: the subscriber saw a patch for every accepted mint.
    const wanted = [...ingest.goodMints];
    const seen = () => new Set(subscriber.ops("patch").map((f) => f.json.key));
    await subscriber.waitFor(() => wanted.every((m) => seen().has(m)), 10_000).catch(() =>
      undefined
    );
    const missing = wanted.filter((m) => !seen().has(m));
    report.record(
      "good-lines-applied",
      `${wanted.length} accepted mints reach a Token/list subscriber`,
      missing.length === 0 ? "all seen" : `missing ${missing.join(",")}`,
      missing.length === 0 && wanted.length >= 5,
    );
    const forbidden = ["hauth-never"].filter((m) => seen().has(m));
    report.record(
      "unauthorised-not-applied",
      "lines sent with bad auth",
      forbidden.length === 0 ? "none applied" : `applied: ${forbidden}`,
      forbidden.length === 0,
    );

    const metricsAfter = await (await fetch(`${ingest.base}/metrics`)).text();
    const ingested = metricSum(metricsAfter, "source_events_total", '{source="ingest"}') -
      metricSum(metricsBefore, "source_events_total", '{source="ingest"}');
    report.record(
      "ingest-events-counted",
      `source_events_total{source="ingest"} >= ${wanted.length}`,
      `grew by ${ingested}`,
      ingested >= wanted.length,
    );

    const health = await fetch(`${ingest.base}/health`);
    await health.body?.cancel();
    const status = await (await fetch(`${ingest.base}/status`)).json();
    report.record(
      "process-alive",
      "GET /health and /status after the barrage",
      `${health.status}, status ${status.status}`,
      health.status === 200 && !exitedEarly,
    );
    await realTime(
      500,
      "the server process settles (collection, freed buffers) before its RSS is read",
    );
    const rssAfter = await residentBytes(server.child.pid);
    report.recordRssGrowth(rssBefore, rssAfter, RSS_GROWTH_BOUND);
    report.record(
      "no-crash-output",
      "stderr of the server",
      server.stderr().trim() === "" ? "empty" : server.stderr().slice(0, 200),
      !/panic|uncaught|unhandled/i.test(server.stderr()),
    );
  } finally {
    console.log(report.summary());
  }
  assert.deepEqual(
    report.failures(),
    [],
    `hostile cases failed:\n${report.summary()}\n${server.stderr().slice(-2000)}`,
  );
});
