/**
 * An identity provider's JWKS endpoint in memory: the test publishes key sets, takes it down
 * (503) and counts the fetches it answered. `fakeJwksFetch` hands it to a key store as its
 * `fetch`; `jwks_server.ts` serves the same endpoint on a real socket.
 * @module
 */

/** What a test does with a JWKS endpoint. */
export interface JwksEndpoint {
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
export function createJwksEndpoint(initial: readonly JsonWebKey[]): Omit<JwksEndpoint, "url"> & {
  answer(): Response;
} {
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

/** The same endpoint in memory: hand `fetch` to the key store instead of the global one. */
export interface JwksFetch extends JwksEndpoint {
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
