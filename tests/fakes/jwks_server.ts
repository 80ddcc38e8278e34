/**
 * An identity provider's JWKS endpoint: on a real `Deno.serve` (loopback, port 0) for
 * integration tests, or in memory as a `fetch` for unit tests. Either way the test publishes
 * key sets, takes it down (503) and counts the fetches it answered.
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

/** The endpoint's answers, whatever carries them. */
function createJwksEndpoint(initial: readonly JsonWebKey[]) {
  let keys = initial;
  let down = false;
  let fetches = 0;
  return {
    answer(): Response {
      fetches++;
      return down ? new Response("unavailable", { status: 503 }) : Response.json({ keys });
    },
    fetches: () => fetches,
    publish: (next: readonly JsonWebKey[]) => void (keys = next),
    setDown: (value: boolean) => void (down = value),
  };
}

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

/** The same endpoint in memory: hand `fetch` to the key store instead of the global one. */
export interface JwksFetch extends Omit<JwksServer, typeof Symbol.asyncDispose> {
  readonly fetch: typeof fetch;
}

/** An in-memory endpoint serving `{"keys": initial}` at a made-up https URL. */
export function fakeJwksFetch(initial: readonly JsonWebKey[]): JwksFetch {
  const endpoint = createJwksEndpoint(initial);
  return {
    url: "https://idp.test/.well-known/jwks.json",
    fetch: () => Promise.resolve(endpoint.answer()),
    fetches: endpoint.fetches,
    publish: endpoint.publish,
    setDown: endpoint.setDown,
  };
}
