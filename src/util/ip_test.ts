import assert from "node:assert/strict";
import { cidrContains, parseCidr, parseIp } from "./mod.ts";

Deno.test("parseIp reads IPv4 and IPv6, and nothing else", () => {
  const v4 = parseIp("203.0.113.9")!;
  assert.deepEqual([...v4.slice(10)], [0xff, 0xff, 203, 0, 113, 9]);
  assert.deepEqual(parseIp("::ffff:203.0.113.9"), v4, "IPv4-mapped IPv6 is the same address");
  assert.deepEqual(parseIp("[2001:db8::1]"), parseIp("2001:0db8:0:0:0:0:0:1"));
  assert.deepEqual([...parseIp("::1")!], [...new Array(15).fill(0), 1]);
  for (
    const bad of [
      "",
      "localhost",
      "203.0.113",
      "203.0.113.256",
      "203.0.113.09", // leading zero: octal to some parsers
      "203.0.113.9:80",
      "2001:db8::1::2",
      "2001:db8:1:2:3:4:5:6:7",
      "fe80::1%eth0",
      "12345::",
      "unknown",
    ]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("parseCidr and cidrContains, IPv4 and IPv6", () => {
  const ten = parseCidr("10.0.0.0/8");
  assert.ok(cidrContains(ten, parseIp("10.255.0.1")!));
  assert.ok(cidrContains(ten, parseIp("::ffff:10.1.2.3")!), "a dual-stack peer");
  assert.ok(!cidrContains(ten, parseIp("11.0.0.1")!));
  const one = parseCidr("127.0.0.1");
  assert.ok(cidrContains(one, parseIp("127.0.0.1")!));
  assert.ok(!cidrContains(one, parseIp("127.0.0.2")!));
  const v6 = parseCidr("2001:db8::/32");
  assert.ok(cidrContains(v6, parseIp("2001:db8:ffff::1")!));
  assert.ok(!cidrContains(v6, parseIp("2001:db9::1")!));
  assert.ok(cidrContains(parseCidr("0.0.0.0/0"), parseIp("198.51.100.7")!));
  assert.ok(!cidrContains(parseCidr("0.0.0.0/0"), parseIp("2001:db8::1")!), "IPv4 /0 is IPv4 only");
  assert.ok(cidrContains(parseCidr("::/0"), parseIp("2001:db8::1")!));
  assert.equal(parseCidr(" 10.0.0.0/8 ").text, "10.0.0.0/8");
  assert.throws(() => parseCidr("10.0.0.1/8"), /bits are set beyond the \/8 prefix/);
  assert.throws(() => parseCidr("10.0.0.0/33"), /prefix length must be 0–32/);
  assert.throws(() => parseCidr("2001:db8::/129"), /0–128/);
  assert.throws(() => parseCidr("proxy.internal"), /not an IP address or CIDR range/);
  assert.throws(() => parseCidr("10.0.0.0/8/8"), /not an IP address/);
});
