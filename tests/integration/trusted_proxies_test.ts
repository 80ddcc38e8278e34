/**
 * Client addresses behind trusted proxies (`PHAROS_TRUSTED_PROXIES`), with real upgrade
 * requests over IPv4 and IPv6 loopback carrying `X-Forwarded-For` and `Forwarded`: from a
 * trusted peer the forwarded client is what the per-IP limits count and what logs and
 * `/status` show; from an untrusted peer the headers are ignored; a trusted peer's
 * unreadable header falls back to the peer address and is counted.
 */
import assert from "node:assert/strict";
import { opens, upgradeAttempt } from "../fakes/auth_keys.ts";
import { errorBody } from "../fakes/error_response.ts";
import { recordLogs } from "../fakes/recording_log.ts";
import { type EnvServer, startEnvServer } from "../fakes/test_server.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until } from "../wait.ts";

/** Opens a socket with `headers` and keeps it (disposed with `stack`). */
async function hold(
  stack: AsyncDisposableStack,
  url: string,
  headers: Record<string, string>,
): Promise<void> {
  stack.use(await TestClient.connect(url, headers));
}

async function statusOf(server: EnvServer, base = server.httpUrl) {
  return await (await fetch(`${base}/status`)).json() as {
    client_addresses: { address: string; connections: number }[];
  };
}

async function refusedAsLimit(url: string, headers: Record<string, string>, code: string) {
  const response = await upgradeAttempt(url, { headers });
  await errorBody(response, 429, code);
}

Deno.test("trusted proxies over IPv4: the forwarded client is counted, logged and shown", async (t) => {
  const logs = await recordLogs(["pharos"], "info");
  await using server = await startEnvServer({
    PHAROS_TRUSTED_PROXIES: "127.0.0.1/32, 10.0.0.0/8",
    PHAROS_MAX_CONNECTIONS_PER_IP: "2",
  });
  await using held = new AsyncDisposableStack();

  await t.step(
    "X-Forwarded-For from the trusted peer: per-IP limits count the client",
    async () => {
      const client = { "x-forwarded-for": "203.0.113.7" };
      await hold(held, server.wsUrl, client);
      await hold(held, server.wsUrl, client);
      await refusedAsLimit(server.httpUrl, client, "connection-limit-exceeded");
      // Another client behind the same proxy is not held back by the first one.
      assert.ok(await opens(server.wsUrl, { "x-forwarded-for": "203.0.113.8" }));
      assert.match(logs.text(), /New WebSocket connection from 203\.0\.113\.7 /);
      const { client_addresses } = await statusOf(server);
      assert.deepEqual(client_addresses[0], { address: "203.0.113.7", connections: 2 });
    },
  );

  await t.step("the right-most address that is not itself a trusted proxy", async () => {
    // 10.1.2.3 is a second proxy of ours; 198.51.100.1 was written by the client itself.
    const chain = { "x-forwarded-for": "198.51.100.1, 203.0.113.9, 10.1.2.3" };
    await hold(held, server.wsUrl, chain);
    await hold(held, server.wsUrl, { "x-forwarded-for": "203.0.113.9" });
    await refusedAsLimit(server.httpUrl, chain, "connection-limit-exceeded");
  });

  await t.step("Forwarded (RFC 7239) wins over X-Forwarded-For", async () => {
    const forwarded = {
      forwarded: 'for=192.0.2.60;proto=https;by=10.0.0.1, for="[2001:db8::7]:4711"',
      "x-forwarded-for": "203.0.113.250",
    };
    await hold(held, server.wsUrl, forwarded);
    await hold(held, server.wsUrl, { forwarded: "for=2001:db8::7" });
    await refusedAsLimit(server.httpUrl, forwarded, "connection-limit-exceeded");
    const addresses = (await statusOf(server)).client_addresses.map((a) => a.address);
    assert.ok(addresses.includes("2001:db8::7"), `${addresses}`);
    assert.ok(!addresses.includes("203.0.113.250"));
  });

  await t.step("an unreadable header falls back to the peer address and is counted", async () => {
    const count = (problem: string) =>
      server.telemetry.count("auth.forwardedHeaderRejected", problem);
    await hold(held, server.wsUrl, { "x-forwarded-for": "not-an-address" });
    await hold(held, server.wsUrl, { forwarded: "for=unknown" });
    assert.equal(count("malformed"), 1);
    assert.equal(count("unknown-client"), 1);
    // Both were counted as the proxy's own address: its two slots are taken.
    await refusedAsLimit(
      server.httpUrl,
      { forwarded: 'for="_hidden"' },
      "connection-limit-exceeded",
    );
    assert.equal(count("unknown-client"), 2);
    const { client_addresses } = await statusOf(server);
    assert.ok(client_addresses.some((a) => a.address === "127.0.0.1" && a.connections === 2));
  });
  await held.disposeAsync();
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});

Deno.test("untrusted peers: forwarding headers are ignored", async () => {
  await using server = await startEnvServer({
    PHAROS_TRUSTED_PROXIES: "10.0.0.0/8",
    PHAROS_MAX_CONNECTIONS_PER_IP: "2",
  });
  {
    await using held = new AsyncDisposableStack();
    await hold(held, server.wsUrl, { "x-forwarded-for": "203.0.113.1" });
    await hold(held, server.wsUrl, { forwarded: "for=203.0.113.2" });
    // A client cannot pick a fresh address to slip past the limit.
    await refusedAsLimit(
      server.httpUrl,
      { "x-forwarded-for": "203.0.113.3" },
      "connection-limit-exceeded",
    );
    const { client_addresses } = await statusOf(server);
    assert.deepEqual(client_addresses, [{ address: "127.0.0.1", connections: 2 }]);
    assert.equal(server.telemetry.count("auth.forwardedHeaderRejected"), 0);
  }
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});

Deno.test("trusted proxies over IPv6: handshake rate and connections per forwarded client", async () => {
  await using server = await startEnvServer({
    PHAROS_HOST: "::1",
    PHAROS_TRUSTED_PROXIES: "::1/128",
    PHAROS_HANDSHAKES_PER_MINUTE: "2",
  });
  const { wsUrl, httpUrl } = server;
  {
    await using held = new AsyncDisposableStack();
    const client = { "x-forwarded-for": "2001:db8::42" };
    await hold(held, wsUrl, client);
    await hold(held, wsUrl, { forwarded: 'for="[2001:db8::42]"' });
    await refusedAsLimit(httpUrl, client, "rate-limit-exceeded");
    // The proxy itself and other clients behind it have their own windows.
    await hold(held, wsUrl, { "x-forwarded-for": "2001:db8::43" });
    await hold(held, wsUrl, {});
    const addresses = (await statusOf(server, httpUrl)).client_addresses;
    assert.deepEqual(addresses.map((a) => a.address).sort(), [
      "2001:db8::42",
      "2001:db8::43",
      "::1",
    ]);
  }
  await until(() => server.app.ws.clientCount === 0, "every socket to close");
});
