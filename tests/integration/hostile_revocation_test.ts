// deno-lint-ignore-file no-console
/**
 * Hostile revocation lists against a real `main.ts` process: a list file rewritten with
 * documents over the size cap or the entry cap, malformed, deeply nested, with odd
 * entries, invalid UTF-8, a prototype-polluting field, empty or gone; and a list URL
 * answering with an endless body, a gzip bomb or a stall. Each must be refused whole: the
 * last good list stays in force (its revoked token is still refused), the failure is
 * counted, a healthy client keeps receiving, memory stays bounded, and a good list is
 * taken again afterwards.
 *
 * `HOSTILE_MODE=soak` repeats the rounds 20 times.
 */
import assert from "node:assert/strict";
import { claims, generateKeyPair, signJwt, upgradeAttempt, writeJwks } from "../fakes/auth_keys.ts";
import { createHostileReport, metricSum, residentBytes, scaled } from "../fakes/hostile_report.ts";
import { writeRevocationFile } from "../fakes/revocation_file.ts";
import { startRevocationServer } from "../fakes/revocation_server.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { holdsWithin } from "../wait.ts";

const ISSUER = "https://issuer.test";
const ROUNDS = scaled(1);
/** RSS growth allowed: each refused document may cost up to its 8 MiB cap while read. */
const RSS_GROWTH_BOUND = 150 * 1024 * 1024;
const MIB = 1024 * 1024;

/** Hostile list documents: what each is, and its bytes. */
function hostileDocuments(): [string, () => Uint8Array | string][] {
  const encoder = new TextEncoder();
  return [
    ["over the size cap (9 MiB of valid JSON)", () => {
      const entry = `"${"x".repeat(1_000)}"`;
      return `{"jti":[${Array(9 * 1024).fill(entry).join(",")}]}`;
    }],
    [
      "over the entry cap (100 001 token ids)",
      () => JSON.stringify({ jti: Array.from({ length: 100_001 }, (_, i) => `t${i}`) }),
    ],
    ["truncated JSON", () => '{"jti": ["bad-1", "bad-2"'],
    ["empty file", () => ""],
    ["deep nesting (100 000 arrays)", () => `{"jti":${"[".repeat(100_000)}${"]".repeat(100_000)}}`],
    [
      "odd entries (number, null, object, empty string)",
      () => JSON.stringify({ jti: ["bad-1", 7, null, { id: "x" }, ""] }),
    ],
    ["an entry of 1025 characters", () => JSON.stringify({ sub: ["y".repeat(1025)] })],
    ["invalid UTF-8", () => new Uint8Array([0x7b, 0x22, 0x6a, 0xff, 0xfe, 0x22, 0x3a, 0x5b, 0x5d])],
    ["not an object (an array)", () => '["bad-1"]'],
    ["a prototype-polluting field", () => '{"__proto__":{"jti":["bad-1"]},"jti":[]}'],
    ["a misspelt field (jtis)", () => JSON.stringify({ jtis: [] })],
    ["a NUL-laden binary blob", () => encoder.encode("\u0000".repeat(4096))],
  ];
}

/** A gzip stream of `bytes` zero bytes: a few KiB on the wire, `bytes` once decoded. */
function gzipBomb(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(MIB);
  let left = bytes;
  return new ReadableStream<BufferSource>({
    pull(controller) {
      if (left <= 0) return controller.close();
      controller.enqueue(chunk);
      left -= chunk.length;
    },
  }).pipeThrough(new CompressionStream("gzip"));
}

Deno.test("hostile revocation lists: refused whole, the last good list stays, the server serves", async () => {
  const report = createHostileReport();
  const key = await generateKeyPair();
  await using jwks = await writeJwks(key.publicJwk);
  const token = (jti: string) => signJwt(key.privateKey, claims(ISSUER, "", { jti }));
  await using list = await writeRevocationFile({ jti: ["bad-1"] });
  await using idp = startRevocationServer({ jti: ["bad-1"] });

  const env = {
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_AUTH: "jwt",
    PHAROS_AUTH_PUBLIC_KEYS: jwks.path,
    PHAROS_AUTH_ISSUER: ISSUER,
    PHAROS_HANDLER_ISOLATION: "inline",
    PHAROS_LOG: "warn,pharos.ws.server=info",
  };
  await using fileServer = spawnServer({ ...env, PHAROS_AUTH_REVOKED: list.path });
  await using urlServer = spawnServer({
    ...env,
    PHAROS_AUTH_REVOKED: idp.url,
    PHAROS_AUTH_REVOKED_INTERVAL_MS: "250",
  });
  const servers = [
    { name: "file", process: fileServer, port: await fileServer.port },
    { name: "url", process: urlServer, port: await urlServer.port },
  ];
  const failedReadings = async (port: number) =>
    metricSum(
      await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
      "auth_revocation_list_refreshes_total",
      '{outcome="failed"}',
    );
  const healthy = await Promise.all(servers.map(async ({ port }) => {
    const client = await TestClient.connect(
      `ws://127.0.0.1:${port}/?hs_token=${await token("ok")}`,
    );
    client.send({ type: "subscribe", view: "Token/list" });
    return client;
  }));
  const rssBefore = await Promise.all(
    servers.map(({ process }) => residentBytes(process.child.pid)),
  );

  /** The token id the list in force revokes: the first list's, then each round's good one. */
  let revokedNow = "bad-1";
  /**
   * Does `hostile` to `server`'s list source and records whether it held: the reading
   * failed and was counted, the list in force still refuses its token, the client is served.
   */
  async function tryOn(
    server: (typeof servers)[number],
    name: string,
    tried: string,
    hostile: () => unknown,
  ): Promise<void> {
    const before = await failedReadings(server.port);
    await hostile();
    // A stalled fetch takes its 5 s timeout to fail.
    const counted = await holdsWithin(async () => await failedReadings(server.port) > before, {
      timeoutMs: 8_000,
      everyMs: 50,
    });
    const response = await upgradeAttempt(`http://127.0.0.1:${server.port}`, {
      headers: { authorization: `Bearer ${await token(revokedNow)}` },
    });
    const stillRefused = response.status === 401 &&
      response.headers.get("x-error-code") === "token-revoked";
    await response.body?.cancel();
    const client = healthy[servers.indexOf(server)]!;
    const framesBefore = client.frames.length;
    const receiving = await holdsWithin(() => client.frames.length > framesBefore, 5_000);
    const saw = JSON.stringify({ counted, stillRefused, receiving });
    report.record(`${server.name}: ${name}`, tried, saw, counted && stillRefused && receiving);
  }

  for (let round = 0; round < ROUNDS; round++) {
    const [file, url] = servers;
    for (const [what, document] of hostileDocuments()) {
      await tryOn(file!, what, "the list file rewritten with it", () => list.write(document()));
    }
    await tryOn(file!, "removed", "the list file deleted", () => list.remove());

    const answers: [string, Parameters<typeof idp.setMode>[0]][] = [
      ["an endless body", {
        kind: "raw",
        body: () =>
          new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(64 * 1024).fill(32)) }),
      }],
      ["a stall mid-body", { kind: "stall" }],
      ["503", { kind: "down" }],
      ["9 MiB of valid JSON", { kind: "raw", body: () => hostileDocuments()[0]![1]() as string }],
      // 256 MiB of zeros in a few hundred KiB; fetch inflates it as it is read.
      ["a gzip bomb (256 MiB inflated)", {
        kind: "raw",
        body: () => gzipBomb(256 * MIB),
        headers: { "content-encoding": "gzip" },
      }],
    ];
    for (const [what, mode] of answers) {
      await tryOn(url!, what, "the list URL answering so", () => idp.setMode(mode));
    }

    // Good lists again: taken at once.
    await list.write({ jti: [`good-${round}`] });
    idp.setMode({ kind: "serve" });
    idp.publish({ jti: [`good-${round}`] });
    for (const server of servers) {
      const taken = await holdsWithin(async () => {
        const response = await upgradeAttempt(`http://127.0.0.1:${server.port}`, {
          headers: { authorization: `Bearer ${await token(`good-${round}`)}` },
        });
        await response.body?.cancel();
        return response.status === 401;
      }, 5_000);
      revokedNow = `good-${round}`;
      report.record(
        `${server.name}: a good list afterwards`,
        "a valid list",
        taken ? "in force" : "not taken",
        taken,
      );
    }
  }
  for (const [i, server] of servers.entries()) {
    report.recordRssGrowth(
      rssBefore[i]!,
      await residentBytes(server.process.child.pid),
      RSS_GROWTH_BOUND,
    );
  }
  await Promise.all(healthy.map((client) => client[Symbol.asyncDispose]()));
  console.log(report.summary());
  assert.deepEqual(report.failures(), [], report.summary());
});
