/**
 * WebSocket close codes Pharos sends. 1000–1015 are RFC 6455's; Pharos uses no private
 * (4000–4999) codes, because HyperStack's client reads only the standard ones and the
 * `"<code>: <message>"` reason.
 *
 * | code | name | when |
 * |------|------|------|
 * | 1000 | Normal | idle timeout (no message for `idleTimeoutMs`) |
 * | 1001 | GoingAway | server shutting down |
 * | 1008 | PolicyViolation | slow consumer; fatal errors (auth expiry, rate limit) |
 * | 1009 | MessageTooBig | client message over `maxMessageBytes` |
 * | 1011 | InternalError | unexpected server fault on the connection |
 */
export const CloseCode = Object.freeze({
  Normal: 1000,
  GoingAway: 1001,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
});

/** Close reasons are limited to 123 bytes by RFC 6455; longer ones are cut. */
export function toCloseReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  let cut = reason.slice(0, 120);
  while (new TextEncoder().encode(cut).length > 120) cut = cut.slice(0, -1);
  return `${cut}...`;
}
