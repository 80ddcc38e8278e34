import assert from "node:assert/strict";
import { parseCidr } from "../util/mod.ts";
import { createClientAddress, type ForwardedProblem } from "./mod.ts";

function resolver(trusted: string[]) {
  const problems: ForwardedProblem[] = [];
  const resolve = createClientAddress({
    trustedProxies: trusted.map(parseCidr),
    onForwardedProblem: (problem) => problems.push(problem),
  });
  const from = (hostname: string, headers: Record<string, string> = {}) =>
    resolve(new Request("http://pharos/", { headers }), { hostname, port: 5000 });
  return { from, problems };
}

Deno.test("client address: the peer, unless a trusted proxy forwarded one", async (t) => {
  await t.step("no trusted proxies: always the peer, headers ignored", () => {
    const { from, problems } = resolver([]);
    assert.equal(from("127.0.0.1", { "x-forwarded-for": "203.0.113.1" }), "127.0.0.1:5000");
    assert.equal(from("::1"), "[::1]:5000");
    assert.deepEqual(problems, []);
  });

  await t.step("a trusted peer: the right-most address that is not a trusted proxy", () => {
    const { from } = resolver(["10.0.0.0/8", "2001:db8:ffff::/48"]);
    assert.equal(from("10.0.0.2", { "x-forwarded-for": "203.0.113.1" }), "203.0.113.1");
    assert.equal(
      from("10.0.0.2", { "x-forwarded-for": "198.51.100.9, 203.0.113.1, 10.9.9.9" }),
      "203.0.113.1",
      "the client's own claim (198.51.100.9) is not believed",
    );
    assert.equal(from("10.0.0.2", { "x-forwarded-for": "10.1.1.1, 10.2.2.2" }), "10.1.1.1");
    assert.equal(from("10.0.0.2"), "10.0.0.2:5000", "no header: the proxy itself");
    assert.equal(
      from("2001:db8:ffff::2", { "x-forwarded-for": "2001:db8::7" }),
      "2001:db8::7",
    );
    assert.equal(from("::ffff:10.0.0.2", { "x-forwarded-for": "203.0.113.5" }), "203.0.113.5");
  });

  await t.step("an untrusted peer's headers are ignored", () => {
    const { from, problems } = resolver(["10.0.0.0/8"]);
    assert.equal(from("203.0.113.66", { "x-forwarded-for": "10.0.0.1" }), "203.0.113.66:5000");
    assert.equal(from("203.0.113.66", { forwarded: "for=198.51.100.1" }), "203.0.113.66:5000");
    assert.deepEqual(problems, []);
  });

  await t.step("Forwarded (RFC 7239): quoted, bracketed IPv6 with ports, wins over XFF", () => {
    const { from } = resolver(["10.0.0.0/8"]);
    const forwarded = (value: string) =>
      from("10.0.0.2", { forwarded: value, "x-forwarded-for": "198.51.100.250" });
    assert.equal(forwarded("for=192.0.2.60;proto=http;by=203.0.113.43"), "192.0.2.60");
    assert.equal(forwarded('for="[2001:db8:cafe::17]:4711"'), "[2001:db8:cafe::17]:4711");
    assert.equal(forwarded('For="192.0.2.43:47011", for=10.0.0.9'), "192.0.2.43:47011");
    assert.equal(forwarded('for=198.51.100.17;by="[::1]", for=192.0.2.1'), "192.0.2.1");
  });

  await t.step("unreadable headers from a trusted peer: the peer, and the problem reported", () => {
    const { from, problems } = resolver(["10.0.0.0/8"]);
    const cases: [Record<string, string>, ForwardedProblem][] = [
      [{ "x-forwarded-for": "not-an-ip" }, "malformed"],
      [{ "x-forwarded-for": "203.0.113.1,, 10.0.0.3" }, "malformed"],
      [{ "x-forwarded-for": "example.com" }, "malformed"],
      [{ forwarded: "proto=https" }, "malformed"],
      [{ forwarded: "for=unknown" }, "unknown-client"],
      [{ forwarded: 'for="_gazonk"' }, "unknown-client"],
      [{ forwarded: 'for="[2001:db8::1"' }, "malformed"],
      [{ "x-forwarded-for": Array.from({ length: 33 }, () => "10.0.0.1").join(",") }, "too-long"],
    ];
    for (const [headers] of cases) {
      assert.equal(from("10.0.0.2", headers), "10.0.0.2:5000", JSON.stringify(headers));
    }
    assert.deepEqual(problems, cases.map(([, problem]) => problem));
  });
});
