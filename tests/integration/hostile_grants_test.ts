// deno-lint-ignore-file no-console
/**
 * Hostile view grants against a real `main.ts` process (README "Security", "Who sees what"):
 * the orders stack (`examples/orders_stack.ts`, each `Order` shown only to the token whose
 * `sub` is its `owner`) behind JWT auth, fed by ingest.
 *
 * - Forged `views` claims, validly signed (an issuer that signs what it is given): not a
 *   list, lists of non-strings, a string, 10 000 patterns, star runs, long patterns, a claim
 *   of about 1 MB and the largest that fits the 8 KiB token limit, regular-expression and
 *   topic syntax, control and non-ASCII characters. Each is refused at the upgrade with 400
 *   `token-invalid-format`, or admitted with exactly the grant it spells (checked view by
 *   view: an ack for each granted view, `view-forbidden` for each other).
 * - Pattern injection through subscribe: a client granted `Order/*` asks for view ids that
 *   name a row group's bus topic (`Order/list|"bob"`), a derived window's topic, a pattern,
 *   and look-alikes. None is a view: each is ignored (counted as an unknown view, or
 *   refused as a malformed field) and no row of another owner reaches the client.
 *
 * Meanwhile Alice's and Bob's own clients must keep receiving their rows, and the process
 * must stay up. Waits are barriers (a later reply that must come first), never sleeps.
 */
import assert from "node:assert/strict";
import { claims, generateKeyPair, signJwt, upgradeAttempt, writeJwks } from "../fakes/auth_keys.ts";
import { createHostileReport, metricSum } from "../fakes/hostile_report.ts";
import type { SentFrame } from "../fakes/memory_transport.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { barrier, postIngest } from "./_helpers.ts";

const ISSUER = "https://issuer.test";
const AUDIENCE = "pharos-hostile";
const INGEST_TOKEN = "hostile-ingest";
const STACK = new URL("../../examples/orders_stack.ts", import.meta.url).pathname;
const VIEWS = ["Order/list", "Order/state", "Order/append"] as const;
/** The token size limit (README: a token is at most 8 KiB). */
const MAX_TOKEN_BYTES = 8 * 1024;

type View = typeof VIEWS[number];

/** A forged `views` claim and what Pharos must do with it. */
interface ClaimCase {
  readonly name: string;
  readonly views: unknown;
  /** The views the grant allows, when the token must be admitted; absent: refused (400). */
  readonly grants?: readonly View[];
  /**
   * The request is too big for Deno's HTTP layer (headers over about 64 KiB), which answers
   * a bare 400 and closes the connection before Pharos sees it: the refusal has no code.
   */
  readonly tooBigForHttp?: true;
}

const repeat = (n: number, make: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => make(i));

/** The largest claim of valid but useless 256-character patterns that keeps the token under 8 KiB. */
const BIG_PATTERNS = [...repeat(20, (i) => `Order/${"*x".repeat(124)}${i % 10}z`), "Order/state"];

const CLAIMS: readonly ClaimCase[] = [
  // Not a list of strings.
  { name: "an object", views: { "Order/list": true } },
  { name: "a number", views: 42 },
  { name: "null", views: null },
  { name: "true", views: true },
  { name: "a string instead of a list", views: "Order/*" },
  { name: "a list of non-strings", views: [1, true, null, {}, ["Order/list"]] },
  { name: "a list with one non-string", views: ["Order/list", 7] },
  { name: "a nested list", views: [["Order/*"]] },
  // Counts and lengths.
  { name: "10 000 patterns (over 8 KiB)", views: repeat(10_000, () => "a") },
  { name: "257 patterns", views: repeat(257, (i) => `p${i}`) },
  { name: "300-character pattern", views: ["Order/" + "l".repeat(294)] },
  { name: "a run of 300 stars", views: ["*".repeat(300)] },
  {
    name: "a claim of about 1 MB",
    views: repeat(4096, () => "Order/" + "x".repeat(250)),
    tooBigForHttp: true,
  },
  { name: "an empty pattern", views: [""] },
  // Characters outside A-Z a-z 0-9 _ - / *.
  { name: "regex .*", views: [".*"] },
  { name: "regex (a+)+", views: ["(a+)+"] },
  { name: "regex class", views: ["Order/[a-z]+"] },
  { name: "regex anchors and ?", views: ["^Order/list?$"] },
  { name: "regex alternation", views: ["Order/(list|state)"] },
  { name: "a pipe", views: ["Order/list|Order/state"] },
  { name: 'a row group topic Order/list|"alice"', views: ['Order/list|"alice"'] },
  { name: "a row group topic with a star", views: ["Order/list|*"] },
  { name: "a derived window topic Token/list#0:10", views: ["Token/list#0:10"] },
  { name: "a key Order/state:o-1", views: ["Order/state:o-1"] },
  { name: "a NUL", views: ["Order/list\u0000"] },
  { name: "a trailing space", views: ["Order/list "] },
  { name: "dots", views: ["Order/../*"] },
  { name: "non-ASCII letters", views: ["Ördér/list"] },
  { name: "an astral character", views: ["\u{1D546}rder/*"] },
  { name: "a zero-width space", views: ["Order/\u200blist"] },
  { name: "a backslash escape", views: ["Order/\\*"] },
  // Valid but odd: admitted with exactly what they spell.
  { name: "an empty list", views: [], grants: [] },
  { name: "**", views: ["**"], grants: VIEWS },
  { name: "a run of 256 stars", views: ["*".repeat(256)], grants: VIEWS },
  { name: "Order/**", views: ["Order/**"], grants: VIEWS },
  { name: "Order/l**t", views: ["Order/l**t"], grants: ["Order/list"] },
  { name: "*list", views: ["*list"], grants: ["Order/list"] },
  { name: "O*r*d*e*r*/*s*t*a*t*e", views: ["O*r*d*e*r*/*s*t*a*t*e"], grants: ["Order/state"] },
  {
    name: "256 patterns, one of them Order/list",
    views: [...repeat(255, (i) => `Other${i}/*`), "Order/list"],
    grants: ["Order/list"],
  },
  { name: "duplicates", views: ["Order/list", "Order/list", "Order/list"], grants: ["Order/list"] },
  {
    name: "a 256-character pattern",
    views: ["Order/" + "*".repeat(249) + "d"],
    grants: ["Order/append"],
  },
  { name: "the largest claim under 8 KiB", views: BIG_PATTERNS, grants: ["Order/state"] },
  { name: "patterns for views that do not exist", views: ["Token/*", "Nope/list"], grants: [] },
];

/**
 * View ids a client granted `Order/*` sends in subscribe messages. None names a view; the
 * ones with `:` (or over 256 characters) are malformed fields, the rest unknown views.
 */
const INJECTED_VIEWS: readonly string[] = [
  'Order/list|"bob"',
  "Order/list|bob",
  'Order/list|"alice"',
  'Order/state|"bob"',
  'Order/append|"bob"',
  "Order/list|*",
  'Order/list#0:10|"bob"',
  "Order/list#0:10",
  "Order/*",
  "*",
  "Order/list\u0000",
  "Order/list ",
  "order/list",
  "Order/List",
  "Order/list/",
  "Order/list%7C%22bob%22",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "Order/" + "x".repeat(300),
];
const malformed = (view: string) => view.includes(":") || view.length > 256;

const order = (id: string, owner: string, status: string) => ({
  type: "Order",
  data: { id, owner, status },
});
const isAck = (view: string) => (f: SentFrame) =>
  f.json.op === "subscribed" && f.json.view === view;
const forbidden = (f: SentFrame) => f.json.type === "error" && f.json.code === "view-forbidden";
/** Data frames (not acks, errors or auth replies) carrying `key`. */
const rowsOf = (frames: readonly SentFrame[], key: string) =>
  frames.filter((f) => f.json.op !== "subscribed" && f.json.key === key);
const snapshotKeys = (frames: readonly SentFrame[]) =>
  frames.filter((f) => f.json.op === "snapshot").flatMap((f) =>
    (f.json.data as { key: string }[]).map((e) => e.key)
  );

Deno.test("hostile grants: forged views claims and row-group topics reach no one else's rows", async () => {
  const report = createHostileReport();
  const pair = await generateKeyPair("k1");
  await using jwks = await writeJwks(pair.publicJwk);
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_LOG: "warn,pharos.ws.server=info",
    PHAROS_STACK: STACK,
    PHAROS_SOURCES: "ingest",
    PHAROS_INGEST_TOKEN: INGEST_TOKEN,
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_AUTH_AUDIENCE: AUDIENCE,
    PHAROS_HANDSHAKES_PER_MINUTE: "0",
    PHAROS_MAX_CONNECTIONS_PER_IP: "0",
  });
  const port = await server.port;
  const httpUrl = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}`;
  let exitedEarly = false;
  server.exited.then(() => exitedEarly = true);
  const token = (overrides: Record<string, unknown>) =>
    signJwt(pair.privateKey, claims(ISSUER, AUDIENCE, overrides), { alg: "EdDSA", kid: "k1" });
  const connect = async (overrides: Record<string, unknown>) =>
    await TestClient.connect(wsUrl, { authorization: `Bearer ${await token(overrides)}` });
  const metrics = async () => await (await fetch(`${httpUrl}/metrics`)).text();
  const ingest = (...events: unknown[]) => postIngest(port, INGEST_TOKEN, events);

  await ingest(order("a-1", "alice", "open"), order("b-1", "bob", "open"));
  // Alice's and Bob's own clients, which must keep receiving their rows throughout.
  const alice = await connect({ sub: "alice", views: ["Order/list"] });
  const bob = await connect({ sub: "bob", views: ["Order/list"] });
  const clients: TestClient[] = [alice, bob];
  try {
    for (const client of [alice, bob]) {
      client.send({ type: "subscribe", view: "Order/list" });
      await barrier(client);
    }
    report.record(
      "observers-start",
      "Alice and Bob subscribe to Order/list",
      `snapshots ${JSON.stringify(snapshotKeys(alice.frames))} and ${
        JSON.stringify(snapshotKeys(bob.frames))
      }`,
      snapshotKeys(alice.frames).join() === "a-1" && snapshotKeys(bob.frames).join() === "b-1",
    );

    for (const c of CLAIMS) {
      const forged = await token({ sub: "mallory", views: c.views });
      const tried = `views ${JSON.stringify(c.views).slice(0, 60)}… (token ${forged.length} chars)`;
      const grants = c.grants;
      if (grants === undefined) {
        report.record(
          `claim: ${c.name}`,
          tried,
          ...await refusal(httpUrl, forged, c.tooBigForHttp),
        );
        continue;
      }
      const seen = await grantOf(wsUrl, forged, clients);
      const want = VIEWS.map((v) => `${v} ${grants.includes(v) ? "granted" : "forbidden"}`);
      report.record(
        `claim: ${c.name}`,
        `${tried}, within 8 KiB: ${forged.length <= MAX_TOKEN_BYTES}`,
        seen.join(", "),
        seen.join() === want.join(),
      );
    }

    // A client granted Order/* (as Alice) tries to name Bob's row group, and other non-views.
    const mallory = await connect({ sub: "alice", views: ["Order/*"] });
    clients.push(mallory);
    const unknownBefore = metricSum(await metrics(), "ws_unknown_view_subscriptions_total");
    for (const view of INJECTED_VIEWS) {
      mallory.send({
        type: "subscribe",
        view,
        ...(view.startsWith("Order/state") ? { key: "b-1" } : {}),
      });
    }
    await barrier(mallory);
    const unknownAfter = metricSum(await metrics(), "ws_unknown_view_subscriptions_total");
    const acks = mallory.frames.filter((f) => f.json.op === "subscribed");
    const expectedUnknown = INJECTED_VIEWS.filter((v) => !malformed(v)).length;
    report.record(
      "subscribe: row-group and window topics, patterns, look-alikes",
      `${INJECTED_VIEWS.length} view ids (${expectedUnknown} well-formed) from a client granted Order/*`,
      `${acks.length} acks, ${unknownAfter - unknownBefore} counted as unknown views, socket ${
        mallory.socket.readyState === WebSocket.OPEN ? "open" : "closed"
      }`,
      acks.length === 0 && unknownAfter - unknownBefore === expectedUnknown &&
        mallory.socket.readyState === WebSocket.OPEN,
    );

    // Bob's order changes: Bob gets it; the client that named Bob's group gets nothing of it,
    // which its own order's patch (after Bob's, on the same socket) proves.
    mallory.send({ type: "subscribe", view: "Order/list" });
    await barrier(mallory);
    await ingest(order("b-1", "bob", "paid"), order("a-1", "alice", "paid"));
    await mallory.waitFor((f) => rowsOf(f, "a-1").some((x) => x.json.op === "patch"), 5000, "a-1");
    await bob.waitFor((f) => rowsOf(f, "b-1").some((x) => x.json.op === "patch"), 5000, "b-1");
    await alice.waitFor((f) => rowsOf(f, "a-1").some((x) => x.json.op === "patch"), 5000, "a-1");
    const leaked = [mallory, alice].flatMap((client) => rowsOf(client.frames, "b-1"));
    report.record(
      "no row of another owner",
      "Bob's order b-1 changes, then Alice's a-1",
      `frames of b-1 at Alice's clients: ${leaked.length}; Alice's and Bob's patches arrived`,
      leaked.length === 0 && snapshotKeys(mallory.frames).join() === "a-1",
    );

    const health = await fetch(`${httpUrl}/health`);
    await health.body?.cancel();
    report.record(
      "process-alive",
      "GET /health after every case",
      `${health.status}, ${exitedEarly ? "process exited" : "process running"}`,
      health.status === 200 && !exitedEarly,
    );
    const open = clients.every((client) => client.socket.readyState === WebSocket.OPEN);
    report.record(
      "observers-open",
      "Alice's, Bob's and the injecting client's sockets",
      open ? "open" : "one closed",
      open,
    );
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
    console.log(report.summary());
  }
  assert.deepEqual(
    report.failures(),
    [],
    `hostile cases failed:\n${report.summary()}\n${server.stderr().slice(-2000)}`,
  );
});

/**
 * Tries `token` at the upgrade: a case holds when it is refused with 400 token-invalid-format
 * (or, `tooBigForHttp`, with the HTTP layer's bare 400).
 */
async function refusal(
  httpUrl: string,
  token: string,
  tooBigForHttp = false,
): Promise<[string, boolean]> {
  // The query parameter too, while the URL stays of a size servers take.
  const vias = token.length <= MAX_TOKEN_BYTES
    ? ["header", "hs_token"] as const
    : ["header"] as const;
  const seen: string[] = [];
  let ok = true;
  for (const via of vias) {
    const response = await upgradeAttempt(
      httpUrl,
      via === "header"
        ? { headers: { authorization: `Bearer ${token}` } }
        : { path: `/?hs_token=${encodeURIComponent(token)}` },
    );
    const code = response.headers.get("x-error-code");
    const body = await response.text();
    seen.push(`${via}: ${response.status} ${code ?? `no code, body "${body}"`}`);
    ok &&= response.status === 400 &&
      (tooBigForHttp
        ? code === null && body === ""
        : code === "token-invalid-format" && JSON.parse(body).code === "token-invalid-format");
  }
  return [seen.join("; "), ok];
}

/**
 * Connects with `token` and subscribes to every view of the stack: what the grant is, view
 * by view (`granted`: an ack; `forbidden`: the view-forbidden error frame), or why the
 * connection failed. The client stays in `clients` until the test ends.
 */
async function grantOf(wsUrl: string, token: string, clients: TestClient[]): Promise<string[]> {
  const client = new TestClient(wsUrl, { authorization: `Bearer ${token}` });
  clients.push(client);
  try {
    await client.opened;
  } catch {
    return ["refused at the upgrade"];
  }
  for (const view of VIEWS) {
    client.send({ type: "subscribe", view, ...(view === "Order/state" ? { key: "a-1" } : {}) });
  }
  await barrier(client);
  const errors = client.frames.filter(forbidden).map((f) => String(f.json.message));
  return VIEWS.map((view) => {
    const acked = client.frames.some(isAck(view));
    const refused = errors.some((message) => message.endsWith(` ${view}`));
    return `${view} ${acked && !refused ? "granted" : refused && !acked ? "forbidden" : "unclear"}`;
  });
}
