/**
 * An identity provider's JWKS endpoint on a real `Deno.serve` (loopback, port 0): the test
 * publishes key sets, takes it down (503) and counts the fetches it answered.
 */

/** A running JWKS endpoint; dispose it to stop it. */
export interface JwksServer extends AsyncDisposable {
  /** Where the key set is served. */
  readonly url: string;
  /** Requests answered so far. */
  fetches(): number;
  /** Serves `keys` from now on. */
  publish(keys: readonly JsonWebKey[]): void;
  /** While down, every fetch gets 503. */
  setDown(down: boolean): void;
}

/** Starts the endpoint serving `{"keys": initial}`. */
export function startJwksServer(initial: readonly JsonWebKey[]): JwksServer {
  let keys = initial;
  let down = false;
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    fetches++;
    return down ? new Response("unavailable", { status: 503 }) : Response.json({ keys });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    fetches: () => fetches,
    publish: (next) => void (keys = next),
    setDown: (value) => void (down = value),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
