import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { writeRevocationFile } from "../../tests/fakes/revocation_file.ts";
import { until } from "../../tests/wait.ts";
import {
  MAX_REVOCATION_LIST_BYTES,
  openRevocations,
  type RevocationList,
  type RevocationRefresh,
  type Revocations,
  type RevocationShare,
  type RevocationsOptions,
} from "./mod.ts";

/** A watcher on `source` with a fake clock, recording what it reports and puts in force. */
async function watch(source: string, extra: Partial<RevocationsOptions> = {}) {
  const clock = new FakeClock();
  const refreshes: RevocationRefresh[] = [];
  const changes: RevocationList[] = [];
  const revocations = await openRevocations({
    source,
    intervalMs: 2_000,
    clock,
    onRefresh: (refresh) => refreshes.push(refresh),
    ...extra,
  });
  revocations.onChange((list) => changes.push(list));
  /** Moves the clock to the next check and waits until it is over (the next one is armed). */
  const nextCheck = async (ms: number) => {
    clock.advance(ms);
    await until(() => clock.pendingTimers > 0, "the check to end and the next to be armed");
  };
  return {
    clock,
    revocations,
    refreshes,
    changes,
    nextCheck,
    outcomes: () => refreshes.map((r) => r.outcome),
    async [Symbol.asyncDispose]() {
      await revocations.stop();
    },
  };
}

Deno.test("revocation list from a file", async (t) => {
  await using file = await writeRevocationFile({ jti: ["t-1"] });

  await t.step("read at start; a missing or malformed file stops start-up, naming it", async () => {
    await using w = await watch(file.path);
    assert.equal(w.revocations.revokes("t-1", undefined), true);
    assert.equal(w.clock.pendingTimers, 0, "nothing is watched before start");
    await assert.rejects(
      () => openRevocations({ source: `${file.path}.gone`, intervalMs: 2_000, clock: w.clock }),
      /Cannot read the revocation list from \/tmp\/.*\.gone: file not found/,
    );
    await using bad = await writeRevocationFile('{"jti":"t-1"}');
    await assert.rejects(
      () => openRevocations({ source: bad.path, intervalMs: 2_000, clock: w.clock }),
      /Cannot read the revocation list from .*: .*"jti" is not an array/,
    );
  });

  await t.step("a change is read within the next second's check", async () => {
    await using w = await watch(file.path);
    w.revocations.start();
    await w.nextCheck(1_000);
    assert.equal(w.refreshes.length, 0, "an unchanged file is no news");
    await file.write({ jti: ["t-1"], sub: ["mallory"] });
    await w.nextCheck(999);
    assert.deepEqual(w.changes, [], "not before the second is up");
    w.clock.advance(1);
    await until(() => w.changes.length === 1, "the new list in force");
    assert.equal(w.revocations.revokes("other", "mallory"), true);
    assert.deepEqual(w.outcomes(), ["updated"]);
    assert.deepEqual(w.refreshes[0]!.list.size, { jti: 1, sub: 1 });
  });

  await t.step("the same entries rewritten are read, and change nothing", async () => {
    await using w = await watch(file.path);
    w.revocations.start();
    await file.write({ sub: ["mallory", "mallory"], jti: ["t-1"] });
    await w.nextCheck(1_000);
    assert.deepEqual(w.outcomes(), ["unchanged"]);
    assert.deepEqual(w.changes, []);
  });

  await t.step("a malformed, huge or missing file keeps the last good list", async () => {
    await using w = await watch(file.path);
    w.revocations.start();
    const good = w.revocations.list();
    const huge = JSON.stringify({ jti: ["x".repeat(MAX_REVOCATION_LIST_BYTES)] });
    for (
      const [content, reason] of [
        ['{"jti":["t-1"', /not valid JSON/],
        [{ jti: [""] }, /entry 0 is not a string/],
        [huge, /over 8388608 bytes/],
        [{ jti: ["t-1"], extra: true }, /unknown field "extra"/],
      ] as const
    ) {
      await file.write(content);
      await w.nextCheck(1_000);
      const last = w.refreshes.at(-1)!;
      assert.equal(last.outcome, "failed");
      assert.match(last.error!.message, reason);
      assert.match(last.error!.message, /^Cannot read the revocation list from \/tmp\//);
      assert.equal(w.revocations.list(), good, "the last good list stays in force");
    }
    await file.remove();
    await w.nextCheck(1_000);
    assert.match(w.refreshes.at(-1)!.error!.message, /file not found/);
    assert.deepEqual(w.refreshes.map((r) => r.failures), [1, 2, 3, 4, 5], "failures in a row");
    assert.deepEqual(w.changes, []);
    await file.write({ jti: ["t-2"] });
    await w.nextCheck(1_000);
    const recovered = w.refreshes.at(-1)!;
    assert.equal(recovered.outcome, "updated");
    assert.equal(recovered.recoveredFrom, 5);
    assert.equal(w.revocations.revokes("t-2", undefined), true);
    assert.equal(w.revocations.revokes("t-1", undefined), false, "t-1 left the list");
  });

  await t.step(
    "a refused document is read once, and is a failure at each check; the good one ends it",
    async () => {
      await file.write({ jti: ["t-1"] });
      let reads = 0;
      await using w = await watch(file.path, {
        readTextFile: (path) => (reads++, Deno.readTextFile(path)),
      });
      w.revocations.start();
      await file.write('{"jti":');
      await w.nextCheck(1_000);
      await w.nextCheck(1_000);
      await w.nextCheck(1_000);
      assert.deepEqual(w.outcomes(), ["failed", "failed", "failed"]);
      assert.deepEqual(w.refreshes.map((r) => r.failures), [1, 2, 3]);
      assert.equal(w.refreshes[2]!.error, w.refreshes[0]!.error, "the same reason each time");
      assert.equal(reads, 2, "read at start-up, then the refused document once");
      assert.ok(w.revocations.status()!.age_seconds >= 3, "the list in force grows old");
      await file.write({ jti: ["t-1"] });
      await w.nextCheck(1_000);
      assert.deepEqual(w.outcomes(), ["failed", "failed", "failed", "unchanged"]);
      assert.equal(w.refreshes[3]!.recoveredFrom, 3);
      assert.equal(w.revocations.status()!.age_seconds, 0);
    },
  );

  await t.step(
    "status: the source, the sizes, the version and the age of the reading",
    async () => {
      await using w = await watch(file.path);
      w.revocations.start();
      w.clock.advance(500);
      const status = w.revocations.status()!;
      assert.equal(status.source, "file");
      assert.equal(status.jti, 1);
      assert.equal(status.sub, 0);
      assert.match(status.version!, /^[0-9a-f]{64}$/);
      assert.equal(status.age_seconds, 1);
      await w.nextCheck(500);
      assert.equal(w.revocations.status()!.age_seconds, 0, "an unchanged file is a fresh reading");
    },
  );

  await t.step("stop: no check is left armed or under way", async () => {
    const w = await watch(file.path);
    w.revocations.start();
    w.clock.advance(1_000); // a check under way
    await w.revocations.stop();
    assert.equal(w.clock.pendingTimers, 0);
    w.revocations.start();
    assert.equal(w.clock.pendingTimers, 0, "a stopped watcher does not start again");
  });
});

/** A list endpoint in memory, answering conditional requests by its ETag. */
function fakeListFetch(initial: unknown) {
  let body = JSON.stringify(initial);
  let version = 1;
  let down = false;
  const requests: { ifNoneMatch: string | null }[] = [];
  const fetch = (_url: string | URL | Request, init?: RequestInit) => {
    const ifNoneMatch = new Headers(init?.headers).get("if-none-match");
    requests.push({ ifNoneMatch });
    if (down) return Promise.resolve(new Response("unavailable", { status: 503 }));
    const etag = `"v${version}"`;
    if (ifNoneMatch === etag) return Promise.resolve(new Response(null, { status: 304 }));
    return Promise.resolve(new Response(body, { headers: { etag } }));
  };
  return {
    url: "https://idp.test/revoked.json",
    fetch: fetch as typeof globalThis.fetch,
    requests,
    publish(next: unknown) {
      body = JSON.stringify(next);
      version++;
    },
    setDown: (value: boolean) => void (down = value),
  };
}

Deno.test("revocation list from a URL (in memory; a real server in tests/integration)", async (t) => {
  await t.step("fetched every interval, conditionally; a failed fetch keeps the list", async () => {
    const idp = fakeListFetch({ jti: ["t-1"] });
    await using w = await watch(idp.url, { fetch: idp.fetch, intervalMs: 2_000 });
    w.revocations.start();
    await w.nextCheck(2_000);
    assert.deepEqual(idp.requests.map((r) => r.ifNoneMatch), [null, '"v1"']);
    assert.deepEqual(w.outcomes(), ["unchanged"], "a 304 is an unchanged reading");
    idp.setDown(true);
    await w.nextCheck(2_000);
    assert.equal(w.refreshes.at(-1)!.outcome, "failed");
    assert.match(
      w.refreshes.at(-1)!.error!.message,
      /https:\/\/idp\.test\/revoked\.json: HTTP 503/,
    );
    assert.equal(w.revocations.revokes("t-1", undefined), true);
    idp.setDown(false);
    idp.publish({ jti: ["t-2"] });
    await w.nextCheck(2_000);
    assert.deepEqual(w.outcomes(), ["unchanged", "failed", "updated"]);
    assert.equal(w.revocations.revokes("t-2", undefined), true);
    assert.equal(w.refreshes.at(-1)!.recoveredFrom, 1);
    assert.equal(w.revocations.status()!.source, "url");
  });

  await t.step("a URL's query and credentials never reach a message", async () => {
    const idp = fakeListFetch({});
    const source = "https://user:pw@idp.test/revoked.json?key=s3cret";
    idp.setDown(true);
    const error = await openRevocations({
      source,
      intervalMs: 2_000,
      clock: new FakeClock(),
      fetch: idp.fetch,
    }).then(() => assert.fail("start-up should fail"), (e: Error) => e);
    assert.match(error.message, /from https:\/\/idp\.test\/revoked\.json: HTTP 503/);
    assert.doesNotMatch(error.message, /s3cret|pw/);
  });
});

/** A share in memory: what was published, and a way to deliver another instance's list. */
function fakeShare(): RevocationShare & {
  published: { version: string; body: string }[];
  deliver(version: string, body: string): void;
} {
  const listeners: ((version: string, body: string) => void)[] = [];
  const published: { version: string; body: string }[] = [];
  return {
    published,
    publish: (version, body) => void published.push({ version, body }),
    onDocument: (listener) => void listeners.push(listener),
    deliver: (version, body) => listeners.forEach((listener) => listener(version, body)),
  };
}

/** Waits until the lists given to `revocations` have been taken. */
async function settled(revocations: Revocations): Promise<void> {
  await revocations.stop(); // waits for the lists under way; sharing goes on without a watch
}

Deno.test("revocation lists shared between instances", async (t) => {
  await using file = await writeRevocationFile({ jti: ["t-1"] });

  await t.step(
    "an instance with a source publishes its list at once and on each change",
    async () => {
      await using w = await watch(file.path);
      const share = fakeShare();
      w.revocations.shareThrough(share);
      assert.deepEqual(share.published, [
        { version: w.revocations.list().version, body: '{"jti":["t-1"],"sub":[]}' },
      ]);
      w.revocations.start();
      await file.write({ jti: ["t-1", "t-9"] });
      await w.nextCheck(1_000);
      assert.equal(share.published.length, 2);
      assert.equal(share.published[1]!.body, '{"jti":["t-1","t-9"],"sub":[]}');
      // Its own publication comes back: nothing changes.
      share.deliver(share.published[1]!.version, share.published[1]!.body);
      await settled(w.revocations);
      assert.deepEqual(w.outcomes(), ["updated"]);
    },
  );

  await t.step("an instance without a source follows what the others share", async () => {
    await using w = await watch("");
    assert.equal(w.revocations.status(), undefined, "no source, no share: nothing to show");
    const share = fakeShare();
    w.revocations.shareThrough(share);
    assert.deepEqual(share.published, [], "it has nothing of its own to publish");
    assert.equal(w.revocations.status()!.source, "cluster");
    assert.equal(w.revocations.status()!.version, null);
    share.deliver("v-from-redis", '{"jti":[],"sub":["mallory"]}');
    await settled(w.revocations);
    assert.equal(w.revocations.revokes(undefined, "mallory"), true);
    assert.deepEqual(w.outcomes(), ["shared"]);
    assert.equal(w.changes.length, 1);
    share.deliver("v-bad", '{"sub":[42]}');
    await settled(w.revocations);
    assert.equal(w.refreshes.at(-1)!.outcome, "failed");
    assert.match(w.refreshes.at(-1)!.error!.message, /shared through Redis: .*"sub" entry 0/);
    assert.equal(w.revocations.revokes(undefined, "mallory"), true, "the last good list stays");
  });

  await t.step(
    "a list shared by another instance does not make this one publish again",
    async () => {
      await using w = await watch(file.path);
      const share = fakeShare();
      w.revocations.shareThrough(share);
      w.revocations.start();
      share.deliver("other", '{"jti":["t-1","t-5"]}');
      await until(() => w.changes.length === 1, "the shared list in force");
      assert.equal(w.revocations.revokes("t-5", undefined), true);
      // Its own source has not changed: it neither publishes nor goes back to its own list.
      await w.nextCheck(1_000);
      assert.equal(share.published.length, 1);
      assert.equal(w.revocations.revokes("t-5", undefined), true);
    },
  );
});
