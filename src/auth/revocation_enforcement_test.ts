import assert from "node:assert/strict";
import { AUTH_DEFAULTS, type AuthConfig, ConfigError } from "../config/mod.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { createRecordingTelemetry } from "../../tests/fakes/recording_telemetry.ts";
import { getLogger } from "../log/mod.ts";
import type { Session } from "../ws/mod.ts";
import {
  AuthError,
  createStaticVerifier,
  enforceRevocations,
  openAuth,
  openRevocations,
  refusingRevoked,
  type RevocationShare,
} from "./mod.ts";

/** A revocation watcher without a source, whose lists the test hands over as if shared. */
async function sharedRevocations() {
  const revocations = await openRevocations({
    source: "",
    intervalMs: 2_000,
    clock: new FakeClock(),
  });
  let deliver: (version: string, body: string) => void = () => {};
  const share: RevocationShare = {
    publish: () => {},
    onDocument: (listener) => void (deliver = listener),
  };
  revocations.shareThrough(share);
  /** Puts `document` in force (the version need only differ from the one in force). */
  const revoke = async (document: { jti?: string[]; sub?: string[] }) => {
    deliver(crypto.randomUUID(), JSON.stringify(document));
    await revocations.stop(); // waits for the list to be taken
  };
  return { revocations, revoke };
}

Deno.test("refusingRevoked: a token the list names is refused with token-revoked (401)", async () => {
  const { revocations, revoke } = await sharedRevocations();
  const tokens = createStaticVerifier(["tok-a", "tok-b"]);
  const verify = refusingRevoked((token: string) => tokens.verify(token), revocations);
  assert.equal((await verify("tok-b")).subject, "static:1");
  await revoke({ sub: ["static:1"] });
  const error = await verify("tok-b").then(() => assert.fail("accepted"), (e: unknown) => e);
  assert.ok(error instanceof AuthError);
  assert.equal(error.code, "token-revoked");
  assert.equal(error.status, 401);
  assert.equal((await verify("tok-a")).subject, "static:0", "other tokens still pass");
  // The verifier's own refusal comes first: a bad token is not told it is revoked.
  await assert.rejects(() => verify("tok-c"), (e: AuthError) => e.code === "invalid-static-token");
});

Deno.test("enforceRevocations closes each session a new list names, counted and logged", async () => {
  await using logs = await recordLogs(["pharos", "auth"], "info");
  const { revocations, revoke } = await sharedRevocations();
  const telemetry = createRecordingTelemetry();
  const live = [
    { id: "c1", tokenId: "t-1", subject: "alice", closed: false },
    { id: "c2", tokenId: "t-2", subject: "bob", closed: false },
    { id: "c3", tokenId: undefined, subject: "mallory", closed: false },
  ];
  let checks = 0;
  const sessions = {
    // Plays WsServer.revokeSessions: each live session checked once, named ones closed.
    revokeSessions(isRevoked: (session: Session) => boolean): number {
      checks++;
      let closed = 0;
      for (const session of live.filter((s) => !s.closed)) {
        if (isRevoked(session as unknown as Session)) {
          session.closed = true;
          closed++;
        }
      }
      return closed;
    },
  };
  enforceRevocations(revocations, sessions, { log: logs.log, telemetry: telemetry.auth });
  assert.equal(checks, 1, "the list in force is enforced at once");
  assert.equal(telemetry.count("auth.revokedSessionsClosed"), 0);
  await revoke({ jti: ["t-2"], sub: ["mallory"] });
  assert.deepEqual(live.map((s) => s.closed), [false, true, true]);
  assert.equal(telemetry.count("auth.revokedSessionsClosed"), 2);
  assert.deepEqual(logs.records.map((r) => r.properties), [{ count: 2 }]);
  await revoke({ jti: ["t-1"] });
  assert.equal(checks, 3, "once per list put in force");
  assert.equal(telemetry.count("auth.revokedSessionsClosed"), 3);
});

const log = getLogger(["pharos", "test"]);
const config = (overrides: Partial<AuthConfig>): AuthConfig => ({ ...AUTH_DEFAULTS, ...overrides });

Deno.test("openAuth with PHAROS_AUTH_REVOKED", async (t) => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pharos_revoked_" });
  const path = `${dir}/revoked.json`;
  await Deno.writeTextFile(path, JSON.stringify({ sub: ["static:1"], jti: ["t-1", "t-2"] }));
  const clock = new FakeClock();
  const telemetry = createRecordingTelemetry();
  const open = (overrides: Partial<AuthConfig>) =>
    openAuth(
      config({ authMode: "static", tokens: ["tok-a", "tok-b"], ...overrides }),
      { authorize: undefined, clock, log, telemetry: telemetry.auth },
    );
  const upgrade = (token: string) =>
    new Request("http://localhost/", { headers: { authorization: `Bearer ${token}` } });

  await t.step("a revoked static token is refused at the upgrade: 401 token-revoked", async () => {
    const auth = await open({ revocationList: path });
    const refused = await auth.authorize!(upgrade("tok-b"), "127.0.0.1:1");
    assert.deepEqual(refused, {
      status: 401,
      code: "token-revoked",
      message: "Token has been revoked",
      retryable: false,
    });
    const admitted = await auth.authorize!(upgrade("tok-a"), "127.0.0.1:1");
    assert.ok(admitted !== undefined && "kind" in admitted);
    assert.deepEqual(telemetry.values("auth.revocationListEntries"), [2], "the gauge at start");
  });

  await t.step("/status shows the list's source, sizes, version and age", async () => {
    const auth = await open({ revocationList: path });
    clock.advance(2_400);
    const { revoked } = auth.status({ rowRules: 0 }).auth;
    assert.equal(revoked?.source, "file");
    assert.equal(revoked?.jti, 2);
    assert.equal(revoked?.sub, 1);
    assert.equal(revoked?.age_seconds, 2);
    assert.equal(auth.status({ rowRules: 0 }).auth.jwks, undefined, "static tokens: no key set");
  });

  await t.step("without a list: no auth.revoked in /status", async () => {
    const auth = await open({});
    assert.equal("revoked" in auth.status({ rowRules: 0 }).auth, false);
    assert.ok(auth.revocations, "it can still follow a list shared in cluster mode");
  });

  await t.step("a list that cannot be read stops start-up, naming the option", async () => {
    for (const [content, reason] of [[undefined, /file not found/], ["[]", /not a JSON object/]]) {
      const bad = `${dir}/bad-${crypto.randomUUID()}.json`;
      if (content !== undefined) await Deno.writeTextFile(bad, content as string);
      const error = await open({ revocationList: bad }).then(
        () => assert.fail("start-up should fail"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConfigError);
      assert.match(error.problems[0]!, /^PHAROS_AUTH_REVOKED: Cannot read the revocation list/);
      assert.match(error.problems[0]!, reason as RegExp);
    }
  });

  await t.step("PHAROS_AUTH=none has no revocation list", async () => {
    const auth = await openAuth(AUTH_DEFAULTS, {
      authorize: undefined,
      clock,
      log,
      telemetry: telemetry.auth,
    });
    assert.equal(auth.revocations, undefined);
  });
  await Deno.remove(dir, { recursive: true });
});
