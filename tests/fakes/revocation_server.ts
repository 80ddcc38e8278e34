/**
 * An identity provider's revocation list on a real `Deno.serve` (loopback, port 0), for
 * integration tests: the test publishes lists (served with an `ETag`, answering
 * `If-None-Match` with 304), takes it down (503), makes it stall mid-body or send a body
 * of its choosing, and counts the requests.
 * @module
 */

/** How the server answers, besides serving the list. */
export type RevocationServerMode =
  | { readonly kind: "serve" }
  | { readonly kind: "down" }
  /** Headers and a first chunk, then nothing until the client gives up. */
  | { readonly kind: "stall" }
  /** This body as it is (no ETag), e.g. malformed JSON or an endless stream. */
  | {
    readonly kind: "raw";
    readonly body: () => BodyInit;
    readonly headers?: Readonly<Record<string, string>>;
  };

/** A running list server; dispose it to stop it. */
export interface RevocationServer extends AsyncDisposable {
  readonly url: string;
  /** Requests answered so far, and how many of them were 304s. */
  requests(): { total: number; notModified: number };
  /** Serves `list` (as JSON) from now on, under a new ETag. */
  publish(list: unknown): void;
  setMode(mode: RevocationServerMode): void;
}

/** Starts the server serving `initial`. */
export function startRevocationServer(initial: unknown): RevocationServer {
  let body = JSON.stringify(initial);
  let version = 1;
  let mode: RevocationServerMode = { kind: "serve" };
  let total = 0;
  let notModified = 0;
  const stalled = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    total++;
    switch (mode.kind) {
      case "down":
        return new Response("unavailable", { status: 503 });
      case "raw":
        return new Response(mode.body(), { headers: { ...mode.headers } });
      case "stall":
        return new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"jti":['));
              stalled.add(controller);
            },
            cancel() {
              // the client gave up
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      case "serve": {
        const etag = `"v${version}"`;
        if (request.headers.get("if-none-match") === etag) {
          notModified++;
          return new Response(null, { status: 304, headers: { etag } });
        }
        return new Response(body, { headers: { "content-type": "application/json", etag } });
      }
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/revoked.json`,
    requests: () => ({ total, notModified }),
    publish(list) {
      body = JSON.stringify(list);
      version++;
    },
    setMode: (next) => void (mode = next),
    async [Symbol.asyncDispose]() {
      for (const controller of stalled) {
        try {
          controller.close();
        } catch {
          // already cancelled by the client
        }
      }
      await server.shutdown();
    },
  };
}
