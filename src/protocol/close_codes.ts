/**
 * Every WebSocket close code Pharos sends, in one table. To its clients (sessions and ingest
 * producers) Pharos sends only RFC 6455's standard codes, because HyperStack's client reads
 * only those and the `"<code>: <message>"` reason. To an upstream feed it reads from, as a
 * WebSocket client, it may only close with 1000 or 3000–4999 (Deno's and browsers'
 * `WebSocket.close` refuse the rest), so the codes it means (1008, 1011) go as private-use
 * mirrors.
 *
 * | code | name | sent to | when |
 * |------|------|---------|------|
 * | 1000 | Normal | clients; upstream | idle timeout (no message for `idleTimeoutMs`); the upstream source stopped |
 * | 1001 | GoingAway | clients, producers | server shutting down |
 * | 1008 | PolicyViolation | clients | slow consumer; fatal errors (auth expiry, rate limit); a revoked token ({@link CloseReason.TokenRevoked}) |
 * | 1009 | MessageTooBig | clients, producers | a message over `maxMessageBytes` (producers: `PHAROS_INGEST_MAX_BYTES`) |
 * | 1011 | InternalError | clients | unexpected server fault on the connection |
 * | 1012 | ServiceRestart | clients | the state was replaced (cluster epoch, checkpoint reload): reconnect and subscribe again |
 * | 4008 | UpstreamOverflow | upstream | more events waiting than the source queues (a 1008 policy violation) |
 * | 4011 | UpstreamDeliveryFailed | upstream | the pipeline refused an event (a 1011); the source resumes from its cursor |
 */
export const CloseCode = Object.freeze({
  Normal: 1000,
  GoingAway: 1001,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  ServiceRestart: 1012,
  UpstreamOverflow: 4008,
  UpstreamDeliveryFailed: 4011,
});

/**
 * Close reasons that are not `"<code>: <message>"`. HyperStack's TypeScript client reads a
 * `word:` prefix as an error code and fetches a new token only for the codes it knows
 * (`token-expired`, `token-invalid-signature`, …); any other code, `token-revoked` among
 * them, becomes its `INTERNAL_ERROR` and it stops. Without the prefix, a 1008 whose reason
 * matches `/expired|invalid|token/i` makes it drop its token and connect with a fresh one:
 * what a client whose token was revoked must do.
 */
export const CloseReason = Object.freeze({
  /** With 1008, after the fatal error frame `token-revoked`. */
  TokenRevoked: "token revoked",
});

/** Close reasons are limited to 123 bytes by RFC 6455; longer ones are cut. */
export function toCloseReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  let cut = reason.slice(0, 120);
  while (new TextEncoder().encode(cut).length > 120) cut = cut.slice(0, -1);
  return `${cut}...`;
}
