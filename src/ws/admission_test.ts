import assert from "node:assert/strict";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { Admission, ipOf, NO_ADMISSION_LIMITS, type Refusal, type Slot } from "./mod.ts";

const isRefusal = (value: Slot | Refusal): value is Refusal => "rejection" in value;

Deno.test("connections per IP, subject and origin: 429 at the limit, slots come back", () => {
  const admission = new Admission({
    ...NO_ADMISSION_LIMITS,
    maxConnectionsPerIp: 2,
    maxConnectionsPerSubject: 1,
    maxConnectionsPerOrigin: 3,
  }, new FakeClock());
  const first = admission.acquire("10.0.0.1", "alice", "https://a.example");
  if (isRefusal(first)) throw new Error("the first connection is refused");
  const sameSubject = admission.acquire("10.0.0.2", "alice", undefined);
  if (!isRefusal(sameSubject)) throw new Error("a second connection for alice is admitted");
  assert.equal(sameSubject.limit, "connections-per-subject");
  assert.equal(sameSubject.rejection.status, 429);
  assert.equal(sameSubject.rejection.code, "connection-limit-exceeded");
  assert.ok(!isRefusal(admission.acquire("10.0.0.1", undefined, undefined)));
  const thirdFromIp = admission.acquire("10.0.0.1", "bob", undefined);
  assert.ok(isRefusal(thirdFromIp) && thirdFromIp.limit === "connections-per-ip");
  first.release();
  first.release(); // idempotent
  assert.ok(!isRefusal(admission.acquire("10.0.0.2", "alice", undefined)), "alice's slot is back");
  assert.ok(!isRefusal(admission.acquire("10.0.0.3", "carol", "https://a.example")));
  assert.ok(!isRefusal(admission.acquire("10.0.0.4", "dave", "https://a.example")));
  assert.ok(!isRefusal(admission.acquire("10.0.0.5", "erin", "https://a.example")));
  const fourthFromOrigin = admission.acquire("10.0.0.6", "frank", "https://a.example");
  assert.ok(isRefusal(fourthFromOrigin) && fourthFromOrigin.limit === "connections-per-origin");
});

Deno.test("a token's max_connections replaces the per-subject default", () => {
  const admission = new Admission(
    { ...NO_ADMISSION_LIMITS, maxConnectionsPerSubject: 1 },
    new FakeClock(),
  );
  assert.ok(!isRefusal(admission.acquire("10.0.0.1", "svc", undefined, 3)));
  assert.ok(!isRefusal(admission.acquire("10.0.0.1", "svc", undefined, 3)));
  assert.ok(!isRefusal(admission.acquire("10.0.0.1", "svc", undefined, 3)));
  assert.ok(isRefusal(admission.acquire("10.0.0.1", "svc", undefined, 3)));
});

Deno.test("counts exist only for open connections", () => {
  const admission = new Admission(NO_ADMISSION_LIMITS, new FakeClock());
  const slots = [1, 2, 3].map((i) => admission.acquire(`10.0.0.${i}`, `s${i}`, "https://o"));
  assert.deepEqual(admission.tracked, { ips: 3, subjects: 3, origins: 1, windows: 0 });
  for (const slot of slots) if (!isRefusal(slot)) slot.release();
  assert.deepEqual(admission.tracked, { ips: 0, subjects: 0, origins: 0, windows: 0 });
});

Deno.test("handshakes per IP per minute: 429 rate-limit-exceeded with Retry-After", () => {
  const clock = new FakeClock();
  const admission = new Admission(
    { ...NO_ADMISSION_LIMITS, handshakesPerMinutePerIp: 3 },
    clock,
  );
  for (let i = 0; i < 3; i++) assert.equal(admission.checkHandshakeRate("10.0.0.1"), undefined);
  clock.busy(15_000);
  const refused = admission.checkHandshakeRate("10.0.0.1");
  assert.equal(refused?.rejection.status, 429);
  assert.equal(refused?.rejection.code, "rate-limit-exceeded");
  assert.equal(refused?.rejection.retryAfterSeconds, 45, "until the window ends");
  assert.equal(admission.checkHandshakeRate("10.0.0.2"), undefined, "other addresses unaffected");
  clock.busy(45_000);
  assert.equal(admission.checkHandshakeRate("10.0.0.1"), undefined, "a new minute");
});

Deno.test("ipOf strips the port from IPv4 and bracketed IPv6 peers", () => {
  assert.equal(ipOf("127.0.0.1:5000"), "127.0.0.1");
  assert.equal(ipOf("[::1]:5000"), "::1");
  assert.equal(ipOf("::1"), "::1");
  assert.equal(ipOf("unknown"), "unknown");
});
