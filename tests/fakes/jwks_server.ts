/**
 * An identity provider's JWKS endpoint on a real `Deno.serve` (loopback, port 0), for
 * integration tests: the test publishes key sets, takes it down (503) and counts the fetches
 * it answered. Unit tests use the same endpoint in memory (`jwks_endpoint.ts`).
 */
import { createJwksEndpoint, type JwksEndpoint } from "./jwks_endpoint.ts";

/** A running JWKS endpoint; dispose it to stop it. */
export interface JwksServer extends JwksEndpoint, AsyncDisposable {}

/** Starts the endpoint serving `{"keys": initial}`. */
export function startJwksServer(initial: readonly JsonWebKey[]): JwksServer {
  const endpoint = createJwksEndpoint(initial);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => endpoint.answer(),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    fetches: endpoint.fetches,
    publish: endpoint.publish,
    setDown: endpoint.setDown,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
